import { createServer, connect, type Server, type Socket } from 'node:net'

/**
 * A loopback TCP proxy in front of a real service, so a test can cut the service off and bring it
 * back (as a crash and restart would) without touching the shared server itself.
 */
export async function startTcpProxy (targetPort: number) {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0
  const listen = () => new Promise<void>((resolve, reject) => {
    server = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1')
      for (const s of [client, upstream]) {
        sockets.add(s)
        s.on('close', () => sockets.delete(s))
        s.on('error', () => { client.destroy(); upstream.destroy() })
      }
      client.pipe(upstream).pipe(client)
    })
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      const address = server?.address()
      if (address && typeof address === 'object') port = address.port
      resolve()
    })
  })
  await listen()
  return {
    get port () { return port },
    /** Drops every connection and stops listening: the service looks down. */
    async stop () {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server?.close(() => resolve()))
    },
    /** Listens again on the same port: the service is back. */
    start: listen
  }
}

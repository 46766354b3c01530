import { Writable } from 'node:stream'

/** A log destination (buildTestApp's `logStream`) that keeps every line, for tests that read the logs. */
export function captureLog (): { stream: Writable, lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
      done()
    }
  })
  return { stream, lines }
}

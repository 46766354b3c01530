import type { RawRequestDefaultExpression } from 'fastify'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * Fastify's `genReqId`: the caller's `X-Request-Id` when it is 1–128 of `[A-Za-z0-9._:-]` (so a
 * proxy's id carries through to our logs), otherwise a fresh UUID. Never anything that could forge a log line.
 */
export function requestId (req: RawRequestDefaultExpression): string {
  const incoming = req.headers['x-request-id']
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID()
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Resolves once no route handler is running (or after `drainTimeoutMs`, 10 000 ms by default).
     * onClose hooks await it before closing what handlers use (hash workers, then the database).
     */
    handlersDone: () => Promise<void>
  }
}

/** Options of lifecyclePlugin. */
export interface LifecycleOptions {
  /** How long closing waits for running handlers, in milliseconds. */
  drainTimeoutMs?: number
}

/**
 * HTTP life-cycle plumbing shared by every route (a `fastify-plugin`, so it applies to the root):
 * - counts running handlers, so closing waits for them even when their client has gone (the
 *   server's own drain only waits for open connections);
 * - every response carries `X-Request-Id`, `Cache-Control: no-store` unless the route set one
 *   (responses carry tokens and user data; /docs is static), and `Connection: close` while draining.
 * Register it before any route: handlers are wrapped as they are added (onRoute).
 */
export const lifecyclePlugin = fp(async function lifecycle (app: FastifyInstance, { drainTimeoutMs = 10_000 }: LifecycleOptions) {
  let closing = false
  let running = 0
  app.addHook('preClose', async () => { closing = true })
  app.addHook('onRoute', (route) => {
    const handler = route.handler
    // Only promise-returning handlers: a callback-style one (a plugin's static files) replies later by itself.
    if (handler.constructor.name !== 'AsyncFunction') return
    route.handler = function (req, reply) {
      running++
      // Runs before Fastify sends what the handler resolved to (callbacks run in the order added).
      const finished = () => {
        running--
        if (closing && !reply.sent) reply.header('connection', 'close')
      }
      const result = (handler as (this: unknown, ...args: unknown[]) => Promise<unknown>).call(this, req, reply)
      result.then(finished, finished)
      return result
    }
  })
  app.decorate('handlersDone', async () => {
    const deadline = Date.now() + drainTimeoutMs
    const busy = () => running > 0 && Date.now() < deadline
    while (busy()) await new Promise(resolve => setTimeout(resolve, 20))
  })
  // Set when the request arrives (callback style: no promise per request); a route or the error
  // handler that sets its own Cache-Control replaces this one.
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id)
    if (!req.url.startsWith('/docs')) reply.header('cache-control', 'no-store')
    if (closing) reply.header('connection', 'close')
    done()
  })
}, { name: 'taskflow-lifecycle', fastify: '5.x' })

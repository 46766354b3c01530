import cors from '@fastify/cors'
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance } from 'fastify'
import helmet from 'helmet'
import { ServiceUnavailableError } from '../errors.js'

/**
 * Security headers tuned for a JSON API (nothing may be framed, sniffed or scripted), CORS only for the
 * configured origins, and 503 instead of ever-growing latency when the event loop is saturated.
 * The /docs page brings its own content security policy (@fastify/swagger-ui staticCSP).
 */
export async function registerHardening (app: FastifyInstance, { corsOrigins, maxEventLoopDelayMs }: { corsOrigins: readonly string[], maxEventLoopDelayMs: number }): Promise<void> {
  // helmet's middleware is built once here and applied to the raw response of every request
  // (@fastify/helmet rebuilds it on each request: about 3% of a small authenticated read's CPU).
  const securityHeaders = helmet({
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    frameguard: { action: 'deny' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    strictTransportSecurity: { maxAge: 31536000, includeSubDomains: true }
  })
  app.addHook('onRequest', (req, reply, done) => { securityHeaders(req.raw, reply.raw, (err) => { done(err instanceof Error ? err : undefined) }) })
  const allowed = new Set(corsOrigins)
  await app.register(cors, {
    // A function, not a list: for any other origin the plugin then adds no Access-Control-* header at all.
    origin: (origin, callback) => { callback(null, origin !== undefined && allowed.has(origin) ? origin : false) },
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'X-Request-Id'],
    exposedHeaders: ['ETag', 'Link', 'Location', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'X-Request-Id'],
    maxAge: 600
  })
  if (maxEventLoopDelayMs === 0) return
  await app.register(underPressure, {
    // Delay, not utilisation: a busy server (and embedded PGlite, which runs on the main thread) is
    // near 100% utilised while still answering promptly; a second-long stall is the real alarm.
    maxEventLoopDelay: maxEventLoopDelayMs,
    pressureHandler: () => { throw new ServiceUnavailableError('The server is overloaded; try again shortly', { retryAfterSeconds: 2 }) }
  })
}

import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance } from 'fastify'
import { ServiceUnavailableError } from '../errors.js'

/**
 * Security headers tuned for a JSON API (nothing may be framed, sniffed or scripted), CORS only for the
 * configured origins, and 503 instead of ever-growing latency when the event loop is saturated.
 * The /docs page brings its own content security policy (@fastify/swagger-ui staticCSP).
 */
export async function registerHardening (app: FastifyInstance, { corsOrigins, maxEventLoopDelayMs }: { corsOrigins: readonly string[], maxEventLoopDelayMs: number }): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    frameguard: { action: 'deny' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    hsts: { maxAge: 31536000, includeSubDomains: true }
  })
  const allowed = new Set(corsOrigins)
  await app.register(cors, {
    // A function, not a list: for any other origin the plugin then adds no Access-Control-* header at all.
    origin: (origin, callback) => { callback(null, origin !== undefined && allowed.has(origin) ? origin : false) },
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'X-Request-Id'],
    exposedHeaders: ['ETag', 'Location', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'X-Request-Id'],
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

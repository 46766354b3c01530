import cors from '@fastify/cors'
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance } from 'fastify'
import helmet from 'helmet'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ServiceUnavailableError } from '../errors.js'

/** helmet's options for a JSON API: nothing may be framed, sniffed or scripted. */
const HELMET_OPTIONS = {
  contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  frameguard: { action: 'deny' },
  crossOriginResourcePolicy: { policy: 'same-origin' },
  strictTransportSecurity: { maxAge: 31536000, includeSubDomains: true }
} as const

/**
 * The headers helmet's middleware sets with `options` (lower-case name → value), captured once by
 * running it against a recording response. With these options they are the same for every response
 * (no per-request nonce), so they can be applied as one object instead of helmet's twelve
 * `setHeader` calls per request. Throws when helmet reports an error for the options.
 */
export function capturedHelmetHeaders (options: Parameters<typeof helmet>[0] = HELMET_OPTIONS): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader (name: string, value: string | number | readonly string[]) { headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value) },
    removeHeader (name: string) { Reflect.deleteProperty(headers, name.toLowerCase()) },
    getHeader (name: string) { return headers[name.toLowerCase()] }
  }
  let failure: unknown
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => { failure = err })
  if (failure) throw failure instanceof Error ? failure : new Error(String(failure))
  return Object.freeze(headers)
}

/**
 * Security headers tuned for a JSON API (helmet's, built once), CORS only for the configured origins,
 * and 503 instead of ever-growing latency when the event loop is saturated. Pages that need another
 * policy (/docs, the account pages) set their own `Content-Security-Policy`, which replaces this one.
 */
export async function registerHardening (app: FastifyInstance, { corsOrigins, maxEventLoopDelayMs }: { corsOrigins: readonly string[], maxEventLoopDelayMs: number }): Promise<void> {
  const securityHeaders = capturedHelmetHeaders()
  // Set on Fastify's reply (not the raw response): Fastify then writes every header in one writeHead.
  app.addHook('onRequest', (_req, reply, done) => { reply.headers(securityHeaders); done() })
  // With no allowed origin (the default) there is nothing for CORS to do: no answer varies by Origin
  // and no Access-Control-* header is ever sent, so the plugin (a hook on every request) is left out.
  if (corsOrigins.length > 0) await registerCors(app, corsOrigins)
  if (maxEventLoopDelayMs === 0) return
  await app.register(underPressure, {
    // Delay, not utilisation: a busy server (and embedded PGlite, which runs on the main thread) is
    // near 100% utilised while still answering promptly; a second-long stall is the real alarm.
    maxEventLoopDelay: maxEventLoopDelayMs,
    pressureHandler: () => { throw new ServiceUnavailableError('The server is overloaded; try again shortly', { retryAfterSeconds: 2 }) }
  })
}

/** CORS for `corsOrigins` only (API.md): their preflights get 204 and the Access-Control-* headers; any other origin gets none. */
async function registerCors (app: FastifyInstance, corsOrigins: readonly string[]): Promise<void> {
  const allowed = new Set(corsOrigins)
  await app.register(cors, {
    // A function, not a list: for any other origin the plugin then adds no Access-Control-* header at all.
    origin: (origin, callback) => { callback(null, origin !== undefined && allowed.has(origin) ? origin : false) },
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'X-Request-Id'],
    exposedHeaders: ['ETag', 'Link', 'Location', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'X-Request-Id'],
    maxAge: 600
  })
}

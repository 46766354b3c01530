import type { FastifyRequest } from 'fastify'
import type { RequestMeta } from '../actor.js'

/** Client IP (X-Forwarded-For only when TRUST_PROXY allows, via Fastify's trustProxy) and user agent. */
export function requestMeta (req: FastifyRequest): RequestMeta {
  const ua = req.headers['user-agent']
  return { ip: req.ip || null, userAgent: typeof ua === 'string' ? ua.slice(0, 512) : null }
}

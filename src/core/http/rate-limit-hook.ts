import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import { TooManyRequestsError } from '../errors.js'
import type { Limiter, LimitState } from '../rate-limit.js'

/** Sets `RateLimit-Limit`, `-Remaining` and `-Reset` (seconds) (draft-ietf-httpapi-ratelimit-headers). */
export function setRateLimitHeaders (reply: FastifyReply, state: { limit: number, remaining: number, resetSeconds: number }): void {
  reply.header('ratelimit-limit', String(state.limit))
  reply.header('ratelimit-remaining', String(state.remaining))
  reply.header('ratelimit-reset', String(state.resetSeconds))
}

/**
 * A per-client-IP limit for a route (the IP comes from X-Forwarded-For only when TRUST_PROXY allows).
 * Every attempt spends a point, whatever its outcome (it runs before the body is even parsed, so
 * malformed requests count too); responses carry RateLimit-* headers.
 */
export function ipRateLimit (limiter: Limiter | undefined, onExceeded: (req: FastifyRequest, state: LimitState) => Promise<void>): onRequestHookHandler {
  return async function rateLimit (req, reply) {
    if (!limiter) return
    const state = await limiter.consume(req.ip)
    setRateLimitHeaders(reply, state)
    if (state.exceeded) {
      await onExceeded(req, state)
      throw new TooManyRequestsError('Too many attempts from this address; try again later', state.resetSeconds, state)
    }
  }
}

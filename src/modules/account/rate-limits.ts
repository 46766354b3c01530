import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import { ipRateLimit } from '../../core/http/rate-limit-hook.js'
import { requestMeta } from '../../core/http/request-meta.js'
import type { Metrics } from '../../core/metrics.js'
import type { LimiterFactory } from '../../core/rate-limit.js'
import type { AuditService } from '../audit/index.js'

/**
 * The per-IP limit of POST /v1/auth/password/forgot (RATE_LIMIT_FORGOT_PER_IP per RATE_LIMIT_FORGOT_WINDOW
 * seconds, whatever the email; OWASP ASVS 5.0 §6.3.1). A refusal counts in
 * `auth_rate_limited_total{route="forgot"}`, is logged and noted as `rate_limit.exceeded`.
 */
export function createForgotLimit ({ limiter, budget, metrics, audit }: { limiter: LimiterFactory, budget: { points: number, window: number }, metrics: Metrics, audit: AuditService }): onRequestHookHandler {
  return ipRateLimit(limiter('forgot-ip', budget), async (req: FastifyRequest) => {
    metrics.rateLimited.inc({ route: 'forgot' })
    req.log.warn({ code: 'rate_limited', route: 'forgot' }, 'rate limit exceeded')
    await audit.note({ type: 'rate_limit.exceeded', meta: requestMeta(req), details: { limit: 'forgot_ip', route: 'forgot' } })
  })
}

import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import { ipRateLimit } from '../../core/http/rate-limit-hook.js'
import { requestMeta } from '../../core/http/request-meta.js'
import type { Metrics } from '../../core/metrics.js'
import type { LimiterFactory } from '../../core/rate-limit.js'
import type { AuditService } from '../audit/index.js'
import { createAccountThrottle, type AccountThrottle } from './account-throttle.js'

/** Per-IP limits of the public auth routes (no-ops when RATE_LIMIT_ENABLED=false). */
export interface AuthRateLimits { login: onRequestHookHandler, token: onRequestHookHandler, register: onRequestHookHandler }

/** A budget: `points` attempts per `window` seconds. */
interface Budget { points: number, window: number }

/** The auth budgets from config.rateLimit. */
export interface AuthLimitsConfig { loginPerIp: Budget, registerPerIp: Budget, accountFailures: Budget }

/**
 * The auth module's limits (API.md: login and the password grant share one per-IP budget; register
 * has its own; failed logins are also counted per account, OWASP ASVS 5.0 §6.3.1). A refusal is
 * counted in `auth_rate_limited_total{route}`, logged and noted in the audit log as
 * `rate_limit.exceeded`.
 */
export function createAuthRateLimits ({ limiter, limits, metrics, audit }: { limiter: LimiterFactory, limits: AuthLimitsConfig, metrics: Metrics, audit: AuditService }): { perIp: AuthRateLimits, accountThrottle: AccountThrottle } {
  const onLimited = (route: string) => async (req: FastifyRequest) => {
    metrics.rateLimited.inc({ route })
    req.log.warn({ code: 'rate_limited', route }, 'rate limit exceeded')
    await audit.note({ type: 'rate_limit.exceeded', meta: requestMeta(req), details: { limit: `${route}_ip`, route } })
  }
  const loginLimiter = limiter('login-ip', limits.loginPerIp)
  return {
    perIp: {
      login: ipRateLimit(loginLimiter, onLimited('login')),
      token: ipRateLimit(loginLimiter, onLimited('token')),
      register: ipRateLimit(limiter('register-ip', limits.registerPerIp), onLimited('register'))
    },
    accountThrottle: createAccountThrottle(limiter('login-account', limits.accountFailures))
  }
}

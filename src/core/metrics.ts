import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { AppError } from './errors.js'
import { bearerToken } from './http/authenticate.js'

/**
 * Prometheus metrics, one registry per app. Labels are bounded: route templates (never raw URLs),
 * fixed reasons and operation names, never user ids.
 */
export function createMetrics ({ defaultMetrics }: { defaultMetrics: boolean }) {
  const registry = new Registry()
  if (defaultMetrics) collectDefaultMetrics({ register: registry })
  const registers = [registry]
  // Gauges read at scrape time from sources wired in after the metrics exist (the hasher, the probes).
  let hashQueue: () => HashQueueDepth = () => ({ running: 0, waiting: 0 })
  let readiness: () => Promise<Record<string, boolean>> = async () => ({})
  return {
    registry,
    /** Reads the password-hash queue at each scrape into password_hash_queue_depth{state}. */
    watchHashQueue (source: () => HashQueueDepth): void { hashQueue = source },
    /** Runs the readiness probes at each scrape into readiness_check_ok{check} (1 ok, 0 failing). */
    watchReadiness (source: () => Promise<Record<string, boolean>>): void { readiness = source },
    hashQueueDepth: new Gauge({
      name: 'password_hash_queue_depth',
      help: 'Password hashes running in worker threads and waiting for one (past HASH_QUEUE_LIMIT waiting, requests get 503)',
      labelNames: ['state'] as const,
      registers,
      collect () {
        const { running, waiting } = hashQueue()
        this.set({ state: 'running' }, running)
        this.set({ state: 'waiting' }, waiting)
      }
    }),
    readinessCheck: new Gauge({
      name: 'readiness_check_ok',
      help: 'Readiness probes (as /readyz runs them) at scrape time: 1 answers, 0 failing',
      labelNames: ['check'] as const,
      registers,
      async collect () {
        for (const [check, ok] of Object.entries(await readiness())) this.set({ check }, ok ? 1 : 0)
      }
    }),
    tokenReuse: new Counter({
      name: 'auth_token_reuse_detected_total',
      help: 'Spent refresh tokens presented again (the session was revoked: possible token theft)',
      registers
    }),
    loginSuccess: new Counter({ name: 'auth_login_success_total', help: 'Successful logins (JSON and password grant)', registers }),
    loginFailure: new Counter({ name: 'auth_login_failure_total', help: 'Failed logins by reason', labelNames: ['reason'] as const, registers }),
    tokenRefresh: new Counter({ name: 'auth_token_refresh_total', help: 'Refresh-token rotations', registers }),
    register: new Counter({ name: 'auth_register_total', help: 'Accounts registered', registers }),
    rateLimited: new Counter({ name: 'auth_rate_limited_total', help: 'Requests refused by a rate limit', labelNames: ['route'] as const, registers }),
    operationDuration: new Histogram({
      name: 'auth_operation_duration_seconds',
      help: 'Duration of auth operations (hash-bound ones dominate)',
      labelNames: ['operation'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers
    }),
    cleanupDeleted: new Counter({ name: 'cleanup_rows_deleted_total', help: 'Rows removed by the background clean-up, by table', labelNames: ['table'] as const, registers }),
    auditSealed: new Counter({ name: 'audit_events_sealed_total', help: 'Audit events chained by the sealer', registers }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route template',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers
    })
  }
}
export type Metrics = ReturnType<typeof createMetrics>

/** Password hashes in progress (`running`, at most HASH_CONCURRENCY) and queued (`waiting`). */
export interface HashQueueDepth { running: number, waiting: number }

/** Times an async operation into auth_operation_duration_seconds, whatever its outcome. */
export async function timed<T> (metrics: Metrics, operation: string, job: () => Promise<T>): Promise<T> {
  const end = metrics.operationDuration.startTimer({ operation })
  try {
    return await job()
  } finally {
    end()
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest()

/** The request-duration hook and GET /metrics (Bearer METRICS_TOKEN when one is configured). */
export function registerMetrics (app: FastifyInstance, metrics: Metrics, token: string | undefined): void {
  // Callback style: no promise per response.
  app.addHook('onResponse', (req, reply, done) => {
    metrics.httpDuration.observe({ method: req.method, route: req.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) }, reply.elapsedTime / 1000)
    done()
  })
  const expected = token === undefined ? undefined : digest(token)
  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    if (expected) {
      const sent = bearerToken(req.headers.authorization)
      // RFC 6750 §3.1: no token is a plain challenge; a wrong one is invalid_token.
      if (!sent) throw new AppError('unauthenticated', { detail: 'Metrics need the metrics token' })
      if (!timingSafeEqual(digest(sent), expected)) throw new AppError('invalid_token', { detail: 'The metrics token is wrong' })
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics())
  })
}

import type { FastifyInstance } from 'fastify'
import type { Metrics } from '../core/metrics.js'
import type { AuditChain } from '../modules/audit/index.js'
import type { Cleanup } from './cleanup.js'
import { startJob } from './job.js'

/** How often the audit sealer chains new events (ms): verification covers events older than this. */
export const AUDIT_SEAL_INTERVAL_MS = 10_000
/** How often the clean-up runs (ms); the first run comes a minute after start. */
export const CLEANUP_INTERVAL_MS = 3_600_000

/**
 * Starts the background jobs (audit sealer, clean-up) and stops them when the app closes, before the
 * database does. Each takes its own advisory lock, so with many instances one at a time works.
 */
export function startBackgroundJobs (app: FastifyInstance, { auditChain, cleanup, metrics }: { auditChain: Pick<AuditChain, 'seal'>, cleanup: Cleanup, metrics: Metrics }): void {
  const jobs = [
    startJob({ name: 'audit-sealer', intervalMs: AUDIT_SEAL_INTERVAL_MS, log: app.log, work: async () => { metrics.auditSealed.inc(await auditChain.seal()) } }),
    startJob({ name: 'cleanup', intervalMs: CLEANUP_INTERVAL_MS, firstRunMs: 60_000, log: app.log, work: async () => { await cleanup.runOnce() } })
  ]
  app.addHook('onClose', async () => { await Promise.all(jobs.map(job => job.stop())) })
}

import type { FastifyBaseLogger } from 'fastify'
import type { Clock } from '../core/clock.js'
import type { Db } from '../core/db.js'
import { LOCKS, tryXactLock } from '../core/locks.js'
import type { Metrics } from '../core/metrics.js'

/**
 * One kind of rows the clean-up removes. `deleteBatch` deletes at most `limit` rows that are past
 * their retention at `now`, inside `tx`, and returns how many it deleted. Features add their own
 * (mail tokens, MFA tokens, idempotency keys, sent mail) to the list in app.ts.
 */
export interface CleanupRule {
  /** The table (the metric's `table` label). */
  table: string
  deleteBatch: (tx: Db, now: Date, limit: number) => Promise<number>
}

export interface CleanupOptions {
  db: Db
  clock: Clock
  rules: readonly CleanupRule[]
  metrics?: Pick<Metrics, 'cleanupDeleted'> | undefined
  log?: Pick<FastifyBaseLogger, 'info'> | undefined
  /** Rows per batch: each batch is its own short transaction, so no lock is held for long. */
  batchSize?: number
  /** Batches per rule and run, so one run stays bounded; the rest waits for the next run. */
  maxBatches?: number
}

/**
 * The retention clean-up (API.md "Signing keys, retention and audit integrity"). Runs the rules in
 * order, in bounded batches; each batch takes the clean-up advisory lock without waiting, so only one
 * instance deletes at a time and the others skip. Counts go to cleanup_rows_deleted_total{table} and
 * one log line per run.
 */
export function createCleanup ({ db, clock, rules, metrics, log, batchSize = 500, maxBatches = 200 }: CleanupOptions) {
  return {
    /** One pass over every rule; returns rows deleted per table (empty when another instance holds the lock). */
    async runOnce (): Promise<Record<string, number>> {
      const counts: Record<string, number> = {}
      for (const rule of rules) {
        for (let batch = 0; batch < maxBatches; batch++) {
          const deleted = await db.transaction(async (tx) => {
            if (!await tryXactLock(tx, LOCKS.cleanup)) return -1
            return rule.deleteBatch(tx, clock.now(), batchSize)
          })
          if (deleted < 0) return counts
          if (deleted > 0) {
            counts[rule.table] = (counts[rule.table] ?? 0) + deleted
            metrics?.cleanupDeleted.inc({ table: rule.table }, deleted)
          }
          if (deleted < batchSize) break
        }
      }
      if (Object.keys(counts).length > 0) log?.info({ code: 'cleanup', deleted: counts }, 'clean-up removed expired rows')
      return counts
    }
  }
}
export type Cleanup = ReturnType<typeof createCleanup>

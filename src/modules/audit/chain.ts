import { createHash } from 'node:crypto'
import { and, asc, eq, inArray, isNotNull, isNull, sql } from 'drizzle-orm'
import { stringify } from 'safe-stable-stringify'
import type { Db } from '../../core/db.js'
import type { CleanupRule } from '../../jobs/cleanup.js'
import { LOCKS, tryXactLock } from '../../core/locks.js'
import { auditChainTable, auditEventsTable, type AuditEventRow } from './audit.table.js'

/** The hash the chain starts from (the migration seeds audit_chain with it). */
export const GENESIS_HASH = '0'.repeat(64)
const SEAL_BATCH = 1000
const VERIFY_PAGE = 1000

/**
 * An event's canonical content: every stored field but its hash, as stable JSON (keys sorted,
 * safe-stable-stringify), timestamps in RFC 3339 UTC. The seq is part of it, so an event cannot be
 * moved in the chain without changing its hash.
 */
export function canonicalEvent (row: Omit<AuditEventRow, 'hash'>): string {
  return stringify({
    id: row.id,
    seq: row.seq,
    type: row.type,
    created_at: row.created_at.toISOString(),
    actor_id: row.actor_id,
    user_id: row.user_id,
    ip: row.ip,
    user_agent: row.user_agent,
    details: row.details
  }) ?? ''
}

/** SHA-256 (hex) over the previous event's hash and this event's canonical content. */
export function chainHash (previous: string, row: Omit<AuditEventRow, 'hash'>): string {
  return createHash('sha256').update(previous).update('\n').update(canonicalEvent(row)).digest('hex')
}

export interface VerifyResult {
  ok: boolean
  /** Events whose seq and hash were checked. */
  checked: number
  /** The first event that was changed or inserted, or that follows removed events; null if none (or removed at the end). */
  first_invalid_id: string | null
  /** Human-readable reason when not ok. */
  reason?: string | undefined
}

/**
 * The tamper-evident audit log. Events are written unsealed (seq and hash null), so the group-commit
 * insert stays one cheap statement and no login waits on a global lock; `seal` then chains them in
 * order — one instance at a time (advisory lock), the chain head (`audit_chain`) moved in the same
 * transaction. `verify` walks the chain from its anchor; `trim` removes the oldest sealed events
 * (retention) and moves the anchor to the last removed one, so the rest still verifies.
 * Limit: an unkeyed chain cannot tell a forged event appended at the end from a real one; keep the
 * head hash `verify` reports somewhere else to detect that.
 */
export function createAuditChain ({ db }: { db: Db }) {
  /** Seals one batch; -1 when another instance is sealing. */
  async function sealBatch (): Promise<number> {
    return db.transaction(async (tx) => {
      if (!await tryXactLock(tx, LOCKS.auditChain)) return -1
      const [head] = await tx.select().from(auditChainTable).where(eq(auditChainTable.id, 1))
      if (!head) throw new Error('audit_chain has no head row')
      const rows = await tx.select().from(auditEventsTable).where(isNull(auditEventsTable.seq))
        .orderBy(asc(auditEventsTable.created_at), asc(auditEventsTable.id)).limit(SEAL_BATCH)
      if (rows.length === 0) return 0
      let { seq, hash } = head
      const sealed = rows.map((row) => {
        seq += 1
        hash = chainHash(hash, { ...row, seq })
        return sql`(${row.id}::uuid, ${seq}::bigint, ${hash})`
      })
      await tx.execute(sql`
        update ${auditEventsTable} set seq = v.seq, hash = v.hash
        from (values ${sql.join(sealed, sql`, `)}) as v(id, seq, hash)
        where ${auditEventsTable.id} = v.id`)
      await tx.update(auditChainTable).set({ seq, hash }).where(eq(auditChainTable.id, 1))
      return rows.length
    })
  }

  return {
    /** Chains every unsealed event, in batches; returns how many it sealed (0 when another instance is at it). */
    async seal (): Promise<number> {
      let total = 0
      for (;;) {
        const n = await sealBatch()
        if (n <= 0) return total
        total += n
        if (n < SEAL_BATCH) return total
      }
    },

    /**
     * Checks the chain from its anchor to its head: each event's seq follows the previous one and its
     * hash matches. Names the first event that was changed or inserted, or that follows removed ones.
     */
    async verify (): Promise<VerifyResult> {
      const [head] = await db.select().from(auditChainTable).where(eq(auditChainTable.id, 1))
      if (!head) return { ok: false, checked: 0, first_invalid_id: null, reason: 'the chain head is missing' }
      let prevSeq = head.anchor_seq
      let prevHash = head.anchor_hash
      let checked = 0
      let last: { seq: number, id: string } | undefined
      for (;;) {
        const after = last
        const page = await db.select().from(auditEventsTable)
          .where(and(isNotNull(auditEventsTable.seq), after ? sql`(${auditEventsTable.seq}, ${auditEventsTable.id}) > (${after.seq}, ${after.id}::uuid)` : undefined))
          .orderBy(asc(auditEventsTable.seq), asc(auditEventsTable.id)).limit(VERIFY_PAGE)
        for (const row of page) {
          const seq = row.seq ?? 0
          if (seq !== prevSeq + 1) {
            const reason = seq <= prevSeq ? `event seq ${seq} repeats or goes back (inserted)` : `events ${prevSeq + 1}..${seq - 1} before it were removed`
            return { ok: false, checked, first_invalid_id: row.id, reason }
          }
          if (chainHash(prevHash, row) !== row.hash) return { ok: false, checked, first_invalid_id: row.id, reason: `event seq ${seq} was changed` }
          prevSeq = seq
          prevHash = row.hash
          checked++
          last = { seq, id: row.id }
        }
        if (page.length < VERIFY_PAGE) break
      }
      if (prevSeq !== head.seq || prevHash !== head.hash) {
        return { ok: false, checked, first_invalid_id: null, reason: `events ${prevSeq + 1}..${head.seq} at the end were removed` }
      }
      return { ok: true, checked, first_invalid_id: null }
    },

    /**
     * Retention: deletes up to `limit` of the oldest sealed events created before `cutoff` (a prefix
     * of the chain) and makes the last of them the anchor. Returns how many it deleted. Inside
     * `outer` when given (the clean-up's transaction).
     */
    async trim (cutoff: Date, limit: number, outer: Db = db): Promise<number> {
      return outer.transaction(async (tx) => {
        if (!await tryXactLock(tx, LOCKS.auditChain)) return 0
        const oldest = await tx.select({ id: auditEventsTable.id, seq: auditEventsTable.seq, hash: auditEventsTable.hash, created_at: auditEventsTable.created_at })
          .from(auditEventsTable).where(isNotNull(auditEventsTable.seq))
          .orderBy(asc(auditEventsTable.seq), asc(auditEventsTable.id)).limit(limit)
        const end = oldest.findIndex(r => r.created_at >= cutoff)
        const doomed = end === -1 ? oldest : oldest.slice(0, end)
        const anchor = doomed.at(-1)
        if (!anchor || anchor.seq === null || anchor.hash === null) return 0
        await tx.delete(auditEventsTable).where(inArray(auditEventsTable.id, doomed.map(r => r.id)))
        await tx.update(auditChainTable).set({ anchor_seq: anchor.seq, anchor_hash: anchor.hash }).where(eq(auditChainTable.id, 1))
        return doomed.length
      })
    }
  }
}
export type AuditChain = ReturnType<typeof createAuditChain>

/** The clean-up rule for audit events older than AUDIT_RETENTION_DAYS (0: none, they are kept forever). */
export function auditRetentionRule (chain: AuditChain, retentionDays: number): CleanupRule[] {
  if (retentionDays === 0) return []
  return [{
    table: 'audit_events',
    deleteBatch: (tx, now, limit) => chain.trim(new Date(now.getTime() - retentionDays * 86_400_000), limit, tx)
  }]
}

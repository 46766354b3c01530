import { and, desc, eq, gte, lt } from 'drizzle-orm'
import type { FastifyBaseLogger } from 'fastify'
import type { RequestMeta } from '../../core/actor.js'
import type { Clock } from '../../core/clock.js'
import type { Db } from '../../core/db.js'
import { newId } from '../../core/ids.js'
import { idFromCursor, pageById, type Cursors, type Page } from '../../core/pagination.js'
import { auditEventsTable, type AuditEventRow } from './audit.table.js'

/** Every audit event type (API.md), `<entity>.<event>`; the admin filter's enum. */
export const AUDIT_EVENT_TYPES = [
  'register', 'login.success', 'login.failure', 'logout', 'logout_all', 'token.refresh', 'token.reuse_detected',
  'session.revoked', 'password.change', 'rate_limit.exceeded', 'user.updated_by_admin', 'user.deleted', 'task.deleted_by_admin',
  'mfa.enabled', 'mfa.disabled', 'mfa.recovery_code_used', 'mfa.reset_by_admin',
  'pat.created', 'pat.revoked',
  'password.reset_requested', 'password.reset', 'email.verified', 'email.change_requested', 'email.changed',
  'identity.linked', 'identity.unlinked'
] as const
export type AuditEventType = typeof AUDIT_EVENT_TYPES[number]

/** An event to record: its type, who did it (actorId) to whom (userId), request meta and JSON details (never secrets). */
export interface AuditEvent {
  type: AuditEventType
  /** The authenticated account that acted; null when nobody is authenticated. */
  actorId?: string | null | undefined
  /** The account the event concerns. */
  userId?: string | null | undefined
  meta?: RequestMeta | undefined
  /** Small and secret-free: never a password, token or hash. */
  details?: Record<string, unknown>
}

/** Keys that must never reach the audit log, whatever a caller passes. */
const SECRET_KEY = /pass|token|secret|hash|authorization|cookie/i

function scrub (details: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(details ?? {})) {
    if (!SECRET_KEY.test(key)) out[key] = typeof value === 'string' ? value.slice(0, 256) : value
  }
  return out
}

/**
 * An event's details as auditInsertSql's statements take them (text for a `$n::jsonb` parameter):
 * the same secret-free, shortened object `note()` and `record()` store (keys naming secrets dropped,
 * strings cut at 256 characters).
 */
export function auditDetailsJson (details: Record<string, unknown>): string {
  return JSON.stringify(scrub(details))
}

/** Where auditInsertSql finds each value: SQL expressions (placeholders such as `$7`, or columns of its source). */
export interface AuditInsertColumns {
  /** The event's id (a UUIDv7 made by the caller: newId()). */
  id: string
  createdAt: string
  actorId: string
  userId: string
  ip: string
  userAgent: string
  /** A jsonb expression; small and secret-free, as AuditEvent.details. */
  details: string
}

/**
 * SQL text of an `INSERT … SELECT` recording one `type` event per row of `from` (a FROM clause over
 * the statement's own CTEs), for a hot statement that makes a change and records it together: one
 * round trip and one commit, and never the change without its entry. The values are SQL expressions
 * (see AuditInsertColumns); `type` is one of AUDIT_EVENT_TYPES, never caller input. The row is the one
 * `note()` would write for the same event; the sealer chains it like any other.
 */
export function auditInsertSql (type: AuditEventType, columns: AuditInsertColumns, from: string): string {
  if (!AUDIT_EVENT_TYPES.includes(type)) throw new Error(`unknown audit event type ${type}`)
  const { id, createdAt, actorId, userId, ip, userAgent, details } = columns
  return `insert into audit_events (id, type, created_at, actor_id, user_id, ip, user_agent, details)
    select ${id}, '${type}', ${createdAt}, ${actorId}, ${userId}, ${ip}, ${userAgent}, ${details} from ${from}`
}

/** Filters of the audit list (since: RFC 3339), keyset-paged by id. */
export interface AuditListQuery { type?: string | undefined, user_id?: string | undefined, since?: string | undefined, limit: number, cursor?: string | undefined }

/**
 * The audit log. `record(event, tx)` writes inside the caller's transaction, so the entry commits with
 * the change it records. `note(event)` is for events with no change to join (failed logins, reuse,
 * rate limits): it never throws, so the audit log cannot make a login fail; its cost is one insert.
 */
export function createAuditService ({ db, clock, log, cursors }: { db: Db, clock: Clock, log: FastifyBaseLogger, cursors: Cursors }) {
  const row = (event: AuditEvent) => ({
    id: newId(),
    type: event.type,
    created_at: clock.now(),
    actor_id: event.actorId ?? null,
    user_id: event.userId ?? null,
    ip: event.meta?.ip ?? null,
    user_agent: event.meta?.userAgent ?? null,
    details: scrub(event.details)
  })

  // note() is group-committed: while one insert runs, the notes that arrive wait and then go in
  // together as one multi-row insert. Alone, a note is written at once; under load, one round trip and
  // one commit serve many. Each caller still resumes only once its own entry is written (or failed).
  const waiting: Array<{ row: ReturnType<typeof row>, done: () => void }> = []
  let writing = false
  async function writeWaiting (): Promise<void> {
    writing = true
    while (waiting.length > 0) {
      const batch = waiting.splice(0, 500)
      try {
        await db.insert(auditEventsTable).values(batch.map(entry => entry.row))
      } catch (err) {
        log.error({ err, code: 'audit_write_failed', types: [...new Set(batch.map(entry => entry.row.type))], count: batch.length }, 'audit events not recorded')
      }
      for (const entry of batch) entry.done()
    }
    writing = false
  }

  return {
    async record (event: AuditEvent, tx: Db = db): Promise<void> {
      await tx.insert(auditEventsTable).values(row(event))
    },

    note (event: AuditEvent): Promise<void> {
      return new Promise<void>((resolve) => {
        waiting.push({ row: row(event), done: resolve })
        if (!writing) writeWaiting().catch(() => {}) // never rejects: failures are logged inside
      })
    },

    async list (query: AuditListQuery): Promise<Page<AuditEventRow>> {
      const scope = { list: 'admin.audit-events', type: query.type, user_id: query.user_id, since: query.since === undefined ? undefined : new Date(query.since).toISOString() }
      const before = idFromCursor(cursors, scope, query.cursor)
      const rows = await db.select().from(auditEventsTable).where(and(
        query.type ? eq(auditEventsTable.type, query.type) : undefined,
        query.user_id ? eq(auditEventsTable.user_id, query.user_id) : undefined,
        query.since ? gte(auditEventsTable.created_at, new Date(query.since)) : undefined,
        before ? lt(auditEventsTable.id, before) : undefined
      )).orderBy(desc(auditEventsTable.id)).limit(query.limit + 1)
      return pageById(rows, query.limit, cursors, scope)
    }
  }
}
export type AuditService = ReturnType<typeof createAuditService>

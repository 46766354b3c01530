import { and, desc, eq, getTableColumns, gt, isNull, ne, sql } from 'drizzle-orm'
import type { Clock } from '../../core/clock.js'
import { preparedSql, rawRows, type Db } from '../../core/db.js'
import type { CleanupRule } from '../../jobs/cleanup.js'
import type { RequestMeta } from '../../core/actor.js'
import { newId, newSecret, sha256 } from '../../core/ids.js'
import { auditDetailsJson, auditInsertSql } from '../audit/index.js'
import type { SessionCache } from './session-cache.js'
import { sessionsTable, spentRefreshTokensTable, type SessionRow } from './sessions.table.js'

/** Storage, cache and clock; REFRESH_TOKEN_TTL, SESSION_MAX_AGE and ACCESS_TOKEN_TTL in seconds. */
export interface SessionsOptions {
  db: Db
  cache: SessionCache
  clock: Clock
  refreshTtl: number
  sessionMaxAge: number
  accessTtl: number
}

const addSeconds = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000)
const minDate = (a: Date, b: Date) => (a.getTime() <= b.getTime() ? a : b)

/**
 * A login's session and its `login.success` audit event in one statement (one round trip, one
 * commit; never one without the other). $1 the session id, $2 the user, $3 the refresh token's hash,
 * $4 its expiry, $5 now, $6 the session's absolute end, $7 the ip, $8 the user agent, $9 the amr;
 * the event: $10 its id, $11 its details (JSON).
 */
const START_LOGIN_SQL = `
  with started as (
    insert into sessions (id, user_id, refresh_hash, refresh_expires_at, created_at, last_used_at, expires_at, ip, user_agent, amr)
    values ($1::uuid, $2::uuid, $3::text, $4::timestamptz, $5::timestamptz, $5::timestamptz, $6::timestamptz, $7::text, $8::text, $9::text[])
    returning ${Object.entries(getTableColumns(sessionsTable)).map(([key, column]) => `"${column.name}" as "${key}"`).join(', ')}
  ), audited as (
    ${auditInsertSql('login.success', {
      id: '$10::uuid', createdAt: '$5::timestamptz', actorId: 's.user_id', userId: 's.user_id', ip: '$7::text', userAgent: '$8::text', details: '$11::jsonb'
    }, 'started s')}
  )
  select * from started`

/**
 * Sessions: one per login, kept in PostgreSQL (the source of truth) and mirrored in the session cache.
 * This file owns the session life-cycle (start, liveness, revocation, listing); refresh-token
 * rotation and reuse detection live in refresh-tokens.ts.
 */
export function createSessions ({ db, cache, clock, refreshTtl, sessionMaxAge, accessTtl }: SessionsOptions) {
  /** A revocation must outlive every access token of the session (plus clock tolerance). */
  const tombstoneTtl = accessTtl + 60

  /**
   * Revocations the cache could not be told about (Redis down). This instance refuses those sessions
   * itself and keeps retrying, so that once Redis is back, a live entry it still holds cannot
   * re-validate them on any instance.
   */
  const undelivered = new Set<string>()
  let retrying: NodeJS.Timeout | undefined

  async function markRevoked (sids: readonly string[]): Promise<void> {
    if (sids.length === 0) return
    try {
      await cache.markRevoked(sids, tombstoneTtl)
    } catch {
      for (const sid of sids) undelivered.add(sid)
      retrying ??= setInterval(() => { redeliver().catch(() => {}) }, 1000).unref()
    }
  }

  async function redeliver (): Promise<void> {
    const sids = [...undelivered]
    try {
      await cache.markRevoked(sids, tombstoneTtl)
      for (const sid of sids) undelivered.delete(sid)
      if (undelivered.size === 0 && retrying) { clearInterval(retrying); retrying = undefined }
    } catch {}
  }

  const startLoginStatement = preparedSql<SessionRow>(db, 'session_start_login', START_LOGIN_SQL)

  /** A new session's row (id, first refresh token's hash, expiries) for `userId`, and that token. */
  function fresh (userId: string, meta: RequestMeta, amr: readonly string[]) {
    const now = clock.now()
    const refreshToken = newSecret()
    const expiresAt = addSeconds(now, sessionMaxAge)
    const row = {
      id: newId(),
      user_id: userId,
      refresh_hash: sha256(refreshToken),
      refresh_expires_at: minDate(addSeconds(now, refreshTtl), expiresAt),
      created_at: now,
      last_used_at: now,
      expires_at: expiresAt,
      ip: meta.ip,
      user_agent: meta.userAgent?.slice(0, 512) ?? null,
      amr: [...amr]
    }
    return { row, refreshToken }
  }

  const liveConditions = (now: Date) => and(isNull(sessionsTable.revoked_at), gt(sessionsTable.expires_at, now), gt(sessionsTable.refresh_expires_at, now))

  return {
    /** Starts a session for a fresh login (`amr`: how it authenticated, RFC 8176); returns it with its first refresh token. */
    async create (tx: Db, userId: string, meta: RequestMeta, amr: readonly string[] = ['pwd']): Promise<{ session: SessionRow, refreshToken: string }> {
      const { row, refreshToken } = fresh(userId, meta, amr)
      const [session] = await tx.insert(sessionsTable).values(row).returning()
      if (!session) throw new Error('insert returned no row')
      return { session, refreshToken }
    },

    /**
     * Starts the session of a completed login and records its `login.success` event (actor and subject
     * the user; `details` plus the session's id, scrubbed like every audit entry) in the same statement.
     * Returns the session and its first refresh token; rejects with the driver's error, having written
     * nothing, when the statement fails.
     */
    async startLogin (userId: string, meta: RequestMeta, amr: readonly string[], details: Record<string, unknown>): Promise<{ session: SessionRow, refreshToken: string }> {
      const { row, refreshToken } = fresh(userId, meta, amr)
      const [session] = await startLoginStatement([
        row.id, row.user_id, row.refresh_hash, row.refresh_expires_at, row.created_at, row.expires_at, row.ip, row.user_agent, row.amr,
        newId(), auditDetailsJson({ session_id: row.id, ...details })
      ])
      if (!session) throw new Error('insert returned no row')
      return { session, refreshToken }
    },

    /** Is the session behind an access token still live? One cache round trip; the database on a miss. */
    async isLive (sid: string, userId: string): Promise<boolean> {
      if (undelivered.has(sid)) return false
      let cached: boolean | undefined
      try { cached = await cache.get(sid) } catch { cached = undefined }
      if (cached !== undefined) return cached
      const now = clock.now()
      const [row] = await db.select({ expires_at: sessionsTable.expires_at }).from(sessionsTable)
        .where(and(eq(sessionsTable.id, sid), eq(sessionsTable.user_id, userId), isNull(sessionsTable.revoked_at), gt(sessionsTable.expires_at, now)))
        .limit(1)
      try {
        if (row) await cache.addLive(sid, Math.min(accessTtl + 30, (row.expires_at.getTime() - now.getTime()) / 1000))
        else await cache.markRevoked([sid], tombstoneTtl)
      } catch {}
      return row !== undefined
    },

    /** Revokes one session of `userId`; false when it is not a live session of theirs. */
    async revoke (sid: string, userId: string, reason: string): Promise<boolean> {
      const rows = await db.update(sessionsTable).set({ revoked_at: clock.now(), revoked_reason: reason })
        .where(and(eq(sessionsTable.id, sid), eq(sessionsTable.user_id, userId), isNull(sessionsTable.revoked_at)))
        .returning({ id: sessionsTable.id })
      await markRevoked(rows.map(r => r.id))
      return rows.length > 0
    },

    /**
     * Revokes every live session of a user, except `keep` (the caller's own, on a password change).
     * Inside a caller's transaction (`tx`), the caller tells the cache with markRevoked after commit.
     */
    async revokeAllForUser (userId: string, reason: string, keep?: string, tx?: Db): Promise<string[]> {
      const rows = await (tx ?? db).update(sessionsTable).set({ revoked_at: clock.now(), revoked_reason: reason })
        .where(and(eq(sessionsTable.user_id, userId), isNull(sessionsTable.revoked_at), keep ? ne(sessionsTable.id, keep) : undefined))
        .returning({ id: sessionsTable.id })
      const ids = rows.map(r => r.id)
      if (!tx) await markRevoked(ids)
      return ids
    },

    /** Tells the cache about revocations made inside a transaction, once it has committed. */
    markRevoked,

    async listLive (userId: string): Promise<SessionRow[]> {
      return db.select().from(sessionsTable)
        .where(and(eq(sessionsTable.user_id, userId), liveConditions(clock.now())))
        .orderBy(desc(sessionsTable.last_used_at))
    }
  }
}
export type Sessions = ReturnType<typeof createSessions>

/** Ended sessions are kept this long (for the sessions list and investigations), then removed. */
export const ENDED_SESSION_RETENTION_DAYS = 30

/** When a session ended: revoked, past its absolute end, or its refresh token expired (matches sessions_ended_at_idx). */
const endedAt = sql`least(coalesce(${sessionsTable.revoked_at}, 'infinity'::timestamptz), ${sessionsTable.expires_at}, ${sessionsTable.refresh_expires_at})`

/**
 * Clean-up rules for sessions that ended over ENDED_SESSION_RETENTION_DAYS ago: first their spent
 * refresh tokens (up to ~8,600 per long session), then the sessions, each in bounded batches.
 */
export function sessionCleanupRules (): CleanupRule[] {
  const cutoff = (now: Date) => new Date(now.getTime() - ENDED_SESSION_RETENTION_DAYS * 86_400_000)
  const count = async (tx: Db, statement: ReturnType<typeof sql>) => (await rawRows<{ n: number }>(tx, statement))[0]?.n ?? 0
  return [
    {
      table: 'spent_refresh_tokens',
      deleteBatch: (tx, now, limit) => count(tx, sql`
        with doomed as (
          select s.token_hash from ${spentRefreshTokensTable} s join ${sessionsTable} on ${sessionsTable.id} = s.session_id
          where ${endedAt} < ${cutoff(now)} limit ${limit}
        ), deleted as (delete from ${spentRefreshTokensTable} where token_hash in (select token_hash from doomed) returning 1)
        select count(*)::int as n from deleted`)
    },
    {
      table: 'sessions',
      deleteBatch: (tx, now, limit) => count(tx, sql`
        with doomed as (
          select ${sessionsTable.id} as id from ${sessionsTable}
          where ${endedAt} < ${cutoff(now)}
            and not exists (select 1 from ${spentRefreshTokensTable} s where s.session_id = ${sessionsTable.id})
          limit ${limit}
        ), deleted as (delete from ${sessionsTable} where id in (select id from doomed) returning 1)
        select count(*)::int as n from deleted`)
    }
  ]
}

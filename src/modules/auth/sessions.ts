import { and, desc, eq, gt, isNull, ne, sql } from 'drizzle-orm'
import type { Clock } from '../../core/clock.js'
import { rawRows, type Db } from '../../core/db.js'
import type { RequestMeta } from '../../core/actor.js'
import { newId, newSecret, sha256 } from '../../core/ids.js'
import type { SessionCache } from './session-cache.js'
import { sessionsTable, spentRefreshTokensTable, type SessionRow } from './sessions.table.js'

/** What a refresh token turned out to be: live (rotated: here is its successor), already spent (reused: its session is now revoked), or unknown. */
export type RotateResult =
  | { kind: 'rotated', session: Pick<SessionRow, 'id' | 'user_id' | 'amr'>, refreshToken: string }
  | { kind: 'reused', session: SessionRow }
  | { kind: 'invalid' }

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
 * Sessions: one per login, kept in PostgreSQL (the source of truth) and mirrored in the session cache.
 * Refresh tokens are opaque, stored only as SHA-256 hashes, and rotate on every use; rotation is one
 * conditional UPDATE, so of concurrent refreshes with one token at most one wins.
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

  const liveConditions = (now: Date) => and(isNull(sessionsTable.revoked_at), gt(sessionsTable.expires_at, now), gt(sessionsTable.refresh_expires_at, now))

  return {
    /** Starts a session for a fresh login (`amr`: how it authenticated, RFC 8176); returns it with its first refresh token. */
    async create (tx: Db, userId: string, meta: RequestMeta, amr: readonly string[] = ['pwd']): Promise<{ session: SessionRow, refreshToken: string }> {
      const now = clock.now()
      const refreshToken = newSecret()
      const expiresAt = addSeconds(now, sessionMaxAge)
      const [session] = await tx.insert(sessionsTable).values({
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
      }).returning()
      if (!session) throw new Error('insert returned no row')
      return { session, refreshToken }
    },

    /**
     * Exchanges a refresh token for a new one. A token already rotated away means theft is likely:
     * the whole session is revoked ('reused'). Unknown, expired or revoked tokens are 'invalid'.
     */
    async rotate (presented: string): Promise<RotateResult> {
      const hash = sha256(presented)
      const next = newSecret()
      const now = clock.now()
      // One statement, so one round trip and one commit: rotate the live session holding this token and
      // record the token as spent. Of concurrent rotations with one token, the row lock lets one win.
      const [session] = await rawRows<{ id: string, user_id: string, amr: string[] }>(db, sql`
        with rotated as (
          update ${sessionsTable}
          set refresh_hash = ${sha256(next)}, refresh_expires_at = least(${addSeconds(now, refreshTtl)}, expires_at), last_used_at = ${now}
          where refresh_hash = ${hash} and revoked_at is null and expires_at > ${now} and refresh_expires_at > ${now}
          returning id, user_id, amr
        ), spent as (
          insert into ${spentRefreshTokensTable} (token_hash, session_id, spent_at) select ${hash}, id, ${now} from rotated
        )
        select id, user_id, amr from rotated`)
      if (session) return { kind: 'rotated', session, refreshToken: next }
      const result = await db.transaction(async (tx): Promise<RotateResult> => {
        const [spent] = await tx.select({ session: sessionsTable }).from(spentRefreshTokensTable)
          .innerJoin(sessionsTable, eq(sessionsTable.id, spentRefreshTokensTable.session_id))
          .where(eq(spentRefreshTokensTable.token_hash, hash)).limit(1)
        if (!spent) return { kind: 'invalid' }
        if (spent.session.revoked_at === null) {
          await tx.update(sessionsTable).set({ revoked_at: now, revoked_reason: 'refresh_token_reused' }).where(eq(sessionsTable.id, spent.session.id))
        }
        return { kind: 'reused', session: spent.session }
      })
      if (result.kind === 'reused') await markRevoked([result.session.id])
      return result
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

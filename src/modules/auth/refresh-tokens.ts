import { eq, sql } from 'drizzle-orm'
import type { Clock } from '../../core/clock.js'
import { rawRows, type Db } from '../../core/db.js'
import { newSecret, sha256 } from '../../core/ids.js'
import type { Sessions } from './sessions.js'
import { sessionsTable, spentRefreshTokensTable, type SessionRow } from './sessions.table.js'

export type RotateResult =
  | { kind: 'rotated', session: Pick<SessionRow, 'id' | 'user_id'>, refreshToken: string }
  | { kind: 'reused', session: SessionRow }
  | { kind: 'invalid' }

export interface RefreshTokensOptions {
  db: Db
  clock: Clock
  sessions: Pick<Sessions, 'markRevoked'>
  refreshTtl: number
}

const addSeconds = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000)

/**
 * Refresh-token rotation and reuse detection. Refresh tokens are opaque, stored only as SHA-256
 * hashes, and rotate on every use; rotation is one conditional UPDATE, so of concurrent refreshes
 * with one token at most one wins.
 */
export function createRefreshTokens ({ db, clock, sessions, refreshTtl }: RefreshTokensOptions) {
  return {
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
      const [session] = await rawRows<{ id: string, user_id: string }>(db, sql`
        with rotated as (
          update ${sessionsTable}
          set refresh_hash = ${sha256(next)}, refresh_expires_at = least(${addSeconds(now, refreshTtl)}, expires_at), last_used_at = ${now}
          where refresh_hash = ${hash} and revoked_at is null and expires_at > ${now} and refresh_expires_at > ${now}
          returning id, user_id
        ), spent as (
          insert into ${spentRefreshTokensTable} (token_hash, session_id, spent_at) select ${hash}, id, ${now} from rotated
        )
        select id, user_id from rotated`)
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
      if (result.kind === 'reused') await sessions.markRevoked([result.session.id])
      return result
    }
  }
}
export type RefreshTokens = ReturnType<typeof createRefreshTokens>

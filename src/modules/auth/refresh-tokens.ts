import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { and, eq, getTableColumns, gt, gte, isNull } from 'drizzle-orm'
import type { Clock } from '../../core/clock.js'
import { preparedSql, type Db } from '../../core/db.js'
import type { RequestMeta } from '../../core/actor.js'
import { newId, newSecret, sha256 } from '../../core/ids.js'
import { auditInsertSql } from '../audit/index.js'
import { usersTable, type UserRow } from '../users/users.table.js'
import type { Sessions } from './sessions.js'
import { sessionsTable, spentRefreshTokensTable, type SessionRow } from './sessions.table.js'

/**
 * What a refresh token turned out to be: live (rotated: here is its successor; `grace` when it was the
 * just-replaced token answered within the window), already spent (reused: its session is now revoked), or unknown.
 */
export type RotateResult =
  | { kind: 'rotated', session: Pick<SessionRow, 'id' | 'user_id' | 'amr'>, refreshToken: string, grace: boolean, user?: UserRow | undefined }
  | { kind: 'reused', session: SessionRow }
  | { kind: 'invalid' }

export interface RefreshTokensOptions {
  db: Db
  clock: Clock
  sessions: Pick<Sessions, 'markRevoked'>
  refreshTtl: number
  /** REFRESH_REUSE_GRACE in seconds; 0 turns the grace window off. */
  graceSeconds: number
}

const addSeconds = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000)

const GRACE_INFO = 'taskflow refresh grace v1'

/**
 * The rotation, in one statement so one round trip and one commit: rotate the live session holding
 * the presented token ($6, its hash), record that hash as spent, record the `token.refresh` audit
 * event when the user is active (id $7, ip $8, user agent $9), and return the session with its
 * user's row. $1 the new token's hash, $2 the new refresh expiry, $3 now, $4 the grace window's
 * previous hash, $5 the sealed successor ($4 and $5 null without a window). Of concurrent rotations
 * with one token the row lock lets one win; the losers wait for its commit, then find the token as the
 * session's previous one (the grace check), with the new token already sealed in the same row.
 */
const ROTATE_SQL = `
  with rotated as (
    update sessions
    set refresh_hash = $1, refresh_expires_at = least($2::timestamptz, expires_at), last_used_at = $3,
      previous_hash = $4, rotated_at = $3, successor_sealed = $5
    where refresh_hash = $6 and revoked_at is null and expires_at > $3 and refresh_expires_at > $3
    returning id, user_id, amr
  ), spent as (
    insert into spent_refresh_tokens (token_hash, session_id, spent_at) select $6, id, $3 from rotated
  ), audited as (
    ${auditInsertSql('token.refresh', {
      id: '$7::uuid', createdAt: '$3', actorId: 'u.id', userId: 'u.id', ip: '$8::text', userAgent: '$9::text', details: "jsonb_build_object('session_id', r.id)"
    }, 'rotated r join users u on u.id = r.user_id where u.is_active')}
  )
  select r.id as rotated_session_id, r.user_id as rotated_user_id, r.amr as rotated_amr, ${Object.values(getTableColumns(usersTable)).map(c => `u."${c.name}"`).join(', ')}
  from rotated r left join users u on u.id = r.user_id`

type RotatedRow = UserRow & { rotated_session_id: string, rotated_user_id: string, rotated_amr: string[] }

/** A 256-bit key that only a holder of `token` can derive (HKDF-SHA256, RFC 5869). */
const graceKey = (token: string): Buffer => Buffer.from(hkdfSync('sha256', Buffer.from(token, 'utf8'), Buffer.alloc(0), GRACE_INFO, 32))

/**
 * Seals `successor` under a key derived from the token it replaces: AES-256-GCM (NIST SP 800-38D)
 * with a random 96-bit IV; the replaced token's hash is bound as additional data. Output:
 * base64url(iv ‖ ciphertext ‖ tag).
 */
function sealSuccessor (replaced: string, successor: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', graceKey(replaced), iv)
  cipher.setAAD(Buffer.from(sha256(replaced), 'utf8'))
  const body = Buffer.concat([cipher.update(successor, 'utf8'), cipher.final()])
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')
}

/** Opens what sealSuccessor made; undefined when the token or the bytes do not match. */
function openSuccessor (presented: string, sealed: string): string | undefined {
  try {
    const raw = Buffer.from(sealed, 'base64url')
    if (raw.length < 12 + 16 + 1) return undefined
    const decipher = createDecipheriv('aes-256-gcm', graceKey(presented), raw.subarray(0, 12))
    decipher.setAAD(Buffer.from(sha256(presented), 'utf8'))
    decipher.setAuthTag(raw.subarray(raw.length - 16))
    return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8')
  } catch {
    return undefined
  }
}

/**
 * Refresh-token rotation, reuse detection and the grace window (API.md "Identity and tokens";
 * OAuth 2.0 Security BCP, RFC 9700 §4.14.2). Refresh tokens are opaque, stored only as SHA-256
 * hashes, and rotate on every use; rotation is one conditional UPDATE, so of concurrent refreshes
 * with one token exactly one rotates. The others, within REFRESH_REUSE_GRACE of that rotation, get
 * the very token the winner got: it is kept sealed under a key derived from the token it replaced, so
 * the database never holds it readable, and no second branch of the session ever exists.
 */
export function createRefreshTokens ({ db, clock, sessions, refreshTtl, graceSeconds }: RefreshTokensOptions) {
  const rotateStatement = preparedSql<RotatedRow>(db, 'refresh_rotate', ROTATE_SQL)
  const live = (now: Date) => and(isNull(sessionsTable.revoked_at), gt(sessionsTable.expires_at, now), gt(sessionsTable.refresh_expires_at, now))

  /**
   * The token the session's current one replaced, presented again within the window: answered with
   * the current token (recovered from its seal). The session is left as it is.
   */
  async function withinGrace (presented: string, hash: string, now: Date): Promise<RotateResult | undefined> {
    if (graceSeconds === 0) return undefined
    const [row] = await db.select({ id: sessionsTable.id, user_id: sessionsTable.user_id, amr: sessionsTable.amr, refresh_hash: sessionsTable.refresh_hash, sealed: sessionsTable.successor_sealed })
      .from(sessionsTable)
      .where(and(eq(sessionsTable.previous_hash, hash), gte(sessionsTable.rotated_at, addSeconds(now, -graceSeconds)), live(now)))
      .limit(1)
    if (!row?.sealed) return undefined
    const current = openSuccessor(presented, row.sealed)
    if (current === undefined || sha256(current) !== row.refresh_hash) return undefined
    return { kind: 'rotated', session: { id: row.id, user_id: row.user_id, amr: row.amr }, refreshToken: current, grace: true }
  }

  return {
    /**
     * Exchanges a refresh token for a new one ('rotated'). The token just replaced, within the grace
     * window, gets the current one again ('rotated' with grace: true). Any other token already rotated
     * away means theft is likely: the whole session is revoked ('reused'). Unknown, expired or revoked
     * tokens are 'invalid'.
     */
    async rotate (presented: string, meta: RequestMeta = { ip: null, userAgent: null }): Promise<RotateResult> {
      const hash = sha256(presented)
      const next = newSecret()
      const now = clock.now()
      const [row] = await rotateStatement([
        sha256(next), addSeconds(now, refreshTtl), now, graceSeconds > 0 ? hash : null, graceSeconds > 0 ? sealSuccessor(presented, next) : null, hash, newId(), meta.ip, meta.userAgent
      ])
      if (row) {
        const { rotated_session_id: id, rotated_user_id: userId, rotated_amr: amr, ...user } = row
        return { kind: 'rotated', session: { id, user_id: userId, amr }, refreshToken: next, grace: false, user: user.id === null ? undefined : user }
      }
      const graced = await withinGrace(presented, hash, now)
      if (graced) return graced
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

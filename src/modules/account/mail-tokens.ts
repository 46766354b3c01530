import { and, eq, gt, inArray, isNull, lt, or } from 'drizzle-orm'
import type { Clock } from '../../core/clock.js'
import type { Db } from '../../core/db.js'
import { newId, newSecret, sha256 } from '../../core/ids.js'
import { mailTokensTable, type MailTokenKind, type MailTokenRow } from './mail-tokens.table.js'

/** What newSecret() makes: 32 CSPRNG bytes in base64url, 43 characters. Anything else is not ours. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/

const addSeconds = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000)

/**
 * Single-use links in mails (API.md "Mail"; ASVS 5.0 6.4.1, 6.5.x): 256 bits from the CSPRNG,
 * base64url, stored only as SHA-256, expiring, used at most once. Minting a link kills the live
 * links of the same kind of that account, so only the newest mail works.
 */
export function createMailTokens ({ clock }: { clock: Clock }) {
  const t = mailTokensTable
  const live = (now: Date) => and(isNull(t.consumed_at), gt(t.expires_at, now))

  return {
    /** A new link for `userId` (kills its older live ones of `kind`); returns the token, shown only in the mail. */
    async mint (tx: Db, input: { userId: string, kind: MailTokenKind, email: string, ttlSeconds: number }): Promise<string> {
      const now = clock.now()
      await tx.update(t).set({ consumed_at: now }).where(and(eq(t.user_id, input.userId), eq(t.kind, input.kind), isNull(t.consumed_at)))
      const token = newSecret()
      await tx.insert(t).values({
        id: newId(),
        user_id: input.userId,
        kind: input.kind,
        token_hash: sha256(token),
        email: input.email,
        created_at: now,
        expires_at: addSeconds(now, input.ttlSeconds)
      })
      return token
    },

    /** The live link behind `token` among `kinds`; undefined for unknown, edited, expired or used ones. */
    async findLive (db: Db, token: string, kinds: readonly MailTokenKind[]): Promise<MailTokenRow | undefined> {
      if (!TOKEN_SHAPE.test(token)) return undefined
      const [row] = await db.select().from(t).where(and(eq(t.token_hash, sha256(token)), inArray(t.kind, [...kinds]), live(clock.now()))).limit(1)
      return row
    },

    /** Spends a link; false when another request spent it first (of concurrent uses, one wins). */
    async consume (tx: Db, id: string): Promise<boolean> {
      const rows = await tx.update(t).set({ consumed_at: clock.now() }).where(and(eq(t.id, id), live(clock.now()))).returning({ id: t.id })
      return rows.length > 0
    },

    /** Kills every live link of these kinds of an account (e.g. reset links, once the password changed). */
    async revokeAll (tx: Db, userId: string, kinds: readonly MailTokenKind[]): Promise<void> {
      await tx.update(t).set({ consumed_at: clock.now() }).where(and(eq(t.user_id, userId), inArray(t.kind, [...kinds]), isNull(t.consumed_at)))
    },

    /** Housekeeping: links used or expired more than a day ago. */
    async cleanup (db: Db, now: Date): Promise<void> {
      const dayAgo = addSeconds(now, -86400)
      await db.delete(t).where(or(lt(t.expires_at, dayAgo), lt(t.consumed_at, dayAgo)))
    }
  }
}
export type MailTokens = ReturnType<typeof createMailTokens>

import { and, count, desc, eq, gt, isNull, lt, lte, or, sql } from 'drizzle-orm'
import { prepared, type Db } from '../../core/db.js'
import { usersTable } from '../users/users.table.js'
import { personalAccessTokensTable as pats, type PersonalAccessTokenRow } from './tokens.table.js'

const live = (now: Date) => and(isNull(pats.revoked_at), gt(pats.expires_at, now))

/** The token behind a hash, with what a request needs of its owner; only live tokens of active users. */
const byHash = (db: Db, name: string) => db.select({
  id: pats.id, user_id: pats.user_id, scopes: pats.scopes, expires_at: pats.expires_at, role: usersTable.role, email: usersTable.email
}).from(pats).innerJoin(usersTable, eq(usersTable.id, pats.user_id))
  .where(and(eq(pats.token_hash, sql.placeholder('hash')), isNull(pats.revoked_at), gt(pats.expires_at, sql.placeholder('now')), eq(usersTable.is_active, true)))
  .limit(1).prepare(name)

/** SQL for personal access tokens; every function takes the executor (the db or a transaction). */
export const tokensRepository = {
  async insert (db: Db, row: typeof pats.$inferInsert): Promise<PersonalAccessTokenRow> {
    const [token] = await db.insert(pats).values(row).returning()
    if (!token) throw new Error('insert returned no row')
    return token
  },

  /**
   * Takes a transaction-scoped advisory lock on the user's tokens, so that two concurrent creations
   * cannot both pass the "50 live tokens" check. Works on PostgreSQL and PGlite alike.
   */
  async lockUser (tx: Db, userId: string): Promise<void> {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${'pat:' + userId}, 0))`)
  },

  async countLive (db: Db, userId: string, now: Date): Promise<number> {
    const [row] = await db.select({ n: count() }).from(pats).where(and(eq(pats.user_id, userId), live(now)))
    return row?.n ?? 0
  },

  async findLiveByHash (db: Db, hash: string, now: Date) {
    const [row] = await prepared(db, 'pat_by_hash', byHash).execute({ hash, now })
    return row
  },

  /** A page of a user's live tokens, newest first (time-ordered ids), keyset on id. */
  async listLive (db: Db, userId: string, now: Date, page: { limit: number, beforeId?: string | undefined }): Promise<PersonalAccessTokenRow[]> {
    return db.select().from(pats)
      .where(and(eq(pats.user_id, userId), live(now), page.beforeId ? lt(pats.id, page.beforeId) : undefined))
      .orderBy(desc(pats.id)).limit(page.limit)
  },

  /** Revokes one live token of `userId`; returns its hash, or undefined when it is not one. */
  async revoke (db: Db, userId: string, id: string, now: Date, reason: string): Promise<{ id: string, token_hash: string } | undefined> {
    const [row] = await db.update(pats).set({ revoked_at: now, revoked_reason: reason })
      .where(and(eq(pats.id, id), eq(pats.user_id, userId), live(now)))
      .returning({ id: pats.id, token_hash: pats.token_hash })
    return row
  },

  /** Revokes every live token of a user; returns their ids and hashes. */
  async revokeAll (db: Db, userId: string, now: Date, reason: string): Promise<Array<{ id: string, token_hash: string }>> {
    return db.update(pats).set({ revoked_at: now, revoked_reason: reason })
      .where(and(eq(pats.user_id, userId), live(now)))
      .returning({ id: pats.id, token_hash: pats.token_hash })
  },

  /** Records a use, unless one was recorded less than `minInterval` ms ago (by any instance). */
  async touch (db: Db, id: string, now: Date, minIntervalMs: number): Promise<void> {
    await db.update(pats).set({ last_used_at: now })
      .where(and(eq(pats.id, id), or(isNull(pats.last_used_at), lte(pats.last_used_at, new Date(now.getTime() - minIntervalMs)))))
  }
}

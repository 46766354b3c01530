import { and, count, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm'
import type { Db } from '../../core/db.js'
import { newId } from '../../core/ids.js'
import { mfaChallengesTable, mfaRecoveryCodesTable, mfaTotpTable, type MfaChallengeRow, type MfaTotpRow } from './mfa.table.js'

/** SQL of the MFA tables; every function takes the executor (the db or a transaction). */
export const mfaRepository = {
  /**
   * Stores a pending set-up, replacing an older pending one. An active factor is never replaced:
   * then nothing is written and false is returned.
   */
  async putPending (db: Db, row: { user_id: string, secret_enc: string, pending_expires_at: Date, created_at: Date }): Promise<boolean> {
    const rows = await db.insert(mfaTotpTable).values({ ...row, status: 'pending' })
      .onConflictDoUpdate({
        target: mfaTotpTable.user_id,
        set: { secret_enc: row.secret_enc, status: 'pending', pending_expires_at: row.pending_expires_at, created_at: row.created_at, last_used_step: null, activated_at: null },
        setWhere: sql`${mfaTotpTable.status} = 'pending'`
      })
      .returning({ user_id: mfaTotpTable.user_id })
    return rows.length > 0
  },

  /** The live pending set-up of a user, locked (FOR UPDATE) until the transaction ends. */
  async lockPending (tx: Db, userId: string, now: Date): Promise<MfaTotpRow | undefined> {
    const [row] = await tx.select().from(mfaTotpTable)
      .where(and(eq(mfaTotpTable.user_id, userId), eq(mfaTotpTable.status, 'pending'), gt(mfaTotpTable.pending_expires_at, now)))
      .for('update')
    return row
  },

  async activate (tx: Db, userId: string, step: number, now: Date): Promise<void> {
    await tx.update(mfaTotpTable).set({ status: 'active', activated_at: now, pending_expires_at: null, last_used_step: step })
      .where(eq(mfaTotpTable.user_id, userId))
  },

  async findActive (db: Db, userId: string): Promise<MfaTotpRow | undefined> {
    const [row] = await db.select().from(mfaTotpTable).where(and(eq(mfaTotpTable.user_id, userId), eq(mfaTotpTable.status, 'active')))
    return row
  },

  /**
   * Records `step` as the last accepted TOTP step, only if it is later than the one recorded: one
   * conditional UPDATE, so of two requests with one code exactly one gets true (RFC 6238 §5.2).
   */
  async acceptStep (db: Db, userId: string, step: number): Promise<boolean> {
    const rows = await db.update(mfaTotpTable).set({ last_used_step: step })
      .where(and(eq(mfaTotpTable.user_id, userId), eq(mfaTotpTable.status, 'active'),
        or(isNull(mfaTotpTable.last_used_step), lt(mfaTotpTable.last_used_step, step))))
      .returning({ user_id: mfaTotpTable.user_id })
    return rows.length > 0
  },

  /** Removes the factor (active or pending), the recovery codes and the open login challenges of a user. */
  async removeAll (tx: Db, userId: string): Promise<void> {
    await tx.delete(mfaTotpTable).where(eq(mfaTotpTable.user_id, userId))
    await tx.delete(mfaRecoveryCodesTable).where(eq(mfaRecoveryCodesTable.user_id, userId))
    await tx.delete(mfaChallengesTable).where(and(eq(mfaChallengesTable.user_id, userId), isNull(mfaChallengesTable.used_at)))
  },

  /** Replaces the user's recovery codes with these hashes (one row each). */
  async replaceRecoveryCodes (tx: Db, userId: string, hashes: string[], now: Date): Promise<void> {
    await tx.delete(mfaRecoveryCodesTable).where(eq(mfaRecoveryCodesTable.user_id, userId))
    await tx.insert(mfaRecoveryCodesTable).values(hashes.map(hash => ({ id: newId(), user_id: userId, code_hash: hash, created_at: now })))
  },

  /**
   * Spends the unused recovery code of `userId` whose hash is one of `hashes`: one conditional UPDATE,
   * so a code works once even under concurrent use. Returns whether one was spent.
   */
  async spendRecoveryCode (db: Db, userId: string, hashes: string[], now: Date): Promise<boolean> {
    if (hashes.length === 0) return false
    const rows = await db.update(mfaRecoveryCodesTable).set({ used_at: now })
      .where(and(eq(mfaRecoveryCodesTable.user_id, userId), inArray(mfaRecoveryCodesTable.code_hash, hashes), isNull(mfaRecoveryCodesTable.used_at)))
      .returning({ id: mfaRecoveryCodesTable.id })
    return rows.length > 0
  },

  async countUnusedRecoveryCodes (db: Db, userId: string): Promise<number> {
    const [row] = await db.select({ n: count() }).from(mfaRecoveryCodesTable)
      .where(and(eq(mfaRecoveryCodesTable.user_id, userId), isNull(mfaRecoveryCodesTable.used_at)))
    return row?.n ?? 0
  },

  async insertChallenge (db: Db, row: Omit<MfaChallengeRow, 'failed_attempts' | 'used_at'>): Promise<void> {
    await db.insert(mfaChallengesTable).values(row)
  },

  /** The live challenge behind a token hash: unused, unexpired, with attempts left. */
  async findLiveChallenge (db: Db, tokenHash: string, now: Date, maxAttempts: number): Promise<MfaChallengeRow | undefined> {
    const [row] = await db.select().from(mfaChallengesTable).where(and(
      eq(mfaChallengesTable.token_hash, tokenHash), isNull(mfaChallengesTable.used_at),
      gt(mfaChallengesTable.expires_at, now), lt(mfaChallengesTable.failed_attempts, maxAttempts)))
    return row
  },

  /**
   * Takes one of the challenge's attempts before a code is checked (counted as failed until it
   * succeeds), in one conditional UPDATE: however many codes arrive at once, at most `maxAttempts`
   * are ever checked against one challenge. False when it is used, expired or out of attempts.
   */
  async takeAttempt (db: Db, id: string, now: Date, maxAttempts: number): Promise<boolean> {
    const rows = await db.update(mfaChallengesTable).set({ failed_attempts: sql`${mfaChallengesTable.failed_attempts} + 1` })
      .where(and(eq(mfaChallengesTable.id, id), isNull(mfaChallengesTable.used_at), gt(mfaChallengesTable.expires_at, now), lt(mfaChallengesTable.failed_attempts, maxAttempts)))
      .returning({ id: mfaChallengesTable.id })
    return rows.length > 0
  },

  /** Marks the challenge used and gives back the attempt the right code took; false when another request used it first. */
  async complete (db: Db, id: string, now: Date): Promise<boolean> {
    const rows = await db.update(mfaChallengesTable).set({ used_at: now, failed_attempts: sql`${mfaChallengesTable.failed_attempts} - 1` })
      .where(and(eq(mfaChallengesTable.id, id), isNull(mfaChallengesTable.used_at)))
      .returning({ id: mfaChallengesTable.id })
    return rows.length > 0
  }
}

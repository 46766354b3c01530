import { sql } from 'drizzle-orm'
import { bigint, check, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { usersTable } from '../users/users.table.js'

export const TOTP_STATUSES = ['pending', 'active'] as const

/**
 * The account's TOTP factor: a pending set-up (600 s) or the active one. One row per account, so a new
 * set-up replaces an older pending one. The secret is stored only encrypted (core/encryption.ts).
 */
export const mfaTotpTable = pgTable('mfa_totp', {
  user_id: uuid('user_id').primaryKey().references(() => usersTable.id, { onDelete: 'cascade' }),
  /** The 160-bit secret, AES-256-GCM envelope bound to `mfa_totp:<user_id>`. */
  secret_enc: text('secret_enc').notNull(),
  status: text('status', { enum: TOTP_STATUSES }).notNull(),
  pending_expires_at: timestamp('pending_expires_at', { withTimezone: true, mode: 'date' }),
  /** The RFC 6238 time step (T) of the last accepted code: only a later step is accepted (§5.2). */
  last_used_step: bigint('last_used_step', { mode: 'number' }),
  created_at: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  activated_at: timestamp('activated_at', { withTimezone: true, mode: 'date' })
}, (t) => [check('mfa_totp_status_check', sql`${t.status} in ('pending', 'active')`)])

/** One row per recovery code: only its keyed hash (HMAC-SHA256 under a key derived from the data key). */
export const mfaRecoveryCodesTable = pgTable('mfa_recovery_codes', {
  id: uuid('id').primaryKey(),
  user_id: uuid('user_id').notNull().references(() => usersTable.id, { onDelete: 'cascade' }),
  code_hash: text('code_hash').notNull(),
  created_at: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  used_at: timestamp('used_at', { withTimezone: true, mode: 'date' })
}, (t) => [uniqueIndex('mfa_recovery_codes_user_hash_key').on(t.user_id, t.code_hash)])

/**
 * A login waiting for its second factor: the `mfa_token` (stored as a SHA-256 hash), valid 300 s,
 * single use, dead after 5 wrong codes. No session exists until it is redeemed.
 */
export const mfaChallengesTable = pgTable('mfa_challenges', {
  id: uuid('id').primaryKey(),
  token_hash: text('token_hash').notNull().unique(),
  user_id: uuid('user_id').notNull().references(() => usersTable.id, { onDelete: 'cascade' }),
  /** How the first factor was given: `password` (later `google`, `github`). */
  method: text('method').notNull(),
  created_at: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  expires_at: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  failed_attempts: integer('failed_attempts').notNull().default(0),
  used_at: timestamp('used_at', { withTimezone: true, mode: 'date' })
}, (t) => [index('mfa_challenges_user_id_idx').on(t.user_id), index('mfa_challenges_expires_at_idx').on(t.expires_at)])

export type MfaTotpRow = typeof mfaTotpTable.$inferSelect
export type MfaChallengeRow = typeof mfaChallengesTable.$inferSelect

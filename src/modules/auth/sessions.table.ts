import { sql } from 'drizzle-orm'
import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { usersTable } from '../users/users.table.js'

/** One row per login. The source of truth for revocation; the cache only mirrors it. */
export const sessionsTable = pgTable('sessions', {
  id: uuid('id').primaryKey(),
  user_id: uuid('user_id').notNull().references(() => usersTable.id, { onDelete: 'cascade' }),
  /** SHA-256 (base64url) of the one refresh token of this session that may still be used. */
  refresh_hash: text('refresh_hash').notNull().unique(),
  refresh_expires_at: timestamp('refresh_expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  created_at: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  last_used_at: timestamp('last_used_at', { withTimezone: true, mode: 'date' }).notNull(),
  /** Absolute end: login + SESSION_MAX_AGE; rotation never extends it. */
  expires_at: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  /**
   * Refresh grace (REFRESH_REUSE_GRACE): the hash of the token the current one replaced, when that
   * rotation happened, and the current token sealed (AES-256-GCM) under a key derived from the
   * replaced token, so only a holder of that token can recover it, and only within the window.
   */
  previous_hash: text('previous_hash'),
  rotated_at: timestamp('rotated_at', { withTimezone: true, mode: 'date' }),
  successor_sealed: text('successor_sealed'),
  revoked_at: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
  revoked_reason: text('revoked_reason'),
  ip: text('ip'),
  user_agent: text('user_agent'),
  /** RFC 8176 authentication methods of the login (`pwd`, or `pwd otp mfa`); every access token of the session carries them. */
  amr: text('amr').array().notNull().default(sql`'{pwd}'`)
}, (t) => [
  index('sessions_user_id_idx').on(t.user_id),
  index('sessions_previous_hash_idx').on(t.previous_hash),
  index('sessions_ended_at_idx').using('btree', sql`least(coalesce(${t.revoked_at}, 'infinity'::timestamptz), ${t.expires_at}, ${t.refresh_expires_at})`)
])

/** Hashes of refresh tokens already rotated away: presenting one again is reuse, and ends the session. */
export const spentRefreshTokensTable = pgTable('spent_refresh_tokens', {
  token_hash: text('token_hash').primaryKey(),
  session_id: uuid('session_id').notNull().references(() => sessionsTable.id, { onDelete: 'cascade' }),
  spent_at: timestamp('spent_at', { withTimezone: true, mode: 'date' }).notNull()
}, (t) => [index('spent_refresh_tokens_session_id_idx').on(t.session_id)])

export type SessionRow = typeof sessionsTable.$inferSelect

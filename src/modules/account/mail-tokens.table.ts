import { sql } from 'drizzle-orm'
import { check, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { usersTable } from '../users/users.table.js'

export const MAIL_TOKEN_KINDS = ['password_reset', 'email_verification', 'email_change'] as const
export type MailTokenKind = typeof MAIL_TOKEN_KINDS[number]

/**
 * Single-use links sent by mail. Only the SHA-256 of the 256-bit token is stored; `email` is the
 * address the link went to (the new address, for an email change).
 */
export const mailTokensTable = pgTable('mail_tokens', {
  id: uuid('id').primaryKey(),
  user_id: uuid('user_id').notNull().references(() => usersTable.id, { onDelete: 'cascade' }),
  kind: text('kind', { enum: MAIL_TOKEN_KINDS }).notNull(),
  token_hash: text('token_hash').notNull(),
  email: text('email').notNull(),
  created_at: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  expires_at: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  consumed_at: timestamp('consumed_at', { withTimezone: true, mode: 'date' })
}, (t) => [
  uniqueIndex('mail_tokens_token_hash_key').on(t.token_hash),
  index('mail_tokens_user_kind_idx').on(t.user_id, t.kind),
  index('mail_tokens_expires_at_idx').on(t.expires_at),
  check('mail_tokens_kind_check', sql`${t.kind} in ('password_reset', 'email_verification', 'email_change')`)
])

export type MailTokenRow = typeof mailTokensTable.$inferSelect

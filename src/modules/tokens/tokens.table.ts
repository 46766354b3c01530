import { sql } from 'drizzle-orm'
import { check, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import type { Scope } from '../../core/scopes.js'
import { usersTable } from '../users/users.table.js'

/**
 * Personal access tokens. The row is the source of truth for revocation; the token cache only mirrors
 * it. The token itself is never stored: `token_hash` is its SHA-256 (base64url), unique, the lookup key.
 */
export const personalAccessTokensTable = pgTable('personal_access_tokens', {
  id: uuid('id').primaryKey(),
  user_id: uuid('user_id').notNull().references(() => usersTable.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  token_hash: text('token_hash').notNull().unique(),
  /** The token's first 12 characters (`tfp_` + 8), to recognise it in lists. */
  token_prefix: text('token_prefix').notNull(),
  scopes: text('scopes').array().$type<Scope[]>().notNull(),
  created_at: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  expires_at: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  /** Kept to the minute: written at most once a minute per token. */
  last_used_at: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
  revoked_at: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
  revoked_reason: text('revoked_reason')
}, (t) => [
  index('personal_access_tokens_user_id_idx').on(t.user_id, t.id),
  check('personal_access_tokens_scopes_check', sql`cardinality(${t.scopes}) > 0 and ${t.scopes} <@ array['tasks:read', 'tasks:write', 'profile:read']::text[]`)
])

export type PersonalAccessTokenRow = typeof personalAccessTokensTable.$inferSelect

import { sql } from 'drizzle-orm'
import { check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { usersTable } from '../modules/users/users.table.js'

/**
 * Idempotency keys (draft-ietf-httpapi-idempotency-key-header), one per user and key, shared by every
 * instance. A row is `in_progress` while its first request runs and `done` once a success is kept;
 * a failed request deletes its row. Rows are kept 24 hours (`expires_at`).
 */
export const idempotencyKeysTable = pgTable('idempotency_keys', {
  user_id: uuid('user_id').notNull().references(() => usersTable.id, { onDelete: 'cascade' }),
  key: text('key').notNull(),
  /** SHA-256 of the method, route and canonical JSON body: the same key with another request is 422. */
  fingerprint: text('fingerprint').notNull(),
  state: text('state', { enum: ['in_progress', 'done'] }).notNull(),
  /** When the running request took the key; an `in_progress` row older than the lock timeout is abandoned. */
  locked_at: timestamp('locked_at', { withTimezone: true, mode: 'date' }).notNull(),
  response_status: integer('response_status'),
  response_headers: jsonb('response_headers').$type<Record<string, string>>(),
  response_body: text('response_body'),
  created_at: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  expires_at: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull()
}, (t) => [
  primaryKey({ name: 'idempotency_keys_pkey', columns: [t.user_id, t.key] }),
  index('idempotency_keys_expires_at_idx').on(t.expires_at),
  check('idempotency_keys_state_check', sql`${t.state} in ('in_progress', 'done')`)
])

export type IdempotencyKeyRow = typeof idempotencyKeysTable.$inferSelect

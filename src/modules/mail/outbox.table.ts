import { sql } from 'drizzle-orm'
import { check, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { usersTable } from '../users/users.table.js'

/** Where an outbox row stands: only `pending` rows are ever claimed by a sender. */
export const OUTBOX_STATUSES = ['pending', 'sent', 'skipped', 'failed', 'dropped', 'cancelled'] as const
export type OutboxStatus = typeof OUTBOX_STATUSES[number]

/**
 * The mail outbox: one row per mail (or per mail request, for mails whose link is made when it is
 * sent), written in the transaction of the change that causes it. Rows never hold a token: links are
 * minted by the sender at send time and only their hashes are stored (mail_tokens).
 */
export const mailOutboxTable = pgTable('mail_outbox', {
  id: uuid('id').primaryKey(),
  template: text('template').notNull(),
  user_id: uuid('user_id').references(() => usersTable.id, { onDelete: 'cascade' }),
  recipient: text('recipient').notNull(),
  data: jsonb('data').$type<Record<string, string | number | boolean | null>>().notNull().default({}),
  status: text('status', { enum: OUTBOX_STATUSES }).notNull().default('pending'),
  attempts: integer('attempts').notNull().default(0),
  next_attempt_at: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }).notNull(),
  created_at: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  sent_at: timestamp('sent_at', { withTimezone: true, mode: 'date' }),
  last_error: text('last_error')
}, (t) => [
  index('mail_outbox_due_idx').on(t.next_attempt_at).where(sql`${t.status} = 'pending'`),
  index('mail_outbox_user_template_idx').on(t.user_id, t.template, t.created_at),
  index('mail_outbox_created_at_idx').on(t.created_at),
  check('mail_outbox_status_check', sql`${t.status} in ('pending', 'sent', 'skipped', 'failed', 'dropped', 'cancelled')`)
])

export type OutboxRow = typeof mailOutboxTable.$inferSelect

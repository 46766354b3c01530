import { index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'

/** Auth and admin events. No foreign keys: the record outlives the users it names. */
export const auditEventsTable = pgTable('audit_events', {
  id: uuid('id').primaryKey(),
  type: text('type').notNull(),
  created_at: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  actor_id: uuid('actor_id'),
  user_id: uuid('user_id'),
  ip: text('ip'),
  user_agent: text('user_agent'),
  details: jsonb('details').$type<Record<string, unknown>>().notNull().default({})
}, (t) => [
  index('audit_events_type_id_idx').on(t.type, t.id),
  index('audit_events_user_id_idx').on(t.user_id, t.id),
  index('audit_events_created_at_idx').on(t.created_at)
])

export type AuditEventRow = typeof auditEventsTable.$inferSelect

import { sql } from 'drizzle-orm'
import { bigint, check, index, jsonb, pgTable, smallint, text, timestamp, uuid } from 'drizzle-orm/pg-core'

/** Auth and admin events. No foreign keys: the record outlives the users it names. */
export const auditEventsTable = pgTable('audit_events', {
  id: uuid('id').primaryKey(),
  type: text('type').notNull(),
  created_at: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  actor_id: uuid('actor_id'),
  user_id: uuid('user_id'),
  ip: text('ip'),
  user_agent: text('user_agent'),
  details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
  /** Position in the hash chain; null until the sealer has chained the event (chain.ts). */
  seq: bigint('seq', { mode: 'number' }),
  /** SHA-256 (hex) over the previous event's hash and this event's canonical content. */
  hash: text('hash')
}, (t) => [
  index('audit_events_seq_idx').on(t.seq),
  index('audit_events_unsealed_idx').on(t.created_at, t.id).where(sql`${t.seq} is null`),
  index('audit_events_type_id_idx').on(t.type, t.id),
  index('audit_events_user_id_idx').on(t.user_id, t.id),
  index('audit_events_created_at_idx').on(t.created_at)
])

export type AuditEventRow = typeof auditEventsTable.$inferSelect

/**
 * The head of the audit hash chain (one row): the last sealed event's seq and hash, and the anchor
 * the chain starts from once retention has removed the oldest events (their last seq and hash).
 */
export const auditChainTable = pgTable('audit_chain', {
  id: smallint('id').primaryKey().default(1),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  hash: text('hash').notNull(),
  anchor_seq: bigint('anchor_seq', { mode: 'number' }).notNull(),
  anchor_hash: text('anchor_hash').notNull()
}, (t) => [check('audit_chain_single_row', sql`${t.id} = 1`)])

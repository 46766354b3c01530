import { sql } from 'drizzle-orm'
import { check, index, integer, pgTable, smallint, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { sqlIn } from '../../core/sql.js'
import { usersTable } from '../users/users.table.js'

/** Task statuses and priorities: the schemas' enums and the tables' check constraints both come from these. */
export const TASK_STATUSES = ['todo', 'in_progress', 'done'] as const
export const TASK_PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const

/** Tasks; each belongs to one user and goes with them (cascade). */
export const tasksTable = pgTable('tasks', {
  id: uuid('id').primaryKey(),
  owner_id: uuid('owner_id').notNull().references(() => usersTable.id, { onDelete: 'cascade' }),
  title: text('title').notNull(),
  description: text('description'),
  status: text('status', { enum: TASK_STATUSES }).notNull().default('todo'),
  priority: text('priority', { enum: TASK_PRIORITIES }).notNull().default('medium'),
  /** low < medium < high < urgent, for sorting by priority through an index. */
  priority_rank: smallint('priority_rank').notNull().generatedAlwaysAs(sql`case priority when 'low' then 0 when 'medium' then 1 when 'high' then 2 else 3 end`),
  due_at: timestamp('due_at', { withTimezone: true, mode: 'date' }),
  tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
  /** Bumped on every change; the ETag. */
  version: integer('version').notNull().default(1),
  created_at: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  updated_at: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
  completed_at: timestamp('completed_at', { withTimezone: true, mode: 'date' })
}, (t) => [
  // One index per sort key, each led by owner_id: a page of one user's list is an index range scan.
  index('tasks_owner_created_idx').on(t.owner_id, t.created_at, t.id),
  index('tasks_owner_updated_idx').on(t.owner_id, t.updated_at, t.id),
  index('tasks_owner_priority_idx').on(t.owner_id, t.priority_rank, t.id),
  index('tasks_owner_title_idx').on(t.owner_id, t.title, t.id),
  index('tasks_owner_due_idx').on(t.owner_id, t.due_at, t.id),
  index('tasks_tags_idx').using('gin', t.tags),
  // q: case-insensitive substring search (ILIKE '%…%') on title and description (needs pg_trgm).
  index('tasks_title_trgm_idx').using('gin', sql`${t.title} gin_trgm_ops`),
  index('tasks_description_trgm_idx').using('gin', sql`${t.description} gin_trgm_ops`),
  // The admin's list across owners, newest first.
  index('tasks_created_idx').on(t.created_at, t.id),
  check('tasks_status_check', sqlIn(t.status, TASK_STATUSES)),
  check('tasks_priority_check', sqlIn(t.priority, TASK_PRIORITIES))
])

export type TaskRow = typeof tasksTable.$inferSelect
export type NewTaskRow = typeof tasksTable.$inferInsert

import { sql } from 'drizzle-orm'
import { ROLES } from '../../core/schemas.js'
import { sqlIn } from '../../core/sql.js'
import { boolean, check, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'

/** Accounts. Email and username unique case-insensitively (functional unique indexes). */
export const usersTable = pgTable('users', {
  id: uuid('id').primaryKey(),
  email: text('email').notNull(),
  username: text('username'),
  name: text('name'),
  /** Null for an account made by social sign-in: it sets a password through the reset flow. */
  password_hash: text('password_hash'),
  role: text('role', { enum: ROLES }).notNull().default('user'),
  is_active: boolean('is_active').notNull().default(true),
  email_verified: boolean('email_verified').notNull().default(false),
  mfa_enabled: boolean('mfa_enabled').notNull().default(false),
  created_at: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  updated_at: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull()
}, (t) => [
  // Case-insensitive uniqueness lives in the database, so concurrent registrations cannot both win.
  uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`),
  uniqueIndex('users_username_lower_key').on(sql`lower(${t.username})`),
  check('users_role_check', sqlIn(t.role, ROLES))
])

export type UserRow = typeof usersTable.$inferSelect
export type NewUserRow = typeof usersTable.$inferInsert

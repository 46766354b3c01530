import { sql } from 'drizzle-orm'
import { check, pgTable, smallint, text, timestamp } from 'drizzle-orm/pg-core'

/**
 * Development only: the data-encryption key generated when DATA_ENCRYPTION_KEY is not set (never in
 * production). One row, shared by every instance on this database; see core/encryption.ts.
 */
export const generatedDataKeyTable = pgTable('generated_data_key', {
  id: smallint('id').primaryKey(),
  /** 32 random bytes, base64url. */
  key: text('key').notNull(),
  created_at: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull()
}, (t) => [check('generated_data_key_single_row', sql`${t.id} = 1`)])

import { jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core'

/** Access-token signing keys (EdDSA). Shared through the database, so every instance signs and verifies alike. */
export const signingKeysTable = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  alg: text('alg').notNull(),
  public_jwk: jsonb('public_jwk').$type<Record<string, string>>().notNull(),
  private_jwk: jsonb('private_jwk').$type<Record<string, string>>().notNull(),
  created_at: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull()
})

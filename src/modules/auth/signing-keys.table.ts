import { jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core'

/** Access-token signing keys (EdDSA). Shared through the database, so every instance signs and verifies alike. */
export const signingKeysTable = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  alg: text('alg').notNull(),
  public_jwk: jsonb('public_jwk').$type<Record<string, string>>().notNull(),
  private_jwk: jsonb('private_jwk').$type<Record<string, string>>().notNull(),
  /** When the key was published (in the JWKS from then on). */
  created_at: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  /** When it starts signing: at least the JWKS cache lifetime after created_at (the first key: at once). */
  signs_from: timestamp('signs_from', { withTimezone: true, mode: 'date' }).notNull(),
  /** Withdrawn: out of the JWKS, and its tokens refused. */
  revoked_at: timestamp('revoked_at', { withTimezone: true, mode: 'date' })
})
export type SigningKeyRow = typeof signingKeysTable.$inferSelect

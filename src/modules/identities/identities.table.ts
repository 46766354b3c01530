import { check, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { sqlIn } from '../../core/sql.js'
import { usersTable } from '../users/users.table.js'

/** The providers TaskFlow can sign in with; the table's `provider` columns hold one of these. */
export const PROVIDERS = ['google', 'github'] as const
export type ProviderName = typeof PROVIDERS[number]

/**
 * A provider account linked to a TaskFlow account. The pair (provider, provider_user_id) is the only
 * thing that ever matches a sign-in to an account (never the email): unique, so one provider account
 * belongs to at most one TaskFlow account.
 */
export const userIdentitiesTable = pgTable('user_identities', {
  id: uuid('id').primaryKey(),
  user_id: uuid('user_id').notNull().references(() => usersTable.id, { onDelete: 'cascade' }),
  provider: text('provider', { enum: PROVIDERS }).notNull(),
  /** Google's `sub`, GitHub's numeric user id (as text). */
  provider_user_id: text('provider_user_id').notNull(),
  /** The provider's email when linked (for display only; never used to match). */
  email: text('email'),
  created_at: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull()
}, (t) => [
  uniqueIndex('user_identities_provider_subject_key').on(t.provider, t.provider_user_id),
  index('user_identities_user_id_idx').on(t.user_id),
  check('user_identities_provider_check', sqlIn(t.provider, PROVIDERS))
])

/**
 * One sign-in or link flow between the authorize redirect and the provider's callback (10 minutes),
 * in the database so that any instance can answer the callback. Keyed by the SHA-256 of TaskFlow's
 * own `state`; deleted when the callback consumes it (single use, one DELETE … RETURNING).
 */
export const oauthFlowsTable = pgTable('oauth_flows', {
  state_hash: text('state_hash').primaryKey(),
  provider: text('provider', { enum: PROVIDERS }).notNull(),
  /** TaskFlow's own PKCE verifier for the provider (RFC 7636); lives at most 10 minutes. */
  code_verifier: text('code_verifier').notNull(),
  /** The OIDC nonce the ID token must carry (Google); null for GitHub. */
  nonce: text('nonce'),
  /** The app's redirect_uri, code_challenge (S256) and state, handed back at the end. */
  redirect_uri: text('redirect_uri').notNull(),
  code_challenge: text('code_challenge').notNull(),
  app_state: text('app_state'),
  /** Set for a link flow: the account that started it (POST /v1/users/me/identities). */
  link_user_id: uuid('link_user_id').references(() => usersTable.id, { onDelete: 'cascade' }),
  created_at: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  expires_at: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull()
}, (t) => [index('oauth_flows_expires_at_idx').on(t.expires_at)])

/**
 * The one-time code handed to the app's redirect_uri (60 s), exchanged at the token endpoint with
 * grant_type=authorization_code. Stored as its SHA-256 only; bound to the redirect_uri and the app's
 * code_challenge (RFC 6749 §4.1.3, RFC 7636 §4.6).
 */
export const oauthCodesTable = pgTable('oauth_codes', {
  code_hash: text('code_hash').primaryKey(),
  user_id: uuid('user_id').notNull().references(() => usersTable.id, { onDelete: 'cascade' }),
  provider: text('provider', { enum: PROVIDERS }).notNull(),
  redirect_uri: text('redirect_uri').notNull(),
  code_challenge: text('code_challenge').notNull(),
  created_at: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  expires_at: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull()
}, (t) => [index('oauth_codes_expires_at_idx').on(t.expires_at)])

export type IdentityRow = typeof userIdentitiesTable.$inferSelect
export type OAuthFlowRow = typeof oauthFlowsTable.$inferSelect
export type OAuthCodeRow = typeof oauthCodesTable.$inferSelect

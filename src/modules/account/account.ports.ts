import { sql } from 'drizzle-orm'
import type { Clock } from '../../core/clock.js'
import type { Db } from '../../core/db.js'
import type { FieldError } from '../../core/errors.js'
import type { AuditService } from '../audit/index.js'
import type { Notifier, Outbox } from '../mail/index.js'
import type { UsersStore } from '../users/index.js'
import type { MailTokens } from './mail-tokens.js'

/** What the account flows need of the users module (its UsersStore port, and the 409 of a taken email). */
export type AccountUsersPort = Pick<UsersStore, 'findById' | 'findByEmail' | 'update' | 'changeEmail'> & {
  conflictFromUniqueViolation: (err: unknown) => Error | undefined
}

/** What the account flows need of auth: the password policy and hashing, and ending sessions. */
export interface AccountAuthPort {
  hashPassword: (password: string) => Promise<string>
  verifyPassword: (stored: string | null, password: string) => Promise<boolean>
  checkPolicy: (password: string, context: { email: string, username: string | null }, field: string) => FieldError | null
  /** Revokes every session of the user inside `tx`; returns their ids for markRevoked after commit. */
  revokeAllSessions: (userId: string, reason: string, tx: Db) => Promise<string[]>
  markRevoked: (sids: readonly string[]) => Promise<void>
}

export interface AccountDeps {
  db: Db
  clock: Clock
  audit: AuditService
  users: AccountUsersPort
  auth: AccountAuthPort
  tokens: MailTokens
  outbox: Outbox
  notifier: Notifier
  /** Base of every link (APP_URL), never the request's Host. */
  appUrl: string
  /** Lifetimes of the links, in seconds. */
  ttl: { reset: number, verification: number }
}

/**
 * Serialises the mail decisions of one account (caps, minting) across transactions and instances:
 * a transaction-scoped advisory lock, released at commit or rollback.
 */
export async function lockAccount (tx: Db, userId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`account:${userId}`}, 0))`)
}

import type { Counter } from 'prom-client'
import type { Actor, RequestMeta } from '../../core/actor.js'
import type { Db } from '../../core/db.js'
import { AppError, ValidationError } from '../../core/errors.js'
import { LINK_MAILS, type OutboxRow, type Prepared } from '../mail/index.js'
import { lockAccount, type AccountDeps } from './account.ports.js'

/** The outbox template of a reset-link mail; its link is minted when it is sent. */
export const RESET_TEMPLATE = 'password_reset_link'

/** At most this many reset mails per account per hour (API.md "Abuse protection"); beyond, still 202. */
const ACCOUNT_CAP = 3
const HOUR = 3600

export interface PasswordResetDeps extends AccountDeps {
  /** auth_password_reset_total{stage}: requested, completed. */
  resetTotal: Counter<'stage'>
  /**
   * Revokes every personal access token of the account inside the reset's transaction. Personal access
   * tokens do not exist yet (issue 13): wire this hook when they do. Absent → nothing to revoke.
   */
  revokePersonalAccessTokens?: (tx: Db, userId: string) => Promise<void>
}

const invalidToken = () => new ValidationError('The reset link is invalid, expired or already used: ask for a new one', [{ field: 'token', message: 'is invalid, expired or used' }], 'reset_token_invalid')

/**
 * Forgotten passwords (API.md "Mail, password reset and email verification"; ASVS 5.0 6.4.1, 6.4.3;
 * OWASP Forgot Password Cheat Sheet). A request only enqueues, the same one statement for every email,
 * so answer and timing never tell whether an account exists; the sender looks the account up, applies
 * the per-account cap and mints the link when it sends. A reset spends the link, sets the password,
 * marks the email verified, ends every session (and personal access token), keeps MFA, kills the other
 * reset links and mails a notice — all in one transaction.
 */
export function createPasswordReset (deps: PasswordResetDeps) {
  const { db, clock, audit, users, auth, tokens, outbox, notifier, appUrl, ttl, resetTotal } = deps

  return {
    /** POST /v1/auth/password/forgot: one insert whatever `email` is. */
    async requestByEmail (email: string, meta: RequestMeta): Promise<void> {
      await outbox.enqueue(db, {
        template: RESET_TEMPLATE,
        userId: null,
        recipient: email.trim().toLowerCase(),
        data: { source: 'forgot', ip: meta.ip, user_agent: meta.userAgent }
      })
      resetTotal.inc({ stage: 'requested' })
    },

    /** POST /v1/admin/users/{id}/password-reset: the same mail, sent by an admin (who never sees the link). */
    async requestByAdmin (actor: Actor, userId: string, meta: RequestMeta): Promise<void> {
      await db.transaction(async (tx) => {
        const user = await users.findById(userId, tx)
        if (!user) throw new AppError('user_not_found', { detail: 'User not found' })
        await outbox.enqueue(tx, { template: RESET_TEMPLATE, userId: user.id, recipient: user.email, data: { source: 'admin' } })
        await audit.record({ type: 'password.reset_requested', actorId: actor.userId, userId: user.id, meta, details: { by: 'admin' } }, tx)
      })
      resetTotal.inc({ stage: 'requested' })
    },

    /** The sender's preparer for RESET_TEMPLATE: decides whether the mail goes out and mints its link. */
    async prepare (tx: Db, row: OutboxRow, now: Date): Promise<Prepared> {
      const first = row.attempts === 1
      const forgot = row.data.source === 'forgot'
      const meta: RequestMeta = { ip: typeof row.data.ip === 'string' ? row.data.ip : null, userAgent: typeof row.data.user_agent === 'string' ? row.data.user_agent : null }
      const user = row.user_id ? await users.findById(row.user_id, tx) : await users.findByEmail(row.recipient, tx)
      if (!user || !user.is_active) {
        const reason = user ? 'account_disabled' : 'unknown_email'
        if (first && forgot) await audit.record({ type: 'password.reset_requested', userId: user?.id ?? null, meta, details: { sent: false, reason } }, tx)
        return { skip: reason }
      }
      await lockAccount(tx, user.id)
      if (first && forgot) {
        const recent = await outbox.recentTimes(tx, user.id, RESET_TEMPLATE, new Date(now.getTime() - HOUR * 1000), row.id)
        if (recent.length >= ACCOUNT_CAP) {
          await audit.record({ type: 'password.reset_requested', userId: user.id, meta, details: { sent: false, reason: 'account_cap' } }, tx)
          return { skip: 'account_cap' }
        }
        await outbox.assignUser(tx, row.id, user.id)
        await audit.record({ type: 'password.reset_requested', userId: user.id, meta, details: { sent: true } }, tx)
      }
      const token = await tokens.mint(tx, { userId: user.id, kind: 'password_reset', email: user.email, ttlSeconds: ttl.reset })
      return { to: user.email, ...LINK_MAILS.password_reset_link(`${appUrl}/reset-password#token=${token}`, ttl.reset) }
    },

    /**
     * POST /v1/auth/password/reset. Throws ValidationError 'reset_token_invalid' for an unknown, edited,
     * expired or used token, and 'weak_password' (the token stays usable) for a password the policy refuses.
     */
    async reset (token: string, newPassword: string, meta: RequestMeta): Promise<void> {
      const link = await tokens.findLive(db, token, ['password_reset'])
      if (!link) throw invalidToken()
      const user = await users.findById(link.user_id)
      // The link proved the address it went to: it must still be the account's, and the account active.
      if (!user || !user.is_active || user.email !== link.email) throw invalidToken()
      const weak = auth.checkPolicy(newPassword, { email: user.email, username: user.username }, 'new_password')
      if (weak) throw new ValidationError(`new_password ${weak.message}`, [weak], 'weak_password')
      const passwordHash = await auth.hashPassword(newPassword)
      const revoked = await db.transaction(async (tx) => {
        if (!await tokens.consume(tx, link.id)) throw invalidToken()
        await users.update(user.id, { password_hash: passwordHash, email_verified: true, updated_at: clock.now() }, tx)
        await tokens.revokeAll(tx, user.id, ['password_reset'])
        await outbox.cancelPending(tx, user.id, RESET_TEMPLATE)
        const sids = await auth.revokeAllSessions(user.id, 'password_reset', tx)
        await deps.revokePersonalAccessTokens?.(tx, user.id)
        await audit.record({ type: 'password.reset', userId: user.id, meta, details: { sessions_revoked: sids.length } }, tx)
        await notifier.notify(tx, user.id, 'password_reset')
        return sids
      })
      await auth.markRevoked(revoked)
      resetTotal.inc({ stage: 'completed' })
    },

    /** After any password change: outstanding reset links die, and the account is told. In the change's transaction. */
    async passwordChanged (tx: Db, userId: string): Promise<void> {
      await tokens.revokeAll(tx, userId, ['password_reset'])
      await outbox.cancelPending(tx, userId, RESET_TEMPLATE)
      await notifier.notify(tx, userId, 'password_changed')
    }
  }
}
export type PasswordReset = ReturnType<typeof createPasswordReset>

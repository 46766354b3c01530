import type { Actor, RequestMeta } from '../../core/actor.js'
import type { Db } from '../../core/db.js'
import { AppError, TooManyRequestsError } from '../../core/errors.js'
import { LINK_MAILS, type OutboxRow, type Prepared } from '../mail/index.js'
import type { UserRow } from '../users/index.js'
import { lockAccount, type AccountDeps } from './account.ports.js'

/** Outbox templates: a verification link to the account's address, and one to a new address (email change). */
export const VERIFY_TEMPLATE = 'email_verification'
export const CHANGE_TEMPLATE = 'email_change'

/** Verification resend: 1 a minute and 5 a day per user (API.md "Abuse protection"); the registration mail counts. */
const RESEND_LIMITS = [{ max: 1, windowSeconds: 60 }, { max: 5, windowSeconds: 86400 }] as const

const invalidToken = () => new AppError('verification_token_invalid', {
  detail: 'The verification link is invalid, expired or already used: ask for a new one',
  errors: [{ field: 'token', message: 'is invalid, expired or used' }]
})

/**
 * Email verification and the second half of an email change (API.md "Mail"; ASVS 5.0 6.4.1): a link
 * to the address, minted when the mail is sent, that sets `email_verified` — or, for a change, moves
 * the account to the new address — only when its token is posted to POST /v1/auth/email/verify.
 */
export function createEmailVerification (deps: AccountDeps) {
  const { db, clock, audit, users, tokens, outbox, appUrl, ttl } = deps
  const link = (token: string) => `${appUrl}/verify-email#token=${token}`

  return {
    /** At registration, in its transaction: queue the verification mail. */
    async onRegistered (tx: Db, user: UserRow): Promise<void> {
      if (!user.email_verified) await outbox.enqueue(tx, { template: VERIFY_TEMPLATE, userId: user.id, recipient: user.email })
    },

    /**
     * POST /v1/auth/email/verify/resend. Throws 409 `already_verified`, or 429 (Retry-After, RateLimit-*)
     * beyond 1 mail a minute or 5 a day.
     */
    async resend (actor: Actor, meta: RequestMeta): Promise<void> {
      const refused = await db.transaction(async (tx) => {
        await lockAccount(tx, actor.userId)
        const user = await users.findById(actor.userId, tx)
        if (!user) throw new AppError('user_not_found', { detail: 'This account no longer exists' })
        if (user.email_verified) throw new AppError('already_verified', { detail: 'This email address is already verified' })
        const now = clock.now().getTime()
        for (const { max, windowSeconds } of RESEND_LIMITS) {
          const sent = await outbox.recentTimes(tx, user.id, VERIFY_TEMPLATE, new Date(now - windowSeconds * 1000))
          const oldest = sent[sent.length - max]
          if (sent.length >= max && oldest) {
            return { max, windowSeconds, retryAfter: Math.max(1, Math.ceil((oldest.getTime() + windowSeconds * 1000 - now) / 1000)) }
          }
        }
        await outbox.enqueue(tx, { template: VERIFY_TEMPLATE, userId: user.id, recipient: user.email })
        return undefined
      })
      if (refused) {
        // After the transaction: the audit note writes on its own connection (PGlite has only one).
        await audit.note({ type: 'rate_limit.exceeded', actorId: actor.userId, userId: actor.userId, meta, details: { limit: `verify_resend_${refused.windowSeconds}s`, route: 'verify_resend' } })
        throw new TooManyRequestsError('Too many verification mails: try again later', refused.retryAfter, { limit: refused.max, remaining: 0, resetSeconds: refused.retryAfter })
      }
    },

    /** The sender's preparer for VERIFY_TEMPLATE: nothing when the address is verified or changed meanwhile. */
    async prepareVerification (tx: Db, row: OutboxRow): Promise<Prepared> {
      const user = row.user_id ? await users.findById(row.user_id, tx) : undefined
      if (!user) return { skip: 'no_account' }
      if (user.email_verified) return { skip: 'already_verified' }
      if (user.email !== row.recipient) return { skip: 'email_changed' }
      await lockAccount(tx, user.id)
      const token = await tokens.mint(tx, { userId: user.id, kind: 'email_verification', email: user.email, ttlSeconds: ttl.verification })
      return { to: user.email, ...LINK_MAILS.email_verification(link(token), ttl.verification) }
    },

    /** The sender's preparer for CHANGE_TEMPLATE: the link goes to the new address. */
    async prepareChange (tx: Db, row: OutboxRow): Promise<Prepared> {
      const user = row.user_id ? await users.findById(row.user_id, tx) : undefined
      if (!user) return { skip: 'no_account' }
      await lockAccount(tx, user.id)
      const token = await tokens.mint(tx, { userId: user.id, kind: 'email_change', email: row.recipient, ttlSeconds: ttl.verification })
      return { to: row.recipient, ...LINK_MAILS.email_change(link(token), ttl.verification) }
    },

    /**
     * POST /v1/auth/email/verify: a verification link marks the address verified; an email-change link
     * moves the account to its address (then verified). Throws 400 `verification_token_invalid` for an
     * unknown, edited, expired or used token (or an address that changed since), 409 `email_taken` when
     * the new address was taken meanwhile (the link stays usable). Sessions stay.
     */
    async verify (token: string, meta: RequestMeta): Promise<UserRow> {
      const found = await tokens.findLive(db, token, ['email_verification', 'email_change'])
      if (!found) throw invalidToken()
      if (found.kind === 'email_change') {
        const holder = await users.findByEmail(found.email)
        if (holder && holder.id !== found.user_id) throw new AppError('email_taken', { detail: 'An account with that email already exists' })
      }
      try {
        return await db.transaction(async (tx) => {
          const user = await users.findById(found.user_id, tx)
          if (!user || !await tokens.consume(tx, found.id)) throw invalidToken()
          if (found.kind === 'email_verification') {
            if (user.email !== found.email) throw invalidToken()
            const verified = user.email_verified ? user : await users.update(user.id, { email_verified: true, updated_at: clock.now() }, tx)
            if (!verified) throw invalidToken()
            await audit.record({ type: 'email.verified', userId: user.id, meta }, tx)
            return verified
          }
          const changed = await users.changeEmail(user.id, found.email, clock.now(), tx)
          if (!changed) throw invalidToken()
          // Links to the old address (verification, reset) and other change links stop working.
          await tokens.revokeAll(tx, user.id, ['email_verification', 'email_change', 'password_reset'])
          await outbox.cancelPending(tx, user.id, VERIFY_TEMPLATE)
          await outbox.cancelPending(tx, user.id, CHANGE_TEMPLATE)
          await audit.record({ type: 'email.changed', userId: user.id, meta, details: { from: user.email, to: found.email } }, tx)
          return changed
        })
      } catch (err) {
        throw users.conflictFromUniqueViolation(err) ?? err
      }
    }
  }
}
export type EmailVerification = ReturnType<typeof createEmailVerification>

import type { Actor, RequestMeta } from '../../core/actor.js'
import { AppError, ValidationError } from '../../core/errors.js'
import { lockAccount, type AccountDeps } from './account.ports.js'
import { CHANGE_TEMPLATE } from './email-verification.js'

/**
 * The first half of an email change (API.md "Users": POST /v1/users/me/email; ASVS 5.0 7.5.1): with
 * the current password, a link goes to the new address and a notice to the old one. Nothing changes
 * until the link's token is posted to /v1/auth/email/verify (see email-verification.ts). A newer
 * request withdraws the older one's unsent mail, and its link kills the older link.
 */
export function createEmailChange (deps: AccountDeps) {
  const { db, audit, users, auth, outbox, notifier } = deps

  return {
    /** Throws 400 `wrong_password`, 400 for the account's own address, 409 `email_taken`. */
    async request (actor: Actor, newEmail: string, currentPassword: string, meta: RequestMeta): Promise<void> {
      const user = await users.findById(actor.userId)
      if (!user) throw new AppError('user_not_found', { detail: 'This account no longer exists' })
      if (!await auth.verifyPassword(user.password_hash, currentPassword)) {
        throw new ValidationError('current_password is incorrect', [{ field: 'current_password', message: 'is incorrect' }], 'wrong_password')
      }
      const email = newEmail.trim().toLowerCase()
      if (email === user.email) throw new ValidationError('new_email is already the address of this account', [{ field: 'new_email', message: 'is the current address' }])
      if (await users.findByEmail(email)) throw new AppError('email_taken', { detail: 'An account with that email already exists' })
      await db.transaction(async (tx) => {
        await lockAccount(tx, user.id)
        await outbox.cancelPending(tx, user.id, CHANGE_TEMPLATE)
        await outbox.enqueue(tx, { template: CHANGE_TEMPLATE, userId: user.id, recipient: email })
        await notifier.notify(tx, user.id, 'email_change_requested', { new_email: email })
        await audit.record({ type: 'email.change_requested', actorId: user.id, userId: user.id, meta, details: { to: email } }, tx)
      })
    }
  }
}
export type EmailChange = ReturnType<typeof createEmailChange>

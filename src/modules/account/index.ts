import type { FastifyPluginAsync } from 'fastify'
import type { Counter } from 'prom-client'
import { Counter as PromCounter, type Registry } from 'prom-client'
import type { Db } from '../../core/db.js'
import { accountAdminRoutes, accountAuthRoutes, accountUserRoutes, type AccountRoutesOptions } from './account.routes.js'
import { createEmailChange } from './email-change.js'
import { CHANGE_TEMPLATE, createEmailVerification, VERIFY_TEMPLATE } from './email-verification.js'
import type { AccountDeps } from './account.ports.js'
import { createMailTokens } from './mail-tokens.js'
import { createPasswordReset, RESET_TEMPLATE } from './password-reset.js'
import { pagesRoutes } from './pages.routes.js'
import type { Mail } from '../mail/index.js'

export type { AccountUsersPort, AccountAuthPort } from './account.ports.js'
export { RESET_TEMPLATE } from './password-reset.js'
export { accountComponents } from './account.schemas.js'
export { createForgotLimit } from './rate-limits.js'
export { VERIFY_TEMPLATE, CHANGE_TEMPLATE } from './email-verification.js'

export interface AccountModuleDeps extends Omit<AccountDeps, 'tokens' | 'outbox' | 'notifier'> {
  mail: Mail
  registry: Registry
  revokePersonalAccessTokens?: (tx: Db, userId: string) => Promise<void>
}

/**
 * Account recovery and verification: password reset, email verification and email change, all
 * through mails with single-use links. Registers its link preparers with the mail sender.
 */
export function createAccount (deps: AccountModuleDeps) {
  const tokens = createMailTokens({ clock: deps.clock })
  const resetTotal: Counter<'stage'> = new PromCounter({ name: 'auth_password_reset_total', help: 'Password resets by stage (requested, completed)', labelNames: ['stage'] as const, registers: [deps.registry] })
  const base: AccountDeps = { ...deps, tokens, outbox: deps.mail.outbox, notifier: deps.mail.notifier }
  const reset = createPasswordReset({ ...base, resetTotal, ...(deps.revokePersonalAccessTokens ? { revokePersonalAccessTokens: deps.revokePersonalAccessTokens } : {}) })
  const verification = createEmailVerification(base)
  const emailChange = createEmailChange(base)
  deps.mail.sender.use(RESET_TEMPLATE, reset.prepare)
  deps.mail.sender.use(VERIFY_TEMPLATE, verification.prepareVerification)
  deps.mail.sender.use(CHANGE_TEMPLATE, verification.prepareChange)
  deps.mail.sender.addHousekeeping(tokens.cleanup)
  return {
    reset,
    verification,
    emailChange,
    /** For auth: queues the verification mail in the registration's transaction. */
    onRegistered: verification.onRegistered,
    /** For the users module: a password change kills reset links and mails a notice (in its transaction). */
    passwordChanged: reset.passwordChanged
  }
}
export type Account = ReturnType<typeof createAccount>

/** Mounts the account routes under their prefixes: /v1/auth, /v1/users, /v1/admin. */
export const accountModule: FastifyPluginAsync<Pick<AccountRoutesOptions, 'authenticate' | 'forgotLimit'> & { account: Account }> = async (app, { account, authenticate, forgotLimit }) => {
  const options = { reset: account.reset, verification: account.verification, emailChange: account.emailChange, authenticate, forgotLimit }
  await app.register(accountAuthRoutes, { prefix: '/v1/auth', ...options })
  await app.register(accountUserRoutes, { prefix: '/v1/users', ...options })
  await app.register(accountAdminRoutes, { prefix: '/v1/admin', ...options })
  await app.register(pagesRoutes)
}

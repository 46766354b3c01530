import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { onRequestHookHandler } from 'fastify'
import { principal } from '../../core/http/authenticate.js'
import { bearerSecurity as security, rateLimited } from '../../core/http/openapi.js'
import { requestMeta } from '../../core/http/request-meta.js'
import { IdParams, NoContent, Problem } from '../../core/schemas.js'
import { UserView } from '../users/index.js'
import { Accepted, ChangeEmailBody, FORGOT_ACCEPTED, ForgotBody, ResetBody, VerifyBody } from './account.schemas.js'
import type { EmailChange } from './email-change.js'
import type { EmailVerification } from './email-verification.js'
import type { PasswordReset } from './password-reset.js'

export interface AccountRoutesOptions {
  reset: PasswordReset
  verification: EmailVerification
  emailChange: EmailChange
  authenticate: onRequestHookHandler
  /** Per-IP limit of the forgot-password route (a no-op when rate limits are off). */
  forgotLimit: onRequestHookHandler
}

/** Under /v1/auth: forgot and reset password, verify an email address, resend the verification mail. */
export const accountAuthRoutes: FastifyPluginAsyncTypebox<AccountRoutesOptions> = async (app, { reset, verification, authenticate, forgotLimit }) => {
  app.post('/password/forgot', {
    onRequest: forgotLimit,
    schema: { tags: ['auth'], operationId: 'requestPasswordReset', summary: 'Ask for a password-reset mail (the same answer for every email)', ...rateLimited, body: ForgotBody, response: { 202: Accepted, 400: Problem, 415: Problem, 429: Problem } }
  }, async (req, reply) => {
    await reset.requestByEmail(req.body.email, requestMeta(req))
    return reply.code(202).send(FORGOT_ACCEPTED)
  })

  app.post('/password/reset', {
    schema: { tags: ['auth'], operationId: 'resetPassword', summary: 'Set a new password with the token from a reset mail (ends every session)', body: ResetBody, response: { 204: NoContent, 400: Problem, 415: Problem } }
  }, async (req, reply) => {
    await reset.reset(req.body.token, req.body.new_password, requestMeta(req))
    return reply.code(204).send(null)
  })

  app.post('/email/verify', {
    schema: { tags: ['auth'], operationId: 'verifyEmail', summary: 'Verify an email address (or confirm an email change) with the token from the mail', body: VerifyBody, response: { 200: UserView, 400: Problem, 409: Problem, 415: Problem } }
  }, async (req) => verification.verify(req.body.token, requestMeta(req)))

  await app.register(async (instance) => {
    const bearer = instance.withTypeProvider<TypeBoxTypeProvider>()
    bearer.addHook('onRequest', authenticate)
    bearer.post('/email/verify/resend', {
      schema: { tags: ['auth'], operationId: 'resendVerificationEmail', summary: 'Send a new verification mail (1 a minute, 5 a day)', security, response: { 202: Accepted, 401: Problem, 409: Problem, 429: Problem } }
    }, async (req, reply) => {
      await verification.resend(principal(req), requestMeta(req))
      return reply.code(202).send({ message: 'A new verification mail is on its way.' })
    })
  })
}

/** Under /v1/users: ask to change the account's email address. */
export const accountUserRoutes: FastifyPluginAsyncTypebox<AccountRoutesOptions> = async (app, { emailChange, authenticate }) => {
  app.addHook('onRequest', authenticate)
  app.post('/me/email', {
    schema: { tags: ['users'], operationId: 'changeEmail', summary: 'Change the email address: a link goes to the new one, a notice to the old one', security, body: ChangeEmailBody, response: { 202: Accepted, 400: Problem, 401: Problem, 409: Problem, 415: Problem } }
  }, async (req, reply) => {
    await emailChange.request(principal(req), req.body.new_email, req.body.current_password, requestMeta(req))
    return reply.code(202).send({ message: 'A confirmation link is on its way to the new address; the email changes once it is used.' })
  })
}

/** Under /v1/admin: an admin sends a user the password-reset mail. */
export const accountAdminRoutes: FastifyPluginAsyncTypebox<AccountRoutesOptions> = async (app, { reset, authenticate }) => {
  app.addHook('onRequest', authenticate)
  app.post('/users/:id/password-reset', {
    config: { auth: { role: 'admin' } },
    schema: { tags: ['admin'], operationId: 'sendUserPasswordReset', summary: 'Send a user the password-reset mail (the admin never sees the link)', security, params: IdParams, response: { 202: Accepted, 400: Problem, 401: Problem, 403: Problem, 404: Problem } }
  }, async (req, reply) => {
    await reset.requestByAdmin(principal(req), req.params.id, requestMeta(req))
    return reply.code(202).send({ message: 'A password-reset mail is on its way to the user.' })
  })
}

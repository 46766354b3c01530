import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { onRequestHookHandler } from 'fastify'
import { principal } from '../../core/http/authenticate.js'
import { requireRole } from '../../core/http/authorize.js'
import { bearerSecurity as security } from '../../core/http/openapi.js'
import { requestMeta } from '../../core/http/request-meta.js'
import { IdParams, NoContent, Problem } from '../../core/schemas.js'
import { Accepted, FORGOT_ACCEPTED, ForgotBody, ResetBody } from './account.schemas.js'
import type { PasswordReset } from './password-reset.js'

export interface AccountRoutesOptions {
  reset: PasswordReset
  authenticate: onRequestHookHandler
  /** Per-IP limit of the forgot-password route (a no-op when rate limits are off). */
  forgotLimit: onRequestHookHandler
}

/** Under /v1/auth: forgot and reset password. */
export const accountAuthRoutes: FastifyPluginAsyncTypebox<AccountRoutesOptions> = async (app, { reset, forgotLimit }) => {
  app.post('/password/forgot', {
    onRequest: forgotLimit,
    schema: { tags: ['auth'], summary: 'Ask for a password-reset mail (the same answer for every email)', body: ForgotBody, response: { 202: Accepted, 400: Problem, 415: Problem, 429: Problem } }
  }, async (req, reply) => {
    await reset.requestByEmail(req.body.email, requestMeta(req))
    return reply.code(202).send(FORGOT_ACCEPTED)
  })

  app.post('/password/reset', {
    schema: { tags: ['auth'], summary: 'Set a new password with the token from a reset mail (ends every session)', body: ResetBody, response: { 204: NoContent, 400: Problem, 415: Problem } }
  }, async (req, reply) => {
    await reset.reset(req.body.token, req.body.new_password, requestMeta(req))
    return reply.code(204).send(null)
  })
}

/** Under /v1/admin: an admin sends a user the password-reset mail. */
export const accountAdminRoutes: FastifyPluginAsyncTypebox<AccountRoutesOptions> = async (app, { reset, authenticate }) => {
  app.addHook('onRequest', authenticate)
  app.addHook('preHandler', requireRole('admin'))
  app.post('/users/:id/password-reset', {
    schema: { tags: ['admin'], summary: 'Send a user the password-reset mail (the admin never sees the link)', security, params: IdParams, response: { 202: Accepted, 400: Problem, 401: Problem, 403: Problem, 404: Problem } }
  }, async (req, reply) => {
    await reset.requestByAdmin(principal(req), req.params.id, requestMeta(req))
    return reply.code(202).send({ message: 'A password-reset mail is on its way to the user.' })
  })
}

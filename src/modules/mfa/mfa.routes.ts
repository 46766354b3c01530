import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principal } from '../../core/http/authenticate.js'
import { bearerSecurity as security } from '../../core/http/openapi.js'
import { requestMeta } from '../../core/http/request-meta.js'
import { NoContent, Problem } from '../../core/schemas.js'
import { ActivateBody, ConfirmBody, RecoveryCodesView, SetupBody, SetupView } from './mfa.schemas.js'
import type { MfaService } from './mfa.service.js'

const errors = { 400: Problem, 401: Problem, 415: Problem, 429: Problem }

/** The signed-in user's own second factor, under /v1/users/me: /mfa… (API.md "Users"). */
export const mfaRoutes: FastifyPluginAsyncTypebox<{ mfa: MfaService }> = async (app, { mfa }) => {
  app.post('/mfa/totp', {
    schema: { tags: ['users'], operationId: 'startTotpSetup', summary: 'Start a TOTP set-up (a pending secret for 600 s)', security, body: SetupBody, response: { 200: SetupView, ...errors, 409: Problem } }
  }, async (req) => mfa.startSetup(principal(req), req.body.current_password))

  app.post('/mfa/totp/activate', {
    schema: { tags: ['users'], operationId: 'activateTotp', summary: 'Turn MFA on with a code of the pending secret (ends every other session)', security, body: ActivateBody, response: { 200: RecoveryCodesView, ...errors } }
  }, async (req) => mfa.activate(principal(req), req.body.code, requestMeta(req)))

  app.post('/mfa/recovery-codes', {
    schema: { tags: ['users'], operationId: 'regenerateRecoveryCodes', summary: 'Replace the recovery codes with a new set', security, body: ConfirmBody, response: { 200: RecoveryCodesView, ...errors, 409: Problem } }
  }, async (req) => mfa.regenerateRecoveryCodes(principal(req), req.body.current_password, req.body.code, requestMeta(req)))

  app.delete('/mfa', {
    schema: { tags: ['users'], operationId: 'disableMfa', summary: 'Turn MFA off', security, body: ConfirmBody, response: { 204: NoContent, ...errors, 409: Problem } }
  }, async (req, reply) => {
    await mfa.disable(principal(req), req.body.current_password, req.body.code, requestMeta(req))
    return reply.code(204).send(null)
  })
}

import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify'
import { mfaRoutes } from './mfa.routes.js'
import type { MfaService } from './mfa.service.js'

export {
  createMfaService, AMR_MFA, AMR_PASSWORD, type MfaService, type MfaChallenge, type MfaPassed, type MfaProof
} from './mfa.service.js'
export { mfaCleanupRules } from './mfa.cleanup.js'
export { MfaRequiredOAuth, MfaRequiredProblem, VerifyBody, mfaComponents } from './mfa.schemas.js'
import { mfaErrors } from './mfa.errors.js'
/** The 403 `mfa_required` answer to a right first factor (API.md), carrying the challenge's members. */
export const mfaRequired = mfaErrors.required

/** /v1/users/me/mfa… (registered at /v1/users/me): every route needs a valid access token. */
export const mfaModule: FastifyPluginAsync<{ mfa: MfaService, authenticate: onRequestHookHandler }> = async (app, { mfa, authenticate }) => {
  app.addHook('onRequest', authenticate)
  await app.register(mfaRoutes, { mfa })
}

import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { onRequestHookHandler } from 'fastify'
import { AppError } from '../../core/errors.js'
import { rateLimited } from '../../core/http/openapi.js'
import type { RequestMeta } from '../../core/actor.js'
import { requestMeta } from '../../core/http/request-meta.js'
import { textProblem } from '../../core/http/validation.js'
import { OAuthErrorBody, Problem } from '../../core/schemas.js'
import { OAuthTokenResponse, TokenForm } from './auth.schemas.js'
import { MfaRequiredOAuth } from '../mfa/index.js'
import type { AuthService, TokenPair } from './auth.service.js'

/** RFC 6749 §5.2 `invalid_request` (the catalogue maps `validation_failed` to it on this route). */
const invalidRequest = (detail: string) => new AppError('validation_failed', { detail })

/** The second step of a password grant whose account has MFA on (API.md). */
export const MFA_OTP_GRANT = 'urn:taskflow:params:oauth:grant-type:mfa-otp'

const FORM = /^application\/x-www-form-urlencoded\s*(;|$)/i

/**
 * Grants that are not a password attempt, so they do not spend the login budget (API.md, Abuse
 * protection: login and the *password grant* share it). Anything else — the password grant, an
 * unknown, missing or repeated grant_type — spends it.
 */
const NOT_PASSWORD_ATTEMPTS: ReadonlySet<unknown> = new Set(['refresh_token', 'authorization_code', MFA_OTP_GRANT])

/** Reads one form parameter: a repeated one is invalid_request (RFC 6749 §3.2), an empty one counts as missing. */
function param (form: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const value = form[name]
  if (Array.isArray(value)) throw invalidRequest(`Parameter ${name} is repeated`)
  if (typeof value === 'string' && value !== '') {
    // The validator's text rule (NUL, unpaired surrogates), as RFC 6749 errors: this route validates by hand.
    const problem = textProblem(value)
    if (problem) throw invalidRequest(`Parameter ${name} ${problem}`)
    return value
  }
  if (required) throw invalidRequest(`Parameter ${name} is required`)
  return undefined
}

/** The authorization_code grant of social sign-in (RFC 6749 §4.1.3, RFC 7636 §4.6); absent: unsupported. */
export type AuthorizationCodeGrant = (input: { code: string, redirectUri: string, codeVerifier: string }, meta: RequestMeta) => Promise<TokenPair>

const oauthPair = (pair: TokenPair) => ({ access_token: pair.access_token, token_type: pair.token_type, expires_in: pair.expires_in, refresh_token: pair.refresh_token })

/**
 * The OAuth2 token endpoint (RFC 6749): the password grant for first-party public clients, the
 * refresh_token grant, social sign-in's authorization_code grant and the MFA second step. Client credentials are accepted and ignored. Errors are AppErrors like everywhere else; `config.oauthErrors`
 * makes the error handler write them as RFC 6749 §5.2 `{error, error_description}` (see the catalogue's `oauth` column).
 */
export const tokenRoutes: FastifyPluginAsyncTypebox<{ auth: AuthService, rateLimit: onRequestHookHandler, authorizationCode?: AuthorizationCodeGrant | undefined }> = async (app, { auth, rateLimit, authorizationCode }) => {
  await app.register(formbody, { bodyLimit: 1024 * 1024 })

  app.post('/token', {
    config: { oauthErrors: true },
    // Once the form is parsed (so the grant is known) and before anything else runs.
    preValidation: function passwordAttemptsOnly (req, reply, done) {
      const grant = (req.body as Record<string, unknown> | null | undefined)?.grant_type
      if (NOT_PASSWORD_ATTEMPTS.has(grant)) { done(); return }
      return rateLimit.call(this, req, reply, done)
    },
    schema: {
      tags: ['auth'],
      operationId: 'issueToken',
      summary: 'OAuth2 token endpoint (password, refresh_token, authorization_code and mfa-otp grants)',
      ...rateLimited,
      consumes: ['application/x-www-form-urlencoded'],
      body: TokenForm,
      response: { 200: OAuthTokenResponse, 400: OAuthErrorBody, 403: MfaRequiredOAuth, 429: Problem }
    },
    // The body is checked by hand below, so that every failure is an RFC 6749 error.
    validatorCompiler: () => () => true
  }, async (req, reply) => {
    if (!FORM.test(req.headers['content-type'] ?? '') || typeof req.body !== 'object' || req.body === null) {
      throw invalidRequest('The body must be application/x-www-form-urlencoded')
    }
    const form = req.body as Record<string, unknown>
    const grant = param(form, 'grant_type', true)
    let pair: TokenPair
    if (grant === 'password') {
      const username = param(form, 'username', true) ?? ''
      const password = param(form, 'password', true) ?? ''
      if (username.length > 254 || password.length > 512) throw invalidRequest('Parameter too long')
      pair = await auth.login(username, password, requestMeta(req), 'token')
    } else if (grant === 'refresh_token') {
      const refreshToken = param(form, 'refresh_token', true) ?? ''
      if (refreshToken.length > 4096) throw new AppError('refresh_token_invalid')
      pair = await auth.refresh(refreshToken, requestMeta(req))
    } else if (grant === MFA_OTP_GRANT) {
      const mfaToken = param(form, 'mfa_token', true) ?? ''
      const otp = param(form, 'otp', false)
      const recoveryCode = param(form, 'recovery_code', false)
      if ((otp === undefined) === (recoveryCode === undefined)) throw invalidRequest('Send exactly one of otp or recovery_code')
      if (mfaToken.length > 512) throw new AppError('mfa_token_invalid')
      if ((otp ?? recoveryCode ?? '').length > 64) throw new AppError('mfa_code_invalid')
      // Wrong or replayed codes and dead tokens are invalid_grant through the catalogue.
      pair = await auth.verifyMfa(mfaToken, otp !== undefined ? { kind: 'totp', code: otp } : { kind: 'recovery_code', code: recoveryCode ?? '' }, requestMeta(req), 'token')
    } else if (grant === 'authorization_code' && authorizationCode) {
      const code = param(form, 'code', true) ?? ''
      const redirectUri = param(form, 'redirect_uri', true) ?? ''
      const codeVerifier = param(form, 'code_verifier', true) ?? ''
      if (redirectUri.length > 2048 || codeVerifier.length > 256) throw new AppError('authorization_code_invalid')
      // A used, expired or foreign code, another redirect_uri or a wrong verifier: invalid_grant; MFA on: 403 mfa_required.
      pair = await authorizationCode({ code, redirectUri, codeVerifier }, requestMeta(req))
    } else {
      throw new AppError('unsupported_grant_type', { detail: 'Only the password, refresh_token, authorization_code and mfa-otp grants are supported' })
    }
    return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(oauthPair(pair))
  })
}

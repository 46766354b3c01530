import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { onRequestHookHandler } from 'fastify'
import { AppError } from '../../core/errors.js'
import { requestMeta } from '../../core/http/request-meta.js'
import { OAuthErrorBody, Problem } from '../../core/schemas.js'
import { OAuthTokenResponse, TokenForm } from './auth.schemas.js'
import type { AuthService, TokenPair } from './auth.service.js'

/** RFC 6749 §5.2 `invalid_request` (the catalogue maps `validation_failed` to it on this route). */
const invalidRequest = (detail: string) => new AppError('validation_failed', { detail })

const FORM = /^application\/x-www-form-urlencoded\s*(;|$)/i

/** Reads one form parameter: a repeated one is invalid_request (RFC 6749 §3.2), an empty one counts as missing. */
function param (form: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const value = form[name]
  if (Array.isArray(value)) throw invalidRequest(`Parameter ${name} is repeated`)
  if (typeof value === 'string' && value !== '') return value
  if (required) throw invalidRequest(`Parameter ${name} is required`)
  return undefined
}

const oauthPair = (pair: TokenPair) => ({ access_token: pair.access_token, token_type: pair.token_type, expires_in: pair.expires_in, refresh_token: pair.refresh_token })

/**
 * The OAuth2 token endpoint (RFC 6749): the password grant for first-party public clients and the
 * refresh_token grant. Client credentials are accepted and ignored. Errors are AppErrors like everywhere else; `config.oauthErrors`
 * makes the error handler write them as RFC 6749 §5.2 `{error, error_description}` (see the catalogue's `oauth` column).
 */
export const tokenRoutes: FastifyPluginAsyncTypebox<{ auth: AuthService, rateLimit: onRequestHookHandler }> = async (app, { auth, rateLimit }) => {
  await app.register(formbody, { bodyLimit: 1024 * 1024 })

  app.post('/token', {
    config: { oauthErrors: true },
    onRequest: rateLimit,
    schema: {
      tags: ['auth'],
      summary: 'OAuth2 token endpoint (password and refresh_token grants)',
      consumes: ['application/x-www-form-urlencoded'],
      body: TokenForm,
      response: { 200: OAuthTokenResponse, 400: OAuthErrorBody, 429: Problem }
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
    } else {
      throw new AppError('unsupported_grant_type', { detail: 'Only the password and refresh_token grants are supported' })
    }
    return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(oauthPair(pair))
  })
}

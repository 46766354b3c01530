import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { onRequestHookHandler } from 'fastify'
import type { AuthRateLimits } from './rate-limits.js'
import { ValidationError } from '../../core/errors.js'
import { principal } from '../../core/http/authenticate.js'
import { bearerSecurity as security, rateLimited } from '../../core/http/openapi.js'
import { requestMeta } from '../../core/http/request-meta.js'
import { NoContent as noContent, Problem } from '../../core/schemas.js'
import type { AuthService } from './auth.service.js'
import { LoginBody, RefreshBody, RegisterBody, RegisterResponse, SessionList, SessionParams, TokenResponse } from './auth.schemas.js'
import { MfaRequiredProblem, VerifyBody } from '../mfa/index.js'

/** `/v1/auth` JSON routes: register, login, refresh (public, rate-limited) and the session routes (Bearer). */
export const authRoutes: FastifyPluginAsyncTypebox<{ auth: AuthService, authenticate: onRequestHookHandler, rateLimits: AuthRateLimits }> = async (app, { auth, authenticate, rateLimits }) => {
  app.post('/register', {
    onRequest: rateLimits.register,
    schema: { tags: ['auth'], operationId: 'register', summary: 'Create an account and log in (with REQUIRE_EMAIL_VERIFICATION: only the user, no tokens)', ...rateLimited, body: RegisterBody, response: { 201: RegisterResponse, 400: Problem, 409: Problem, 415: Problem, 429: Problem } }
  }, async (req, reply) => reply.code(201).send(await auth.register(req.body, requestMeta(req))))

  app.post('/login', {
    onRequest: rateLimits.login,
    schema: { tags: ['auth'], operationId: 'login', summary: 'Log in with email or username and password', ...rateLimited, body: LoginBody, response: { 200: TokenResponse, 400: Problem, 401: Problem, 403: MfaRequiredProblem, 429: Problem } }
  }, async (req) => {
    const { email, username, password } = req.body
    const identifier = email ?? username
    if (identifier === undefined || (email !== undefined && username !== undefined)) {
      throw new ValidationError('Send exactly one of email or username', [{ field: 'email', message: 'exactly one of email or username is required' }])
    }
    return auth.login(identifier, password, requestMeta(req), 'login')
  })

  app.post('/mfa/verify', {
    schema: { tags: ['auth'], operationId: 'verifyMfa', summary: 'Finish a login with its second factor (a TOTP code or a recovery code)', body: VerifyBody, response: { 200: TokenResponse, 400: Problem, 401: Problem, 403: Problem, 429: Problem } }
  }, async (req) => {
    const { mfa_token: mfaToken, code, recovery_code: recoveryCode } = req.body
    if ((code === undefined) === (recoveryCode === undefined)) {
      throw new ValidationError('Send exactly one of code or recovery_code', [{ field: 'code', message: 'exactly one of code or recovery_code is required' }])
    }
    const proof = code !== undefined ? { kind: 'totp' as const, code } : { kind: 'recovery_code' as const, code: recoveryCode ?? '' }
    return auth.verifyMfa(mfaToken, proof, requestMeta(req), 'login')
  })

  app.post('/refresh', {
    schema: { tags: ['auth'], operationId: 'refreshTokens', summary: 'Exchange a refresh token for a new pair (the old one is spent)', body: RefreshBody, response: { 200: TokenResponse, 400: Problem, 401: Problem } }
  }, async (req) => auth.refresh(req.body.refresh_token, requestMeta(req)))

  await app.register(async (instance) => {
    const protectedRoutes = instance.withTypeProvider<TypeBoxTypeProvider>()
    protectedRoutes.addHook('onRequest', authenticate)

    protectedRoutes.post('/logout', {
      schema: { tags: ['auth'], operationId: 'logout', summary: 'End this session', security, response: { 204: noContent, 401: Problem } }
    }, async (req, reply) => {
      await auth.logout(principal(req), requestMeta(req))
      return reply.code(204).send(null)
    })

    protectedRoutes.post('/logout-all', {
      schema: { tags: ['auth'], operationId: 'logoutAll', summary: 'End every session of the user', security, response: { 204: noContent, 401: Problem } }
    }, async (req, reply) => {
      await auth.logoutAll(principal(req), requestMeta(req))
      return reply.code(204).send(null)
    })

    protectedRoutes.get('/sessions', {
      schema: { tags: ['auth'], operationId: 'listSessions', summary: 'The live sessions of the user', security, response: { 200: SessionList, 401: Problem } }
    }, async (req) => ({ data: await auth.listSessions(principal(req)) }))

    protectedRoutes.delete('/sessions/:id', {
      schema: { tags: ['auth'], operationId: 'revokeSession', summary: 'End one of the user\'s sessions', security, params: SessionParams, response: { 204: noContent, 400: Problem, 401: Problem, 404: Problem } }
    }, async (req, reply) => {
      await auth.revokeSession(principal(req), req.params.id, requestMeta(req))
      return reply.code(204).send(null)
    })
  })
}

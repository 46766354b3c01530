import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import type { Actor } from '../actor.js'
import { AppError } from '../errors.js'
import { authorizeRequest } from './authorize.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; set by the authenticate hook on protected routes, null elsewhere. */
    principal: Actor | null
  }
}

/** Verifies a bearer token into claims (access tokens: RFC 9068 `at+jwt`). */
export interface TokenVerifier {
  /** Verifies a bearer token; `scopes` only for a scoped token (personal access token). Throws when it is not valid. */
  verify: (token: string) => Promise<{ sub: string, sid: string, role: Actor['role'], email: string, scopes?: readonly string[] }>
}
/** Whether session `sid` of user `userId` is live (cache, then database). Throws (→ 503) when it cannot tell. */
export interface SessionChecker {
  isLive: (sid: string, userId: string) => Promise<boolean>
}

const BEARER = /^Bearer +([^\s]+) *$/i

/** The Bearer token of a request, or undefined for a missing, empty or non-Bearer header (RFC 6750: "no token"). */
export function bearerToken (header: string | undefined): string | undefined {
  if (!header) return undefined
  return BEARER.exec(header)?.[1]
}

/**
 * Makes the onRequest hook of protected routes: a verified access token whose session is still live
 * becomes `request.principal`, once the route's `config.auth` (role, scope) allows it. Verification
 * failures are 401 invalid_token, a missing role or scope 403 — all before the input is validated;
 * a session check that cannot be made propagates (503), it never lets the request through.
 */
export function makeAuthenticate ({ tokens, sessions }: { tokens: TokenVerifier, sessions: SessionChecker }): onRequestHookHandler {
  return async function authenticate (req) {
    const token = bearerToken(req.headers.authorization)
    if (!token) throw new AppError('unauthenticated', { detail: 'Authentication required: send an access token as "Authorization: Bearer <token>"' })
    let claims
    try {
      claims = await tokens.verify(token)
    } catch (err) {
      req.log.info({ code: 'invalid_token', reason: (err as Error).message }, 'access token rejected')
      throw new AppError('invalid_token', { detail: 'The access token is invalid or expired' })
    }
    if (!await sessions.isLive(claims.sid, claims.sub)) {
      req.log.info({ code: 'invalid_token', reason: 'session revoked', sid: claims.sid }, 'access token rejected')
      throw new AppError('invalid_token', { detail: 'The session of this access token has ended' })
    }
    const actor: Actor = { userId: claims.sub, sessionId: claims.sid, role: claims.role, email: claims.email, ...(claims.scopes ? { scopes: claims.scopes } : {}) }
    authorizeRequest(req, actor)
    req.principal = actor
  }
}

/** The principal of a request behind the authenticate hook. */
export function principal (req: FastifyRequest): Actor {
  if (!req.principal) throw new AppError('unauthenticated', { detail: 'Authentication required' })
  return req.principal
}

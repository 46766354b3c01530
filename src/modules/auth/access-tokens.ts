import { randomUUID } from 'node:crypto'
import { errors, jwtVerify, SignJWT, type JWTHeaderParameters } from 'jose'
import type { Clock } from '../../core/clock.js'
import type { Role } from '../../core/schemas.js'
import type { KeySet } from './signing-keys.js'

/** What a verified access token says about its bearer. */
export interface AccessClaims {
  sub: string
  sid: string
  jti: string
  email: string
  role: Role
  /** RFC 8176 authentication methods of the session's login: `["pwd"]` or `["pwd", "otp", "mfa"]`. */
  amr: string[]
  iat: number
  exp: number
}

/** An access token that fails verification; its message (the reason) goes to the log only. */
export class InvalidAccessTokenError extends Error {
  override name = 'InvalidAccessTokenError'
}

const MAX_TOKEN_BYTES = 4096
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const CLOCK_TOLERANCE = 30
const REQUIRED = ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp']
/** ~10k tokens × under 1 KiB: a few MiB at most. */
const MAX_CACHED_TOKENS = 10_000

/** Signing keys, `iss`/`aud` (RFC 7519 §4.1), lifetime in seconds and the clock. */
export interface AccessTokenOptions { keys: KeySet, issuer: string, audience: string, ttlSeconds: number, clock: Clock }

/** Issues and verifies access tokens (RFC 9068 `at+jwt`), with jose and only the configured algorithm. */
export function createAccessTokens ({ keys, issuer, audience, ttlSeconds, clock }: AccessTokenOptions) {
  const resolveKey = (header: JWTHeaderParameters) => {
    // Only our own keys, looked up by kid: jku, x5u, x5c and jwk headers are never consulted.
    if (typeof header.kid !== 'string') throw new InvalidAccessTokenError('missing kid')
    const key = keys.verifying.get(header.kid)
    if (!key) throw new InvalidAccessTokenError('unknown kid')
    return key
  }

  const verified = new Map<string, AccessClaims>()

  return {
    ttlSeconds,

    /** Signs an access token for a session; `amr` is the session's (RFC 8176), kept across refreshes. */
    async sign (claims: { sub: string, sid: string, email: string, role: Role, amr: readonly string[] }): Promise<string> {
      const now = Math.floor(clock.now().getTime() / 1000)
      return new SignJWT({ sid: claims.sid, email: claims.email, role: claims.role, amr: [...claims.amr] })
        .setProtectedHeader({ alg: keys.alg, kid: keys.signing.kid, typ: 'at+jwt' })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(claims.sub)
        .setJti(randomUUID())
        .setIssuedAt(now)
        .setExpirationTime(now + ttlSeconds)
        .sign(keys.signing.key)
    },

    /**
     * Verifies signature first, then every claim; throws InvalidAccessTokenError with a short reason.
     * A token already verified is served from a bounded cache keyed by the exact token string: its
     * signature cannot change, and its time claims are checked again on every use, so an entry never
     * outlives `exp`. Revocation is not cached here: the session check runs on every request.
     */
    async verify (token: string): Promise<AccessClaims> {
      const hit = verified.get(token)
      if (hit) {
        const now = Math.floor(clock.now().getTime() / 1000)
        if (hit.exp > now - CLOCK_TOLERANCE && hit.iat <= now + CLOCK_TOLERANCE) return hit
        verified.delete(token)
      }
      if (token.length > MAX_TOKEN_BYTES || !COMPACT_JWS.test(token)) throw new InvalidAccessTokenError('malformed token')
      const claims = await verifyUncached(token)
      if (verified.size >= MAX_CACHED_TOKENS) {
        const oldest = verified.keys().next()
        if (!oldest.done) verified.delete(oldest.value)
      }
      verified.set(token, claims)
      return claims
    }
  }

  async function verifyUncached (token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, resolveKey, {
        algorithms: [keys.alg],
        issuer,
        audience,
        typ: 'at+jwt',
        requiredClaims: REQUIRED,
        clockTolerance: CLOCK_TOLERANCE,
        maxTokenAge: ttlSeconds,
        currentDate: clock.now()
      })
      const { sub, sid, jti, email, role, iat, exp } = payload
      const amr = Array.isArray(payload.amr) && payload.amr.every(m => typeof m === 'string') ? payload.amr as string[] : []
      if (typeof sub !== 'string' || typeof sid !== 'string' || typeof jti !== 'string' ||
        typeof email !== 'string' || (role !== 'user' && role !== 'admin') ||
        typeof iat !== 'number' || typeof exp !== 'number') {
        throw new InvalidAccessTokenError('malformed claims')
      }
      return { sub, sid, jti, email, role, amr, iat, exp }
    } catch (err) {
      if (err instanceof InvalidAccessTokenError) throw err
      if (err instanceof errors.JWTExpired) throw new InvalidAccessTokenError('token expired')
      if (err instanceof errors.JOSEError || err instanceof TypeError) throw new InvalidAccessTokenError('token rejected')
      throw err
    }
  }
}
export type AccessTokens = ReturnType<typeof createAccessTokens>

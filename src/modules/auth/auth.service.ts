import type { Actor, RequestMeta } from '../../core/actor.js'
import type { Clock } from '../../core/clock.js'
import { timed, type Metrics } from '../../core/metrics.js'
import { pgConstraint, pgErrorCode, type Db } from '../../core/db.js'
import { AppError, ValidationError } from '../../core/errors.js'
import { newId } from '../../core/ids.js'
import type { AuditService } from '../audit/index.js'
import type { Notifier } from '../mail/index.js'
import type { UserRow, UsersStore } from '../users/index.js'
import type { AccountThrottle } from './account-throttle.js'
import type { AccessTokens } from './access-tokens.js'
import { checkPassword, type PolicyOptions } from './password-policy.js'
import type { PasswordHasher } from './passwords.js'
import type { RefreshTokens } from './refresh-tokens.js'
import type { Sessions } from './sessions.js'
import { mfaRequired, type MfaChallenge, type MfaPassed, type MfaProof } from '../mfa/index.js'

/** What sign-in needs from MFA: opening the second step, and redeeming it. */
export interface SecondFactorPort {
  challenge: (userId: string, method: string) => Promise<MfaChallenge>
  redeem: (mfaToken: string, proof: MfaProof, meta: RequestMeta, route: string) => Promise<MfaPassed>
}

/** How a first factor was given, for `signIn`: the method (`password`, later `google`, `github`), its RFC 8176 `amr`, the route. */
export interface FirstFactor { method: string, amr: readonly string[], route: string, identifier?: string | undefined }

/** What the auth flows use: storage, the users port, hashing, sessions, tokens, policy, audit, throttle, metrics. */
export interface AuthDeps {
  db: Db
  users: UsersStore
  clock: Clock
  hasher: PasswordHasher
  sessions: Sessions
  refreshTokens: RefreshTokens
  accessTokens: AccessTokens
  policy: PolicyOptions
  audit: AuditService
  throttle: AccountThrottle
  metrics: Metrics
  mfa: SecondFactorPort
  /** Security notices (refresh-token reuse); absent → none are mailed. */
  notifier?: Notifier | undefined
  /** Runs in the registration's transaction: queues the verification mail (account module). */
  onRegistered?: ((tx: Db, user: UserRow) => Promise<void>) | undefined
  /** REQUIRE_EMAIL_VERIFICATION: no session (register, login, password grant) until the email is verified. */
  requireEmailVerification?: boolean | undefined
}

/** A registration: email (lower-cased here), password, optional username and display name. */
export interface RegisterInput { email: string, password: string, username?: string | undefined, name?: string | undefined }

/** A new session's tokens (RFC 6749 §5.1; `expires_in` in seconds) and its user. */
export interface TokenPair {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  refresh_token: string
  user: UserRow
}

/** Why a login failed: the error code (the catalogue maps it to problem+json or RFC 6749 `invalid_grant`). */
type LoginFailure = 'invalid_credentials' | 'account_disabled' | 'email_not_verified'
const LOGIN_FAILURE_DETAIL: Record<LoginFailure, string> = {
  invalid_credentials: 'Invalid email or password',
  account_disabled: 'This account is disabled',
  email_not_verified: 'Verify your email address first: follow the link in the mail we sent'
}

/** A unique violation on users' email or username, as the 409 the contract names. */
export function conflictFromUniqueViolation (err: unknown): AppError | undefined {
  if (pgErrorCode(err) !== '23505') return undefined
  const constraint = pgConstraint(err) ?? ''
  if (constraint.includes('username')) return new AppError('username_taken', { detail: 'That username is already taken' })
  return new AppError('email_taken', { detail: 'An account with that email already exists' })
}

/**
 * The authentication flows: register, login (JSON and the password grant), refresh, logout and the
 * session list. Transport-free: routes map its results and errors to HTTP.
 */
export function createAuthService ({ db, users, clock, hasher, sessions, refreshTokens, accessTokens, policy, audit, throttle, metrics, mfa, notifier, onRegistered, requireEmailVerification = false }: AuthDeps) {
  /** The token response of a new session: its first access token (signed here) and refresh token. */
  async function pairOf (user: UserRow, session: { id: string }, refreshToken: string, amr: readonly string[]): Promise<TokenPair & { sessionId: string }> {
    const accessToken = await accessTokens.sign({ sub: user.id, sid: session.id, email: user.email, role: user.role, amr })
    return { access_token: accessToken, token_type: 'Bearer', expires_in: accessTokens.ttlSeconds, refresh_token: refreshToken, user, sessionId: session.id }
  }

  /** Starts a session (`amr`: how it authenticated, RFC 8176) and signs its first access token; returns the pair and the session id. */
  async function issue (tx: Db, user: UserRow, meta: RequestMeta, amr: readonly string[] = ['pwd']): Promise<TokenPair & { sessionId: string }> {
    const { session, refreshToken } = await sessions.create(tx, user.id, meta, amr)
    return pairOf(user, session, refreshToken, amr)
  }

  /** Starts the session of a fully authenticated user: its `login.success` event (method and amr) commits with it; counted. */
  async function startSession (user: UserRow, meta: RequestMeta, how: FirstFactor, amr: readonly string[]): Promise<TokenPair> {
    const { session, refreshToken } = await sessions.startLogin(user.id, meta, amr, { identifier: how.identifier, route: how.route, method: how.method, amr })
    const pair = await pairOf(user, session, refreshToken, amr)
    metrics.loginSuccess.inc()
    return pair
  }

  /**
   * The end of every first factor (password, and social sign-in when it lands): a session, or, when
   * the account has MFA on, the 403 `mfa_required` with an mfa_token (no session yet). The one way from
   * a first factor to a session, so no path can skip the second factor (ASVS v5.0.0 6.3.3).
   */
  async function signIn (user: UserRow, meta: RequestMeta, how: FirstFactor): Promise<TokenPair> {
    if (user.mfa_enabled) throw mfaRequired(await mfa.challenge(user.id, how.method))
    return startSession(user, meta, how, how.amr)
  }

  return {
    signIn,

    /**
     * Finishes a login with its second factor (POST /v1/auth/mfa/verify and the mfa-otp grant): the
     * mfa_token and a TOTP or recovery code. Throws 401 mfa_token_invalid / mfa_code_invalid, 429 (the
     * account's failed-login budget), 403 account_disabled (disabled in between; only after a right code).
     */
    verifyMfa: (mfaToken: string, proof: MfaProof, meta: RequestMeta, route: 'login' | 'token'): Promise<TokenPair> => timed(metrics, 'mfa_verify', async () => {
      const passed = await mfa.redeem(mfaToken, proof, meta, route)
      const user = await users.findById(passed.userId)
      if (!user || !user.is_active) {
        metrics.loginFailure.inc({ reason: 'account_disabled' })
        throw new AppError('account_disabled', { detail: LOGIN_FAILURE_DETAIL.account_disabled })
      }
      return startSession(user, meta, { method: passed.method, amr: passed.amr, route }, passed.amr)
    }),

    /** Creates the account and queues its verification mail; with REQUIRE_EMAIL_VERIFICATION, no session (`{ user }` only). */
    register: (input: RegisterInput, meta: RequestMeta): Promise<TokenPair | { user: UserRow }> => timed(metrics, 'register', async () => {
      const email = input.email.toLowerCase()
      const weak = checkPassword(input.password, { email, username: input.username }, policy)
      if (weak) throw new ValidationError(`password ${weak.message}`, [weak], 'weak_password')
      const passwordHash = await hasher.hash(input.password)
      const now = clock.now()
      try {
        const pair = await db.transaction(async (tx) => {
          const user = await users.create({
            id: newId(),
            email,
            username: input.username ?? null,
            name: input.name ?? null,
            password_hash: passwordHash,
            created_at: now,
            updated_at: now
          }, tx)
          await onRegistered?.(tx, user)
          if (requireEmailVerification) {
            await audit.record({ type: 'register', actorId: user.id, userId: user.id, meta, details: { session: false } }, tx)
            return { user }
          }
          const pair = await issue(tx, user, meta)
          // A registration is a change: its audit entry commits with it.
          await audit.record({ type: 'register', actorId: user.id, userId: user.id, meta, details: { session_id: pair.sessionId } }, tx)
          return pair
        })
        metrics.register.inc()
        return pair
      } catch (err) {
        throw conflictFromUniqueViolation(err) ?? err
      }
    }),

    /**
     * Checks a login name (email or username, trimmed) and password. An unknown account costs one hash
     * verification too, and answers exactly like a wrong password. A disabled account is only
     * revealed after the right password.
     */
    login: (typed: string, password: string, meta: RequestMeta, route: 'login' | 'token'): Promise<TokenPair> => timed(metrics, 'login', async () => {
      // Names are matched after trimming surrounding white space (API.md, Identity and tokens); the password never is.
      const identifier = typed.trim()
      const user = await users.findByLogin(identifier)
      // Counted per account (its email and username are one budget), or per unknown name.
      const accountKey = user?.id ?? `unknown:${identifier.toLowerCase()}`
      await throttle.assertOpen(accountKey, async () => {
        metrics.rateLimited.inc({ route: `${route}_account` })
        await audit.note({ type: 'rate_limit.exceeded', userId: user?.id ?? null, meta, details: { limit: 'login_account', route, identifier } })
      })
      const { ok, needsRehash } = await hasher.verify(user?.password_hash, password)
      // Only after the right password: a disabled account, then an unverified email when verification is required.
      if (!user || !ok || !user.is_active || (requireEmailVerification && !user.email_verified)) {
        const failure: LoginFailure = !user || !ok ? 'invalid_credentials' : !user.is_active ? 'account_disabled' : 'email_not_verified'
        if (failure === 'invalid_credentials') await throttle.recordFailure(accountKey)
        metrics.loginFailure.inc({ reason: failure })
        await audit.note({ type: 'login.failure', userId: user?.id ?? null, meta, details: { identifier, reason: failure, route } })
        throw new AppError(failure, { detail: LOGIN_FAILURE_DETAIL[failure] })
      }
      if (needsRehash) {
        const rehashed = await hasher.hash(password)
        await users.update(user.id, { password_hash: rehashed })
      }
      return signIn(user, meta, { method: 'password', amr: ['pwd'], route, identifier })
    }),

    /** Rotates a refresh token; reuse of a spent one has already revoked its session when this throws. */
    refresh: (presented: string, meta: RequestMeta): Promise<TokenPair> => timed(metrics, 'refresh', async () => {
      const invalid = () => new AppError('refresh_token_invalid', { detail: 'Refresh token is invalid, expired or revoked' })
      const result = await refreshTokens.rotate(presented, meta)
      if (result.kind === 'reused') {
        metrics.tokenReuse.inc()
        await audit.note({ type: 'token.reuse_detected', userId: result.session.user_id, meta, details: { session_id: result.session.id } })
        await notifier?.notify(db, result.session.user_id, 'refresh_reuse_detected')
      }
      if (result.kind !== 'rotated') throw invalid()
      // The rotation brings the user's row along; a grace answer looks it up.
      const user = result.user ?? await users.findById(result.session.user_id)
      if (!user || !user.is_active) {
        await sessions.revoke(result.session.id, result.session.user_id, 'account_disabled')
        throw invalid()
      }
      const accessToken = await accessTokens.sign({ sub: user.id, sid: result.session.id, email: user.email, role: user.role, amr: result.session.amr })
      metrics.tokenRefresh.inc()
      // A plain rotation of an active user's session recorded its event in the same statement; a grace answer records it here.
      if (result.grace) await audit.note({ type: 'token.refresh', actorId: user.id, userId: user.id, meta, details: { session_id: result.session.id, ...(result.grace ? { grace: true } : {}) } })
      return { access_token: accessToken, token_type: 'Bearer', expires_in: accessTokens.ttlSeconds, refresh_token: result.refreshToken, user }
    }),

    async logout (actor: Actor, meta: RequestMeta): Promise<void> {
      await sessions.revoke(actor.sessionId, actor.userId, 'logout')
      await audit.note({ type: 'logout', actorId: actor.userId, userId: actor.userId, meta, details: { session_id: actor.sessionId } })
    },

    async logoutAll (actor: Actor, meta: RequestMeta): Promise<void> {
      const ended = await sessions.revokeAllForUser(actor.userId, 'logout_all')
      await audit.note({ type: 'logout_all', actorId: actor.userId, userId: actor.userId, meta, details: { sessions_revoked: ended.length } })
    },

    async listSessions (actor: Actor) {
      const rows = await sessions.listLive(actor.userId)
      return rows.map(s => ({
        id: s.id,
        created_at: s.created_at,
        last_used_at: s.last_used_at,
        expires_at: s.refresh_expires_at < s.expires_at ? s.refresh_expires_at : s.expires_at,
        ip: s.ip,
        user_agent: s.user_agent,
        current: s.id === actor.sessionId
      }))
    },

    async revokeSession (actor: Actor, sessionId: string, meta: RequestMeta): Promise<void> {
      const revoked = await sessions.revoke(sessionId, actor.userId, 'revoked_by_user')
      if (!revoked) throw new AppError('session_not_found', { detail: 'No such session' })
      await audit.note({ type: 'session.revoked', actorId: actor.userId, userId: actor.userId, meta, details: { session_id: sessionId } })
    }
  }
}
export type AuthService = ReturnType<typeof createAuthService>

import { createHash, timingSafeEqual } from 'node:crypto'
import * as client from 'openid-client'
import type { Actor, RequestMeta } from '../../core/actor.js'
import type { Clock } from '../../core/clock.js'
import { pgErrorCode, type Db } from '../../core/db.js'
import { AppError, ValidationError } from '../../core/errors.js'
import { newId, newSecret, sha256 } from '../../core/ids.js'
import type { AuditService } from '../audit/index.js'
import type { UserRow, UsersStore } from '../users/index.js'
import { identitiesRepository as repo } from './identities.repository.js'
import { PROVIDERS, type IdentityRow, type OAuthFlowRow, type ProviderName } from './identities.table.js'
import { ProviderError, type OAuthProvider, type ProviderProfile } from './providers/provider.js'
import type { Notifier, NoticeEvent } from '../mail/index.js'

/** Seconds a flow (TaskFlow's state) lives between the authorize redirect and the callback. */
export const FLOW_TTL = 600
/** Seconds the one-time code handed to the app lives. */
export const CODE_TTL = 60
/**
 * RFC 8176 has no value for "signed in at another identity provider"; `fed` (federated) is what
 * Microsoft Entra ID puts in `amr` for the same case.
 */
export const AMR_FEDERATED = ['fed'] as const

/** RFC 7636 §4.2: a S256 challenge is 43 base64url characters; the contract allows 43–128. */
const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43,128}$/
/** RFC 7636 §4.1: 43–128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/

/** How a first factor reached a session (auth's `signIn`; the MFA second step is its business). */
export type SignIn<T> = (user: UserRow, meta: RequestMeta, how: { method: string, amr: readonly string[], route: string }) => Promise<T>

export interface IdentitiesDeps<T> {
  db: Db
  users: UsersStore
  clock: Clock
  audit: AuditService
  /** The configured providers (absent ones answer 404 provider_not_configured). */
  providers: Partial<Record<ProviderName, OAuthProvider>>
  /** OAUTH_REDIRECT_URIS, compared exactly. */
  redirectUris: readonly string[]
  verifyPassword: (stored: string | null, password: string) => Promise<boolean>
  signIn: SignIn<T>
  notifier?: Notifier | undefined
  log?: { warn: (obj: object, msg: string) => void } | undefined
}

/** The app's side of a flow (step 1 of API.md): where to come back, its PKCE challenge and its state. */
export interface AppRequest { redirect_uri: string, code_challenge: string, code_challenge_method?: string | undefined, state?: string | undefined }

/** Where the callback sends the browser: the app's redirect_uri with a code or an error, and the app's state. */
export interface CallbackResult { location: string }

/** Errors the callback hands to the app (RFC 6749 §4.1.2.1 plus API.md step 4). */
type FlowError = 'access_denied' | 'server_error' | 'temporarily_unavailable' | 'identity_taken' | 'account_exists' | 'email_required'
const FLOW_ERROR_TEXT: Record<FlowError, string> = {
  access_denied: 'The sign-in was refused',
  server_error: 'The sign-in could not be completed',
  temporarily_unavailable: 'The provider cannot be reached now; try again later',
  identity_taken: 'This provider account is linked to another TaskFlow account',
  account_exists: 'An account with this email exists: sign in and link the provider from your settings',
  email_required: 'The provider gave no email address'
}

const s256 = (verifier: string): string => createHash('sha256').update(verifier).digest('base64url')
const sameText = (a: string, b: string): boolean => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
const isProvider = (name: string): name is ProviderName => (PROVIDERS as readonly string[]).includes(name)

/** What an identity looks like in `GET /v1/users/me/identities`. */
export const identityView = (row: IdentityRow) => ({ id: row.id, provider: row.provider, email: row.email, created_at: row.created_at })

/**
 * Sign-in with Google and GitHub (API.md "Sign-in with Google and GitHub"; RFC 6749 §4.1, RFC 7636,
 * OpenID Connect Core §3.1): flows kept in the database (any instance answers the callback), the
 * decision rules of step 4 (only (provider, provider user id) ever matches an account — never the
 * email), the one-time code for the app and its exchange, and the identities a person links and
 * unlinks. `T` is what `signIn` returns (auth's token pair).
 */
export function createIdentitiesService<T> (deps: IdentitiesDeps<T>) {
  const { db, users, clock, audit, providers, redirectUris } = deps
  const notify = async (tx: Db, userId: string, event: NoticeEvent, data?: Record<string, string | number>) => {
    if (deps.notifier) await deps.notifier.notify(tx, userId, event, data)
  }

  function provider (name: string): OAuthProvider {
    const found = isProvider(name) ? providers[name] : undefined
    if (!found) throw new AppError('provider_not_configured', { detail: 'This sign-in provider is not configured' })
    return found
  }

  /** Step 1's checks: an allow-listed redirect_uri (exact), a S256 challenge of 43–128 base64url characters. Throws 400, never redirects. */
  function checkAppRequest (input: AppRequest): void {
    if (!redirectUris.includes(input.redirect_uri)) {
      throw new ValidationError('redirect_uri is not registered', [{ field: 'redirect_uri', message: 'must equal one of OAUTH_REDIRECT_URIS' }])
    }
    if (!CODE_CHALLENGE.test(input.code_challenge)) {
      throw new ValidationError('code_challenge must be 43–128 base64url characters', [{ field: 'code_challenge', message: 'must be 43–128 base64url characters' }])
    }
    if (input.code_challenge_method !== 'S256') {
      throw new ValidationError('code_challenge_method must be S256', [{ field: 'code_challenge_method', message: 'must be S256' }])
    }
  }

  /** The app's redirect_uri with `params` and its own state (RFC 6749 §4.1.2). */
  function back (flow: Pick<OAuthFlowRow, 'redirect_uri' | 'app_state'>, params: Record<string, string>): CallbackResult {
    const url = new URL(flow.redirect_uri)
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value)
    if (flow.app_state !== null) url.searchParams.set('state', flow.app_state)
    return { location: url.href }
  }
  const backWithError = (flow: Pick<OAuthFlowRow, 'redirect_uri' | 'app_state'>, error: FlowError) =>
    back(flow, { error, error_description: FLOW_ERROR_TEXT[error] })

  /** Starts a flow (step 2): stores it and returns the provider's authorization URL, or the app's redirect with temporarily_unavailable. */
  async function start (name: string, input: AppRequest, linkUserId: string | null): Promise<{ location: string }> {
    const p = provider(name)
    checkAppRequest(input)
    const state = newSecret() // 256 bits
    const verifier = client.randomPKCECodeVerifier()
    const nonce = p.usesNonce ? newSecret() : null
    let url: URL
    try {
      url = await p.authorizationUrl({ state, codeChallenge: await client.calculatePKCECodeChallenge(verifier), nonce })
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err
      deps.log?.warn({ err, code: 'oauth_provider_unavailable', provider: p.name }, 'sign-in provider unavailable')
      return backWithError({ redirect_uri: input.redirect_uri, app_state: input.state ?? null }, 'temporarily_unavailable')
    }
    const now = clock.now()
    await repo.insertFlow(db, {
      state_hash: sha256(state),
      provider: p.name,
      code_verifier: verifier,
      nonce,
      redirect_uri: input.redirect_uri,
      code_challenge: input.code_challenge,
      app_state: input.state ?? null,
      link_user_id: linkUserId,
      created_at: now,
      expires_at: new Date(now.getTime() + FLOW_TTL * 1000)
    }, now)
    return { location: url.href }
  }

  /** Step 4: whose account this is; returns the user to sign in, or a FlowError. Runs in `tx`. */
  async function decide (tx: Db, flow: OAuthFlowRow, profile: ProviderProfile, meta: RequestMeta): Promise<UserRow | FlowError> {
    const identity = await repo.findIdentity(tx, flow.provider, profile.subject)
    if (flow.link_user_id !== null) {
      if (identity && identity.user_id !== flow.link_user_id) return 'identity_taken'
      const user = await users.findById(flow.link_user_id, tx)
      if (!user?.is_active) return 'access_denied'
      if (!identity) {
        const linked = await repo.insertIdentity(tx, { id: newId(), user_id: user.id, provider: flow.provider, provider_user_id: profile.subject, email: profile.email, created_at: clock.now() })
        await audit.record({ type: 'identity.linked', actorId: user.id, userId: user.id, meta, details: { provider: flow.provider, identity_id: linked.id } }, tx)
        await notify(tx, user.id, 'identity_linked', { provider: flow.provider })
      }
      return user
    }
    if (identity) {
      const user = await users.findById(identity.user_id, tx)
      return user?.is_active ? user : 'access_denied'
    }
    if (profile.email === null) return 'email_required'
    // Never link by email: whoever controls the provider account is not proven to own this account.
    if (await users.findByEmail(profile.email, tx)) return 'account_exists'
    const now = clock.now()
    const user = await users.create({
      id: newId(), email: profile.email, username: null, name: profile.name, password_hash: null, email_verified: profile.emailVerified, created_at: now, updated_at: now
    }, tx)
    const linked = await repo.insertIdentity(tx, { id: newId(), user_id: user.id, provider: flow.provider, provider_user_id: profile.subject, email: profile.email, created_at: now })
    await audit.record({ type: 'register', actorId: user.id, userId: user.id, meta, details: { method: flow.provider, identity_id: linked.id } }, tx)
    return user
  }

  return {
    /** GET /v1/auth/oauth/{provider}/authorize: 302 to the provider. Throws 404 provider_not_configured, 400 validation_failed. */
    authorize: (name: string, input: AppRequest) => start(name, input, null),

    /**
     * GET /v1/auth/oauth/{provider}/callback. The flow is consumed first (single use); an unknown,
     * expired or used state throws 400 oauth_state_invalid (no redirect). Everything after answers a
     * redirect to the app: a one-time code (60 s), or an error (API.md steps 4–5).
     */
    async callback (name: string, callbackUrl: URL, meta: RequestMeta): Promise<CallbackResult> {
      const p = provider(name)
      const state = callbackUrl.searchParams.get('state') ?? ''
      const invalidState = () => new AppError('oauth_state_invalid', { detail: 'The sign-in state is unknown, expired or already used: start again' })
      if (state === '' || state.length > 256) throw invalidState()
      const flow = await repo.consumeFlow(db, sha256(state), p.name)
      if (!flow || flow.expires_at.getTime() <= clock.now().getTime()) throw invalidState()

      let profile: ProviderProfile
      try {
        profile = await p.complete({ callbackUrl, state, codeVerifier: flow.code_verifier, nonce: flow.nonce })
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err
        deps.log?.warn({ err, code: 'oauth_provider_failed', provider: p.name, failure: err.failure }, 'social sign-in failed at the provider')
        return backWithError(flow, err.failure)
      }
      const code = newSecret()
      try {
        const outcome = await db.transaction(async (tx) => {
          const decided = await decide(tx, flow, profile, meta)
          if (typeof decided === 'string') return decided
          const now = clock.now()
          await repo.insertCode(tx, {
            code_hash: sha256(code),
            user_id: decided.id,
            provider: flow.provider,
            redirect_uri: flow.redirect_uri,
            code_challenge: flow.code_challenge,
            created_at: now,
            expires_at: new Date(now.getTime() + CODE_TTL * 1000)
          }, now)
          return decided
        })
        if (typeof outcome === 'string') return backWithError(flow, outcome)
        return back(flow, { code })
      } catch (err) {
        // Lost a race: the identity was linked, or the email registered, by another request meanwhile.
        if (pgErrorCode(err) !== '23505') throw err
        return backWithError(flow, flow.link_user_id !== null ? 'identity_taken' : 'account_exists')
      }
    },

    /**
     * The token endpoint's authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.6): the code is
     * spent first; unknown, expired, another redirect_uri or a verifier whose S256 is not the
     * challenge → authorization_code_invalid (invalid_grant). Then `signIn`, which asks for the second
     * factor when MFA is on (403 mfa_required); a disabled account → account_disabled (invalid_grant).
     */
    async exchange (input: { code: string, redirectUri: string, codeVerifier: string }, meta: RequestMeta): Promise<T> {
      const invalid = () => new AppError('authorization_code_invalid', { detail: 'The code is invalid, expired or used, or does not match the redirect_uri or code_verifier' })
      if (input.code.length > 256) throw invalid()
      const row = await repo.consumeCode(db, sha256(input.code))
      if (!row || row.expires_at.getTime() <= clock.now().getTime()) throw invalid()
      if (!sameText(row.redirect_uri, input.redirectUri)) throw invalid()
      if (!CODE_VERIFIER.test(input.codeVerifier) || !sameText(s256(input.codeVerifier), row.code_challenge)) throw invalid()
      const user = await users.findById(row.user_id)
      if (!user?.is_active) throw new AppError('account_disabled', { detail: 'This account is disabled' })
      return deps.signIn(user, meta, { method: row.provider, amr: AMR_FEDERATED, route: 'token' })
    },

    /** GET /v1/users/me/identities. */
    list: async (actor: Actor) => (await repo.listForUser(db, actor.userId)).map(identityView),

    /**
     * POST /v1/users/me/identities: a link flow for the caller, after their current password (a
     * password-less account gets 400 wrong_password: it sets one through password reset). Returns the
     * provider's authorization URL. Throws 404 provider_not_configured, 400.
     */
    async startLink (actor: Actor, input: AppRequest & { provider: string, current_password: string }): Promise<{ authorization_url: string }> {
      provider(input.provider)
      checkAppRequest(input)
      const user = await users.findById(actor.userId)
      if (!user) throw new AppError('user_not_found', { detail: 'This account no longer exists' })
      if (!await deps.verifyPassword(user.password_hash, input.current_password)) {
        throw new ValidationError('current_password is incorrect', [{ field: 'current_password', message: 'is incorrect' }], 'wrong_password')
      }
      const { location } = await start(input.provider, input, user.id)
      return { authorization_url: location }
    },

    /** DELETE /v1/users/me/identities/{id}: 404 when not the caller's, 409 last_credential when nothing to sign in with would remain. */
    async unlink (actor: Actor, identityId: string, meta: RequestMeta): Promise<void> {
      await db.transaction(async (tx) => {
        const mine = await repo.lockForUser(tx, actor.userId)
        const target = mine.find(i => i.id === identityId)
        if (!target) throw new AppError('identity_not_found', { detail: 'No such identity' })
        const user = await users.findById(actor.userId, tx)
        if (!user) throw new AppError('user_not_found', { detail: 'This account no longer exists' })
        if (user.password_hash === null && mine.length === 1) {
          throw new AppError('last_credential', { detail: 'Set a password (through password reset) or link another provider first' })
        }
        await repo.deleteIdentity(tx, target.id, actor.userId)
        await audit.record({ type: 'identity.unlinked', actorId: actor.userId, userId: actor.userId, meta, details: { provider: target.provider, identity_id: target.id } }, tx)
        await notify(tx, actor.userId, 'identity_unlinked', { provider: target.provider })
      })
    }
  }
}
export type IdentitiesService<T = unknown> = ReturnType<typeof createIdentitiesService<T>>

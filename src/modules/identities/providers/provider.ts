import * as client from 'openid-client'
import type { ProviderName } from '../identities.table.js'

/** What a provider says about the person after a successful callback. */
export interface ProviderProfile {
  /** The provider's stable user id: Google's `sub`, GitHub's numeric `id` as text. */
  subject: string
  /** Lower-cased address, or null when the provider gives none. */
  email: string | null
  /** Whether the provider says it verified `email`. */
  emailVerified: boolean
  /** Display name (1–100 characters) or null. */
  name: string | null
}

/** Why a provider step failed; the callback turns it into the RFC 6749 §4.1.2.1 `error` of its redirect. */
export type ProviderFailure = 'access_denied' | 'server_error' | 'temporarily_unavailable'

/** A failure talking to a provider; `cause` goes to the log only. */
export class ProviderError extends Error {
  constructor (readonly failure: ProviderFailure, detail: string, options?: { cause?: unknown }) {
    super(detail, options)
    this.name = 'ProviderError'
  }
}

/** One sign-in provider (Google by OpenID Connect, GitHub by OAuth 2.0), behind one shape. */
export interface OAuthProvider {
  readonly name: ProviderName
  /** Whether its flows carry an OIDC `nonce` (bound into the ID token). */
  readonly usesNonce: boolean
  /**
   * The provider's authorization URL for TaskFlow's own `state`, PKCE `codeChallenge` (S256) and
   * `nonce`. Throws ProviderError('temporarily_unavailable') when the provider cannot be reached.
   */
  authorizationUrl: (input: { state: string, codeChallenge: string, nonce: string | null }) => Promise<URL>
  /**
   * Exchanges the code of `callbackUrl` (the provider's redirect to us, with its query) with the PKCE
   * `codeVerifier`, checks what must be checked (state; for OIDC the ID token's signature, iss, aud,
   * exp and nonce) and returns the profile. Throws ProviderError.
   */
  complete: (input: { callbackUrl: URL, state: string, codeVerifier: string, nonce: string | null }) => Promise<ProviderProfile>
}

/** Seconds any provider request may take before it counts as down. */
export const PROVIDER_TIMEOUT_SECONDS = 10

/** http:// provider URLs are allowed only for loopback hosts (config.ts checks); this lets openid-client talk to them. */
export const insecureIfHttp = (url: string): Array<(config: client.Configuration) => void> =>
  url.startsWith('http://') ? [client.allowInsecureRequests] : []

/**
 * Maps what openid-client (and fetch) throw to a ProviderFailure: the provider refused or said no →
 * access_denied; its answers failed our checks (ID token, state, shape) → access_denied; the network
 * failed or timed out → temporarily_unavailable; a 5xx from the provider → temporarily_unavailable.
 */
export function providerFailure (err: unknown): ProviderError {
  if (err instanceof ProviderError) return err
  if (err instanceof client.AuthorizationResponseError) {
    return new ProviderError(err.error === 'temporarily_unavailable' ? 'temporarily_unavailable' : 'access_denied', 'The provider refused the sign-in', { cause: err })
  }
  if (err instanceof client.ResponseBodyError) {
    return new ProviderError(err.status >= 500 ? 'temporarily_unavailable' : 'access_denied', 'The provider refused the code', { cause: err })
  }
  const code = err as { code?: unknown, cause?: { code?: unknown } } | null
  const network = err instanceof TypeError || (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) ||
    code?.code === 'OAUTH_TIMEOUT' || code?.cause?.code === 'ECONNREFUSED'
  if (network) return new ProviderError('temporarily_unavailable', 'The provider cannot be reached', { cause: err })
  return new ProviderError('access_denied', 'The provider\'s answer failed verification', { cause: err })
}

/** Display name: trimmed, at most 100 characters, null when empty. */
export const displayName = (raw: unknown): string | null => {
  if (typeof raw !== 'string') return null
  const name = [...raw.replace(/\p{Cc}/gu, ' ').trim()].slice(0, 100).join('')
  return name === '' ? null : name
}

/** A usable address (≤ 254 characters, one @, no spaces or controls), lower-cased; otherwise null. */
export const providerEmail = (raw: unknown): string | null => {
  if (typeof raw !== 'string' || raw.length > 254 || !/^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+$/u.test(raw)) return null
  return raw.toLowerCase()
}

import * as client from 'openid-client'
import { displayName, insecureIfHttp, PROVIDER_TIMEOUT_SECONDS, providerEmail, providerFailure, ProviderError, type OAuthProvider } from './provider.js'

export interface GoogleOptions { clientId: string, clientSecret: string, issuer: string, callbackUrl: string }

/**
 * Google sign-in by OpenID Connect (Core 1.0 §3.1): discovery from `<issuer>/.well-known/openid-configuration`
 * (cached once it succeeds), authorization code flow with PKCE (RFC 7636, S256), scopes
 * `openid email profile` and a `nonce`. The ID token's signature is checked against the provider's
 * JWKS — openid-client skips that for tokens received over TLS unless `enableNonRepudiationChecks` is
 * on, so it is turned on — together with `iss`, `aud` (our client id), `exp` and `nonce` (§3.1.3.7).
 */
export function createGoogleProvider (options: GoogleOptions): OAuthProvider {
  let configuration: Promise<client.Configuration> | undefined

  function config (): Promise<client.Configuration> {
    configuration ??= client.discovery(new URL(options.issuer), options.clientId, options.clientSecret, undefined, {
      execute: [...insecureIfHttp(options.issuer), client.enableNonRepudiationChecks],
      timeout: PROVIDER_TIMEOUT_SECONDS
    }).catch((err: unknown) => {
      configuration = undefined // a provider that was down is tried again by the next request
      throw providerFailure(err)
    })
    return configuration
  }

  return {
    name: 'google',
    usesNonce: true,

    async authorizationUrl ({ state, codeChallenge, nonce }) {
      return client.buildAuthorizationUrl(await config(), {
        redirect_uri: options.callbackUrl,
        response_type: 'code',
        scope: 'openid email profile',
        state,
        nonce: nonce ?? '',
        code_challenge: codeChallenge,
        code_challenge_method: 'S256'
      })
    },

    async complete ({ callbackUrl, state, codeVerifier, nonce }) {
      const cfg = await config()
      try {
        if (nonce === null) throw new ProviderError('server_error', 'An OpenID Connect flow without a nonce')
        const tokens = await client.authorizationCodeGrant(cfg, callbackUrl, { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true })
        const claims = tokens.claims()
        if (!claims || typeof claims.sub !== 'string' || claims.sub === '') throw new ProviderError('access_denied', 'The ID token has no subject')
        return {
          subject: claims.sub,
          email: providerEmail(claims.email),
          emailVerified: claims.email_verified === true,
          name: displayName(claims.name)
        }
      } catch (err) {
        throw providerFailure(err)
      }
    }
  }
}

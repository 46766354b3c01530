import * as client from 'openid-client'
import { displayName, insecureIfHttp, PROVIDER_TIMEOUT_SECONDS, providerEmail, providerFailure, ProviderError, type OAuthProvider } from './provider.js'

export interface GitHubOptions { clientId: string, clientSecret: string, url: string, apiUrl: string, callbackUrl: string }

interface GitHubEmail { email?: unknown, primary?: unknown, verified?: unknown }

/**
 * GitHub sign-in as plain OAuth 2.0 (RFC 6749 §4.1) with PKCE (RFC 7636, S256): endpoints
 * `<url>/login/oauth/authorize` and `<url>/login/oauth/access_token`, scopes `read:user user:email`;
 * the person is `GET <api>/user` (id, name, login) and the address `GET <api>/user/emails`, the
 * primary one and whether GitHub verified it. GitHub issues no ID token: the code is only ever
 * exchanged by us, over TLS, with our client secret and PKCE verifier.
 */
export function createGitHubProvider (options: GitHubOptions): OAuthProvider {
  const cfg = new client.Configuration(
    { issuer: options.url, authorization_endpoint: `${options.url}/login/oauth/authorize`, token_endpoint: `${options.url}/login/oauth/access_token` },
    options.clientId,
    undefined,
    client.ClientSecretPost(options.clientSecret)
  )
  for (const enable of insecureIfHttp(options.url)) enable(cfg)
  cfg.timeout = PROVIDER_TIMEOUT_SECONDS

  async function api (accessToken: string, path: string): Promise<unknown> {
    const headers = new Headers({ accept: 'application/vnd.github+json', 'user-agent': 'TaskFlow', 'x-github-api-version': '2022-11-28' })
    const res = await client.fetchProtectedResource(cfg, accessToken, new URL(`${options.apiUrl}${path}`), 'GET', undefined, headers)
    if (res.status >= 500) throw new ProviderError('temporarily_unavailable', `GitHub answered ${res.status}`)
    if (!res.ok) throw new ProviderError('access_denied', `GitHub answered ${res.status}`)
    return res.json()
  }

  return {
    name: 'github',
    usesNonce: false,

    async authorizationUrl ({ state, codeChallenge }) {
      return client.buildAuthorizationUrl(cfg, {
        redirect_uri: options.callbackUrl,
        scope: 'read:user user:email',
        state,
        code_challenge: codeChallenge,
        code_challenge_method: 'S256'
      })
    },

    async complete ({ callbackUrl, state, codeVerifier }) {
      try {
        const tokens = await client.authorizationCodeGrant(cfg, callbackUrl, { pkceCodeVerifier: codeVerifier, expectedState: state })
        const user = await api(tokens.access_token, '/user') as { id?: unknown, name?: unknown, login?: unknown } | null
        const id = user?.id
        if ((typeof id !== 'number' || !Number.isSafeInteger(id)) && (typeof id !== 'string' || !/^\d{1,20}$/.test(id))) {
          throw new ProviderError('access_denied', 'GitHub gave no user id')
        }
        const emails = await api(tokens.access_token, '/user/emails')
        const primary = Array.isArray(emails) ? (emails as GitHubEmail[]).find(e => e?.primary === true) : undefined
        const email = providerEmail(primary?.email)
        return { subject: String(id), email, emailVerified: email !== null && primary?.verified === true, name: displayName(user?.name) ?? displayName(user?.login) }
      } catch (err) {
        throw providerFailure(err)
      }
    }
  }
}

import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { OAuth2Server, type MutableResponse, type MutableToken } from 'oauth2-mock-server'

/** What the fake Google puts in its next ID tokens, and how to spoil them. */
export interface GoogleUser { sub: string, email?: string, email_verified?: boolean, name?: string }
export type GoogleTamper = 'nonce' | 'signature' | 'aud' | undefined

/**
 * Google for tests: a real OIDC issuer (oauth2-mock-server 8) on 127.0.0.1 port 0, with discovery,
 * JWKS, authorize and token endpoints. Its ID tokens carry the nonce of the authorize request (the
 * server's own behaviour) and, through its hooks, the claims of `user`; `tamper` spoils the next ones.
 */
export async function startFakeGoogle () {
  const server = new OAuth2Server()
  await server.issuer.keys.generate('RS256')
  await server.start(0, '127.0.0.1')
  const state: { user: GoogleUser, tamper: GoogleTamper } = { user: { sub: randomUUID() }, tamper: undefined }
  server.service.on('beforeTokenSigning', (token: MutableToken) => {
    Object.assign(token.payload, state.user)
    if (state.tamper === 'nonce') token.payload.nonce = 'not-the-flows-nonce'
    if (state.tamper === 'aud') token.payload.aud = 'another-client'
  })
  server.service.on('beforeResponse', (response: MutableResponse) => {
    const body = response.body as Record<string, unknown>
    if (state.tamper === 'signature' && typeof body.id_token === 'string') {
      const [header, payload, signature = ''] = body.id_token.split('.')
      const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11)
      body.id_token = `${header}.${payload}.${flipped}`
    }
  })
  return {
    issuer: server.issuer.url ?? '',
    /** The person who signs in next (claims merged into the ID token). */
    signInAs (user: GoogleUser) { state.user = user; state.tamper = undefined },
    tamper (kind: GoogleTamper) { state.tamper = kind },
    stop: () => server.stop()
  }
}
export type FakeGoogle = Awaited<ReturnType<typeof startFakeGoogle>>

export interface GitHubUser { id: number, login: string, name?: string | null, emails: Array<{ email: string, primary: boolean, verified: boolean }> }

/**
 * GitHub for tests: a small node:http server on 127.0.0.1 port 0 serving /login/oauth/authorize
 * (redirects back with a code and the state), /login/oauth/access_token (checks the client secret and
 * the PKCE verifier, RFC 7636 S256), /user and /user/emails for the configured user.
 */
export async function startFakeGitHub (client: { id: string, secret: string }) {
  const codes = new Map<string, { challenge: string, user: GitHubUser }>()
  const tokens = new Map<string, GitHubUser>()
  let current: GitHubUser = { id: 1, login: 'octocat', emails: [] }
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  }
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      const code = randomBytes(16).toString('hex')
      codes.set(code, { challenge: url.searchParams.get('code_challenge') ?? '', user: current })
      const back = new URL(url.searchParams.get('redirect_uri') ?? '')
      back.searchParams.set('code', code)
      back.searchParams.set('state', url.searchParams.get('state') ?? '')
      res.writeHead(302, { location: back.href }).end()
      return
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      let raw = ''
      req.on('data', (chunk: Buffer) => { raw += chunk.toString() })
      req.on('end', () => {
        const form = new URLSearchParams(raw)
        const grant = codes.get(form.get('code') ?? '')
        codes.delete(form.get('code') ?? '')
        const verifier = form.get('code_verifier') ?? ''
        const s256 = createHash('sha256').update(verifier).digest('base64url')
        if (form.get('client_id') !== client.id || form.get('client_secret') !== client.secret || !grant || s256 !== grant.challenge) {
          json(res, 400, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' })
          return
        }
        const token = randomBytes(16).toString('hex')
        tokens.set(token, grant.user)
        json(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' })
      })
      return
    }
    const user = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /i, ''))
    if (!user) { json(res, 401, { message: 'Bad credentials' }); return }
    if (url.pathname === '/user') { json(res, 200, { id: user.id, login: user.login, name: user.name ?? null }); return }
    if (url.pathname === '/user/emails') { json(res, 200, user.emails); return }
    json(res, 404, { message: 'Not Found' })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url: base,
    signInAs (user: GitHubUser) { current = user },
    stop: () => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}
export type FakeGitHub = Awaited<ReturnType<typeof startFakeGitHub>>

/** An app's PKCE pair (RFC 7636 §4.1–4.2, S256). */
export function pkcePair () {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

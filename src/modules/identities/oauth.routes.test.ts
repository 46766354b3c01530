import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it, type TestContext } from 'node:test'
import { eq } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, type TestApp } from '../../../test/build-test-app.js'
import { uniqueEmail } from '../../../test/factories.js'
import { pkcePair, startFakeGitHub, startFakeGoogle, type FakeGitHub, type FakeGoogle } from '../../../test/oauth-providers.js'
import { auditEventsTable } from '../audit/audit.table.js'
import { userIdentitiesTable } from './identities.table.js'

const APP = 'https://app.example.test/callback'
const OTHER_APP = 'https://other.example.test/callback'
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
let google: FakeGoogle
let github: FakeGitHub

before(async () => {
  google = await startFakeGoogle()
  github = await startFakeGitHub({ id: 'gh-client', secret: 'gh-secret' })
})
after(async () => { await google.stop(); await github.stop() })

async function oauthApp (t: TestContext): Promise<TestApp> {
  return buildTestApp(t, {
    OAUTH_REDIRECT_URIS: `${APP},${OTHER_APP}`,
    OAUTH_GOOGLE_CLIENT_ID: 'taskflow-google',
    OAUTH_GOOGLE_CLIENT_SECRET: 'google-secret',
    OAUTH_GOOGLE_ISSUER: google.issuer,
    OAUTH_GITHUB_CLIENT_ID: 'gh-client',
    OAUTH_GITHUB_CLIENT_SECRET: 'gh-secret',
    OAUTH_GITHUB_URL: github.url,
    OAUTH_GITHUB_API_URL: github.url
  })
}

interface Landing { location: URL, code: string | null, error: string | null, state: string | null, verifier: string, callbackPath: string }

/**
 * Drives a browser through a flow: our authorize (or a link flow's authorization_url) → the provider
 * (a real local server) → our callback (on `callbackApp`, which may be another instance) → the app.
 */
async function runFlow (app: FastifyInstance, provider: 'google' | 'github', options: { authorizationUrl?: string, verifier?: string, callbackApp?: FastifyInstance, appState?: string } = {}): Promise<Landing> {
  const pkce = pkcePair()
  let toProvider = options.authorizationUrl
  if (!toProvider) {
    const query = new URLSearchParams({ redirect_uri: APP, code_challenge: pkce.challenge, code_challenge_method: 'S256', state: options.appState ?? 'app-state-1' })
    const res = await app.inject({ method: 'GET', url: `/v1/auth/oauth/${provider}/authorize?${query.toString()}` })
    assert.equal(res.statusCode, 302, res.body)
    toProvider = String(res.headers.location)
  }
  const atProvider = await fetch(toProvider, { redirect: 'manual' })
  assert.equal(atProvider.status, 302)
  const callback = new URL(atProvider.headers.get('location') ?? '')
  assert.equal(callback.pathname, `/v1/auth/oauth/${provider}/callback`)
  const callbackPath = callback.pathname + callback.search
  const res = await (options.callbackApp ?? app).inject({ method: 'GET', url: callbackPath })
  assert.equal(res.statusCode, 302, res.body)
  const location = new URL(String(res.headers.location))
  assert.equal(location.origin + location.pathname, APP)
  return { location, code: location.searchParams.get('code'), error: location.searchParams.get('error'), state: location.searchParams.get('state'), verifier: options.verifier ?? pkce.verifier, callbackPath }
}

const exchange = (app: FastifyInstance, code: string, verifier: string, redirectUri = APP) => app.inject({
  method: 'POST', url: '/v1/auth/token', headers: FORM, payload: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }).toString()
})

async function signInWithCode (app: FastifyInstance, landing: Landing) {
  assert.equal(landing.error, null, `expected a code, got ${landing.error}`)
  const res = await exchange(app, landing.code ?? '', landing.verifier)
  assert.equal(res.statusCode, 200, res.body)
  const tokens = res.json<{ access_token: string, refresh_token: string }>()
  const me = await app.inject({ method: 'GET', url: '/v1/users/me', headers: { authorization: `Bearer ${tokens.access_token}` } })
  return { tokens, me: me.json<{ id: string, email: string, email_verified: boolean, username: string | null, name: string | null }>() }
}

const identitiesOf = (t: TestApp, userId: string) => t.database.db.select().from(userIdentitiesTable).where(eq(userIdentitiesTable.user_id, userId))
const auditOf = (t: TestApp, userId: string) => t.database.db.select().from(auditEventsTable).where(eq(auditEventsTable.user_id, userId))

describe('Sign-in with Google (OpenID Connect)', () => {
  it('when a new person signs in, then an account is made with the provider\'s email and name, no password, and signing in again reaches the same account', async (t) => {
    const ctx = await oauthApp(t)
    const email = uniqueEmail('g')
    google.signInAs({ sub: randomUUID(), email, email_verified: true, name: 'Grace Hopper' })

    const first = await runFlow(ctx.app, 'google')
    assert.equal(first.state, 'app-state-1')
    assert.doesNotMatch(first.location.href, /access_token|refresh_token/)
    const { me } = await signInWithCode(ctx.app, first)
    assert.equal(me.email, email)
    assert.equal(me.email_verified, true)
    assert.equal(me.username, null)
    assert.equal(me.name, 'Grace Hopper')
    assert.equal((await ctx.make.reloadUser(me.id))?.password_hash, null)
    const login = (await auditOf(ctx, me.id)).find(e => e.type === 'login.success')
    assert.deepEqual([login?.details?.method, login?.details?.amr], ['google', ['fed']])

    const again = await signInWithCode(ctx.app, await runFlow(ctx.app, 'google'))
    assert.equal(again.me.id, me.id)
    assert.equal((await identitiesOf(ctx, me.id)).length, 1)
  })

  it('when an account already has the provider\'s email, then error=account_exists and nothing is linked or created', async (t) => {
    const ctx = await oauthApp(t)
    const existing = await ctx.make.user()
    google.signInAs({ sub: randomUUID(), email: existing.email.toUpperCase(), email_verified: true })

    const landing = await runFlow(ctx.app, 'google')

    assert.equal(landing.error, 'account_exists')
    assert.equal(landing.code, null)
    assert.equal(landing.state, 'app-state-1')
    assert.equal((await identitiesOf(ctx, existing.id)).length, 0)
  })

  for (const [kind, label] of [['nonce', 'another nonce'], ['signature', 'a broken signature'], ['aud', 'another audience']] as const) {
    it(`when the ID token carries ${label}, then error=access_denied and no code`, async (t) => {
      const ctx = await oauthApp(t)
      google.signInAs({ sub: randomUUID(), email: uniqueEmail('forged'), email_verified: true })
      google.tamper(kind)

      const landing = await runFlow(ctx.app, 'google')

      assert.equal(landing.error, 'access_denied')
      assert.equal(landing.code, null)
    })
  }

  it('when the callback\'s state is replayed, unknown or expired, then 400 problem+json and no redirect', async (t) => {
    const ctx = await oauthApp(t)
    google.signInAs({ sub: randomUUID(), email: uniqueEmail('replay'), email_verified: true })
    const landing = await runFlow(ctx.app, 'google')
    assert.ok(landing.code)

    const replay = await ctx.app.inject({ method: 'GET', url: landing.callbackPath })
    assert.equal(replay.statusCode, 400)
    assert.equal(replay.headers.location, undefined)
    assert.equal(replay.json().code, 'oauth_state_invalid')

    const unknown = await ctx.app.inject({ method: 'GET', url: '/v1/auth/oauth/google/callback?code=x&state=made-up' })
    assert.equal(unknown.statusCode, 400)

    const pkce = pkcePair()
    const start = await ctx.app.inject({ method: 'GET', url: `/v1/auth/oauth/google/authorize?redirect_uri=${encodeURIComponent(APP)}&code_challenge=${pkce.challenge}&code_challenge_method=S256` })
    const atProvider = await fetch(String(start.headers.location), { redirect: 'manual' })
    const callback = new URL(atProvider.headers.get('location') ?? '')
    ctx.clock.advance(601)
    const expired = await ctx.app.inject({ method: 'GET', url: callback.pathname + callback.search })
    assert.equal(expired.statusCode, 400)
    assert.equal(expired.headers.location, undefined)
  })

  it('when the authorize request is bad, then 400 or 404 problem+json and never a redirect', async (t) => {
    const ctx = await oauthApp(t)
    const { challenge } = pkcePair()
    const cases: Array<[string, number]> = [
      [`/v1/auth/oauth/google/authorize?redirect_uri=${encodeURIComponent('https://evil.example/callback')}&code_challenge=${challenge}&code_challenge_method=S256`, 400],
      [`/v1/auth/oauth/google/authorize?redirect_uri=${encodeURIComponent(`${APP}/`)}&code_challenge=${challenge}&code_challenge_method=S256`, 400],
      [`/v1/auth/oauth/google/authorize?redirect_uri=${encodeURIComponent(APP)}&code_challenge=short&code_challenge_method=S256`, 400],
      [`/v1/auth/oauth/google/authorize?redirect_uri=${encodeURIComponent(APP)}&code_challenge=${challenge}`, 400],
      [`/v1/auth/oauth/google/authorize?redirect_uri=${encodeURIComponent(APP)}&code_challenge=${challenge}&code_challenge_method=plain`, 400],
      [`/v1/auth/oauth/google/authorize?redirect_uri=${encodeURIComponent(APP)}&code_challenge=${challenge}&code_challenge_method=S256&state=a%00b`, 400],
      [`/v1/auth/oauth/facebook/authorize?redirect_uri=${encodeURIComponent(APP)}&code_challenge=${challenge}&code_challenge_method=S256`, 404]
    ]
    for (const [url, status] of cases) {
      const res = await ctx.app.inject({ method: 'GET', url })
      assert.equal(res.statusCode, status, url)
      assert.equal(res.headers.location, undefined, url)
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/)
    }
    const unconfigured = await buildTestApp(t, { OAUTH_REDIRECT_URIS: APP })
    const res = await unconfigured.app.inject({ method: 'GET', url: `/v1/auth/oauth/google/authorize?redirect_uri=${encodeURIComponent(APP)}&code_challenge=${challenge}&code_challenge_method=S256` })
    assert.equal(res.statusCode, 404)
    assert.equal(res.json().code, 'provider_not_configured')
  })

  it('when the provider cannot be reached, then a redirect to the app with error=temporarily_unavailable, never a 5xx', async (t) => {
    const closed = await startFakeGitHub({ id: 'x', secret: 'y' })
    await closed.stop() // a port that nothing listens on any more
    const ctx = await buildTestApp(t, { OAUTH_REDIRECT_URIS: APP, OAUTH_GOOGLE_CLIENT_ID: 'g', OAUTH_GOOGLE_CLIENT_SECRET: 's', OAUTH_GOOGLE_ISSUER: closed.url })
    const res = await ctx.app.inject({ method: 'GET', url: `/v1/auth/oauth/google/authorize?redirect_uri=${encodeURIComponent(APP)}&code_challenge=${pkcePair().challenge}&code_challenge_method=S256&state=s1` })
    assert.equal(res.statusCode, 302)
    const location = new URL(String(res.headers.location))
    assert.equal(location.origin + location.pathname, APP)
    assert.deepEqual([location.searchParams.get('error'), location.searchParams.get('state')], ['temporarily_unavailable', 's1'])
  })

  it('when the authorize runs on one instance and the callback on another, then the flow completes (state in the database)', async (t) => {
    const one = await oauthApp(t)
    const two = await oauthApp(t)
    google.signInAs({ sub: randomUUID(), email: uniqueEmail('two'), email_verified: false })
    const landing = await runFlow(one.app, 'google', { callbackApp: two.app })
    const { me } = await signInWithCode(one.app, landing)
    assert.equal(me.email_verified, false)
  })
})

describe('the authorization_code grant', () => {
  async function freshCode (ctx: TestApp) {
    google.signInAs({ sub: randomUUID(), email: uniqueEmail('code'), email_verified: true })
    const landing = await runFlow(ctx.app, 'google')
    assert.ok(landing.code)
    return { code: landing.code, verifier: landing.verifier }
  }

  it('when the code is used twice, then the second is invalid_grant', async (t) => {
    const ctx = await oauthApp(t)
    const { code, verifier } = await freshCode(ctx)
    assert.equal((await exchange(ctx.app, code, verifier)).statusCode, 200)
    const again = await exchange(ctx.app, code, verifier)
    assert.equal(again.statusCode, 400)
    assert.equal(again.json().error, 'invalid_grant')
  })

  it('when the verifier, the redirect_uri or the age is wrong, then invalid_grant', async (t) => {
    const ctx = await oauthApp(t)
    const a = await freshCode(ctx)
    assert.equal((await exchange(ctx.app, a.code, pkcePair().verifier)).json().error, 'invalid_grant')
    assert.equal((await exchange(ctx.app, a.code, a.verifier)).json().error, 'invalid_grant', 'a wrong verifier spends the code')
    const b = await freshCode(ctx)
    assert.equal((await exchange(ctx.app, b.code, b.verifier, OTHER_APP)).json().error, 'invalid_grant')
    const c = await freshCode(ctx)
    ctx.clock.advance(61)
    const late = await exchange(ctx.app, c.code, c.verifier)
    assert.equal(late.statusCode, 400)
    assert.equal(late.json().error, 'invalid_grant')
  })

  it('when the account has MFA on, then the exchange answers 403 mfa_required and no session', async (t) => {
    const ctx = await oauthApp(t)
    const first = await signInWithCode(ctx.app, await (async () => {
      google.signInAs({ sub: randomUUID(), email: uniqueEmail('mfa'), email_verified: true })
      return runFlow(ctx.app, 'google')
    })())
    await ctx.make.updateUser(first.me.id, { mfa_enabled: true })

    const landing = await runFlow(ctx.app, 'google')
    const res = await exchange(ctx.app, landing.code ?? '', landing.verifier)

    assert.equal(res.statusCode, 403)
    assert.equal(res.json().error, 'mfa_required')
    assert.equal(typeof res.json().mfa_token, 'string')
    assert.equal(res.json().access_token, undefined)
  })

  it('when the account is disabled, then error=access_denied at the callback', async (t) => {
    const ctx = await oauthApp(t)
    google.signInAs({ sub: randomUUID(), email: uniqueEmail('off'), email_verified: true })
    const { me } = await signInWithCode(ctx.app, await runFlow(ctx.app, 'google'))
    await ctx.make.updateUser(me.id, { is_active: false })
    assert.equal((await runFlow(ctx.app, 'google')).error, 'access_denied')
  })
})

describe('Sign-in with GitHub (OAuth 2.0 + PKCE)', () => {
  it('when the person has a verified primary address, then an account is made with it; without any address, error=email_required', async (t) => {
    const ctx = await oauthApp(t)
    const email = uniqueEmail('gh')
    github.signInAs({ id: Math.floor(Math.random() * 1e9), login: 'octo', name: null, emails: [{ email: uniqueEmail('other'), primary: false, verified: true }, { email, primary: true, verified: true }] })
    const { me } = await signInWithCode(ctx.app, await runFlow(ctx.app, 'github'))
    assert.equal(me.email, email)
    assert.equal(me.email_verified, true)
    assert.equal(me.name, 'octo')

    github.signInAs({ id: Math.floor(Math.random() * 1e9), login: 'ghost', emails: [] })
    const none = await runFlow(ctx.app, 'github')
    assert.equal(none.error, 'email_required')
    assert.equal(none.code, null)
  })
})

describe('/v1/users/me/identities', () => {
  async function startLink (ctx: TestApp, token: string, password: string, provider = 'google') {
    const pkce = pkcePair()
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/v1/users/me/identities',
      headers: { authorization: `Bearer ${token}` },
      payload: { provider, redirect_uri: APP, code_challenge: pkce.challenge, code_challenge_method: 'S256', current_password: password }
    })
    return { res, verifier: pkce.verifier }
  }

  it('when a user links Google, then it is listed, signs in the same account, and another account cannot take it (identity_taken)', async (t) => {
    const ctx = await oauthApp(t)
    const owner = await ctx.make.user()
    const sub = randomUUID()
    google.signInAs({ sub, email: uniqueEmail('linked'), email_verified: true })

    const { res, verifier } = await startLink(ctx, owner.tokens.access_token, owner.password)
    assert.equal(res.statusCode, 200, res.body)
    const linked = await signInWithCode(ctx.app, await runFlow(ctx.app, 'google', { authorizationUrl: res.json().authorization_url, verifier }))
    assert.equal(linked.me.id, owner.id)

    const list = await ctx.app.inject({ method: 'GET', url: '/v1/users/me/identities', headers: ctx.make.bearer(owner.tokens.access_token) })
    assert.equal(list.json().data.length, 1)
    assert.equal(list.json().data[0].provider, 'google')
    assert.ok((await auditOf(ctx, owner.id)).some(e => e.type === 'identity.linked'))
    assert.equal((await signInWithCode(ctx.app, await runFlow(ctx.app, 'google'))).me.id, owner.id)

    const intruder = await ctx.make.user()
    const second = await startLink(ctx, intruder.tokens.access_token, intruder.password)
    const taken = await runFlow(ctx.app, 'google', { authorizationUrl: second.res.json().authorization_url, verifier: second.verifier })
    assert.equal(taken.error, 'identity_taken')
    assert.equal((await identitiesOf(ctx, intruder.id)).length, 0)
  })

  it('when the current password is wrong or the account has none, then 400 wrong_password', async (t) => {
    const ctx = await oauthApp(t)
    const user = await ctx.make.user()
    assert.equal((await startLink(ctx, user.tokens.access_token, 'not the password')).res.json().code, 'wrong_password')

    google.signInAs({ sub: randomUUID(), email: uniqueEmail('nopw'), email_verified: true })
    const social = await signInWithCode(ctx.app, await runFlow(ctx.app, 'google'))
    const res = (await startLink(ctx, social.tokens.access_token, 'anything at all 1')).res
    assert.equal(res.statusCode, 400)
    assert.equal(res.json().code, 'wrong_password')
  })

  it('when the last way to sign in would go, then 409 last_credential; with a password left, 204 and identity.unlinked', async (t) => {
    const ctx = await oauthApp(t)
    google.signInAs({ sub: randomUUID(), email: uniqueEmail('last'), email_verified: true })
    const social = await signInWithCode(ctx.app, await runFlow(ctx.app, 'google'))
    const [identity] = await identitiesOf(ctx, social.me.id)
    const del = (token: string, id: string) => ctx.app.inject({ method: 'DELETE', url: `/v1/users/me/identities/${id}`, headers: ctx.make.bearer(token) })

    const refused = await del(social.tokens.access_token, identity?.id ?? '')
    assert.equal(refused.statusCode, 409)
    assert.equal(refused.json().code, 'last_credential')
    assert.equal((await identitiesOf(ctx, social.me.id)).length, 1)

    const owner = await ctx.make.user()
    google.signInAs({ sub: randomUUID(), email: uniqueEmail('l2'), email_verified: true })
    const link = await startLink(ctx, owner.tokens.access_token, owner.password)
    await signInWithCode(ctx.app, await runFlow(ctx.app, 'google', { authorizationUrl: link.res.json().authorization_url, verifier: link.verifier }))
    const [ownerIdentity] = await identitiesOf(ctx, owner.id)
    assert.equal((await del(social.tokens.access_token, ownerIdentity?.id ?? '')).statusCode, 404, 'another user\'s identity')
    assert.equal((await del(owner.tokens.access_token, ownerIdentity?.id ?? '')).statusCode, 204)
    assert.equal((await identitiesOf(ctx, owner.id)).length, 0)
    assert.ok((await auditOf(ctx, owner.id)).some(e => e.type === 'identity.unlinked'))
  })
})

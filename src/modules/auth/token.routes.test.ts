import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTestApp } from '../../../test/build-test-app.js'
import { uniqueEmail, uniqueUsername } from '../../../test/factories.js'
import { storageLabel } from '../../../test/test-env.js'

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()

describe(`POST /v1/auth/token (RFC 6749) [${storageLabel}]`, () => {
  function assertOAuthError (res: { statusCode: number, headers: Record<string, unknown>, json: () => Record<string, unknown>, body: string }, error: string) {
    assert.equal(res.statusCode, 400, res.body)
    assert.match(String(res.headers['content-type']), /^application\/json/)
    assert.equal(res.headers['cache-control'], 'no-store')
    assert.equal(res.headers.pragma, 'no-cache')
    const body = res.json()
    assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description'])
    assert.equal(body.error, error)
    assert.match(String(body.error_description), /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/)
  }

  it('when the password grant is right (email or username), then 200 with an RFC 6749 body and no user', async (t) => {
    const { app, make } = await buildTestApp(t)
    const username = uniqueUsername()
    const user = await make.user({ username })
    for (const login of [user.email, username]) {
      const res = await app.inject({ method: 'POST', url: '/v1/auth/token', headers: FORM, payload: form({ grant_type: 'password', username: login, password: user.password, client_id: 'swagger', scope: '' }) })
      assert.equal(res.statusCode, 200)
      assert.equal(res.headers['cache-control'], 'no-store')
      assert.equal(res.headers.pragma, 'no-cache')
      assert.equal(res.headers['set-cookie'], undefined)
      const body = res.json()
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type'])
      assert.equal(body.token_type, 'Bearer')
      assert.equal(body.expires_in, 900)
      const me = await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(body.access_token) })
      assert.equal(me.json().id, user.id)
    }
  })

  it('when client credentials come as a Basic header, then they are ignored (public clients)', async (t) => {
    const { app, make } = await buildTestApp(t)
    const user = await make.user()
    const res = await app.inject({
      method: 'POST',
      url: '/v1/auth/token',
      headers: { ...FORM, authorization: `Basic ${Buffer.from('client:secret').toString('base64')}` },
      payload: form({ grant_type: 'password', username: user.email, password: user.password })
    })
    assert.equal(res.statusCode, 200)
  })

  it('when the password is wrong, the account unknown or disabled, then the same invalid_grant', async (t) => {
    const { app, make } = await buildTestApp(t)
    const user = await make.user()
    const disabled = await make.user()
    await make.updateUser(disabled.id, { is_active: false })
    const bodies = []
    for (const [username, password] of [[user.email, 'wrong password here'], [uniqueEmail('ghost'), 'wrong password here'], [disabled.email, disabled.password]] as const) {
      const res = await app.inject({ method: 'POST', url: '/v1/auth/token', headers: FORM, payload: form({ grant_type: 'password', username, password }) })
      assertOAuthError(res, 'invalid_grant')
      bodies.push(res.body)
    }
    assert.equal(bodies[0], bodies[1])
  })

  it('when refreshing, then a new pair comes back; the spent token after the grace window is invalid_grant and revokes the session', async (t) => {
    const { app, make, clock, config } = await buildTestApp(t)
    const user = await make.user()
    const first = await app.inject({ method: 'POST', url: '/v1/auth/token', headers: FORM, payload: form({ grant_type: 'refresh_token', refresh_token: user.tokens.refresh_token }) })
    assert.equal(first.statusCode, 200)
    const fresh = first.json()
    clock.advance(config.auth.refreshReuseGrace + 1)
    const replay = await app.inject({ method: 'POST', url: '/v1/auth/token', headers: FORM, payload: form({ grant_type: 'refresh_token', refresh_token: user.tokens.refresh_token }) })
    assertOAuthError(replay, 'invalid_grant')
    const me = await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(fresh.access_token) })
    assert.equal(me.statusCode, 401)
    const access = await app.inject({ method: 'POST', url: '/v1/auth/token', headers: FORM, payload: form({ grant_type: 'refresh_token', refresh_token: fresh.access_token }) })
    assertOAuthError(access, 'invalid_grant')
  })

  it('when parameters are missing, empty or repeated, then invalid_request', async (t) => {
    const { app } = await buildTestApp(t)
    for (const payload of ['', 'username=a&password=b', 'grant_type=password&username=a', 'grant_type=password&username=&password=b',
      'grant_type=refresh_token', 'grant_type=password&grant_type=password&username=a&password=b', 'grant_type=password&username=a&username=b&password=c']) {
      const res = await app.inject({ method: 'POST', url: '/v1/auth/token', headers: FORM, payload })
      assertOAuthError(res, 'invalid_request')
    }
  })

  it('when the body is not form-encoded, then invalid_request', async (t) => {
    const { app } = await buildTestApp(t)
    const asJson = await app.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'password', username: 'a', password: 'b' } })
    assertOAuthError(asJson, 'invalid_request')
    const asText = await app.inject({ method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'text/plain' }, payload: 'grant_type=password' })
    assertOAuthError(asText, 'invalid_request')
  })

  it('when the grant type is another one, then unsupported_grant_type', async (t) => {
    const { app } = await buildTestApp(t)
    for (const grant of ['client_credentials', 'implicit', 'urn:ietf:params:oauth:grant-type:jwt-bearer']) {
      const res = await app.inject({ method: 'POST', url: '/v1/auth/token', headers: FORM, payload: form({ grant_type: grant }) })
      assertOAuthError(res, 'unsupported_grant_type')
    }
  })

  it('when the metadata is fetched, then issuer equals the tokens\' iss and the endpoints are advertised', async (t) => {
    const { app, make, config } = await buildTestApp(t)
    const meta = (await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json()
    const user = await make.user()
    const iss = JSON.parse(Buffer.from(user.tokens.access_token.split('.')[1] ?? '', 'base64url').toString()).iss
    assert.equal(meta.issuer, iss)
    assert.equal(meta.issuer, config.auth.issuer)
    assert.equal(meta.token_endpoint, `${config.http.publicUrl}/v1/auth/token`)
    assert.equal(meta.jwks_uri, `${config.http.publicUrl}/.well-known/jwks.json`)
    assert.deepEqual(meta.grant_types_supported, ['password', 'refresh_token', 'authorization_code', 'urn:taskflow:params:oauth:grant-type:mfa-otp'])
    assert.deepEqual(meta.token_endpoint_auth_methods_supported, ['none'])
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { hash as bcryptHash } from '@node-rs/bcrypt'
import { hash as argon2Hash } from '@node-rs/argon2'
import { buildTestApp, json } from '../../../test/build-test-app.js'
import { DEFAULT_PASSWORD, uniqueEmail, uniqueUsername } from '../../../test/factories.js'
import { storageLabel } from '../../../test/test-env.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe(`auth routes [${storageLabel}]`, () => {
  describe('POST /v1/auth/register', () => {
    it('when the input is valid, then responds 201 with a token pair and the user, email lower-cased', async (t) => {
      const { app } = await buildTestApp(t)
      const email = uniqueEmail('Ada').replace('ada', 'ADA')
      const username = uniqueUsername()
      const res = await app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password: DEFAULT_PASSWORD, username, name: 'Ada Lovelace' } })
      assert.equal(res.statusCode, 201)
      assert.equal(res.headers['cache-control'], 'no-store')
      const body = res.json()
      assert.equal(body.token_type, 'Bearer')
      assert.equal(body.expires_in, 900)
      assert.match(body.refresh_token, /^[A-Za-z0-9_-]{43}$/)
      assert.equal(body.access_token.split('.').length, 3)
      assert.match(body.user.id, UUID)
      assert.equal(body.user.email, email.toLowerCase())
      assert.equal(body.user.username, username)
      assert.equal(body.user.name, 'Ada Lovelace')
      assert.equal(body.user.role, 'user')
      assert.equal(body.user.is_active, true)
      assert.equal(body.user.email_verified, false)
      assert.equal(body.user.mfa_enabled, false)
      assert.ok(!('password_hash' in body.user))
      assert.doesNotMatch(res.body, /argon2|password_hash/)
    })

    it('when the password is weak, then responds 400 weak_password with a field error and creates nothing', async (t) => {
      const { app, make } = await buildTestApp(t)
      const email = uniqueEmail()
      for (const password of ['short', 'password123', 'Qwertyuiop', 'my taskflow pass', `${email.split('@')[0]}-x1!`]) {
        const res = await app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password } })
        assert.equal(res.statusCode, 400, password)
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/)
        assert.equal(res.json().code, 'weak_password')
        assert.equal(res.json().errors[0].field, 'password')
      }
      const ok = await make.register({ email })
      assert.equal(ok.user.email, email)
    })

    it('when the password contains the username, then responds 400', async (t) => {
      const { app } = await buildTestApp(t)
      const username = uniqueUsername()
      const res = await app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: uniqueEmail(), username, password: `xx${username.toUpperCase()}yy zz` } })
      assert.equal(res.statusCode, 400)
      assert.match(res.json().detail, /username/)
    })

    it('when fields are unknown, mistyped or malformed, then responds 400 naming the field', async (t) => {
      const { app } = await buildTestApp(t)
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ email: uniqueEmail(), password: DEFAULT_PASSWORD, role: 'admin' }, 'role'],
        [{ email: 'not-an-email', password: DEFAULT_PASSWORD }, 'email'],
        [{ email: [uniqueEmail()], password: DEFAULT_PASSWORD }, 'email'],
        [{ email: uniqueEmail(), password: { $ne: null } }, 'password'],
        [{ email: uniqueEmail() }, 'password'],
        [{ email: uniqueEmail(), password: DEFAULT_PASSWORD, username: 'a b' }, 'username'],
        [{ email: uniqueEmail(), password: DEFAULT_PASSWORD, name: '' }, 'name']
      ]
      for (const [payload, field] of cases) {
        const res = await app.inject({ method: 'POST', url: '/v1/auth/register', payload })
        assert.equal(res.statusCode, 400, JSON.stringify(payload))
        assert.equal(res.json().errors[0].field, field, JSON.stringify(payload))
      }
    })

    it('when the email or username is taken (in any case), then responds 409', async (t) => {
      const { app, make } = await buildTestApp(t)
      const email = uniqueEmail()
      const username = uniqueUsername()
      await make.register({ email, username })
      const dupEmail = await app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: email.toUpperCase(), password: DEFAULT_PASSWORD } })
      assert.equal(dupEmail.statusCode, 409)
      assert.equal(dupEmail.json().code, 'email_taken')
      const dupName = await app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: uniqueEmail(), username: username.toUpperCase(), password: DEFAULT_PASSWORD } })
      assert.equal(dupName.statusCode, 409)
      assert.equal(dupName.json().code, 'username_taken')
    })

    it('when the same email registers concurrently, then exactly one gets 201 and the rest 409, never 500', async (t) => {
      const { app } = await buildTestApp(t)
      const email = uniqueEmail('race')
      const results = await Promise.all(Array.from({ length: 8 }, () =>
        app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password: DEFAULT_PASSWORD } })))
      const codes = results.map(r => r.statusCode).sort()
      assert.deepEqual(codes, [201, 409, 409, 409, 409, 409, 409, 409])
    })
  })

  describe('POST /v1/auth/login', () => {
    it('when the email or username and password are right, then responds 200 with a new session', async (t) => {
      const { app, make } = await buildTestApp(t)
      const username = uniqueUsername()
      const user = await make.user({ username })
      const byEmail = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email.toUpperCase(), password: user.password } })
      assert.equal(byEmail.statusCode, 200)
      assert.equal(byEmail.json().user.id, user.id)
      const byName = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: username.toUpperCase(), password: user.password } })
      assert.equal(byName.statusCode, 200)
      const sessions = await app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: make.bearer(byName.json().access_token) })
      assert.equal(sessions.json().data.length, 3)
    })

    it('when the account is unknown or the password wrong, then both get the same 401 body', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const wrong = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: 'not the password 1' } })
      const unknown = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: uniqueEmail('ghost'), password: 'not the password 1' } })
      assert.equal(wrong.statusCode, 401)
      assert.equal(unknown.statusCode, 401)
      assert.equal(wrong.headers['www-authenticate'], 'Bearer')
      const strip = (b: Record<string, unknown>) => ({ ...b, instance: undefined })
      assert.deepEqual(strip(json(wrong)), strip(json(unknown)))
      assert.equal(json(wrong).detail, 'Invalid email or password')
    })

    it('when the password is a case variant or has extra spaces, then it is refused (verified exactly as received)', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      for (const password of [user.password.toUpperCase(), ` ${user.password}`, `${user.password} `]) {
        const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password } })
        assert.equal(res.statusCode, 401)
      }
    })

    it('when the account is disabled, then 403 only after the right password', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      await make.updateUser(user.id, { is_active: false })
      const wrong = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: 'not the password 1' } })
      assert.equal(wrong.statusCode, 401)
      const right = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: user.password } })
      assert.equal(right.statusCode, 403)
      assert.equal(right.json().code, 'account_disabled')
    })

    it('when both or neither of email and username are sent, then responds 400', async (t) => {
      const { app } = await buildTestApp(t)
      for (const payload of [{ password: 'x' }, { email: 'a@b.c', username: 'abc', password: 'x' }]) {
        const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload })
        assert.equal(res.statusCode, 400)
      }
    })

    it('when the stored hash is a legacy bcrypt one, then login works and the hash becomes argon2id', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      for (const version of ['2a', '2b', '2y'] as const) {
        // the same bcrypt hash under each prefix the Python service wrote
        await make.updateUser(user.id, { password_hash: (await bcryptHash(user.password, 4)).replace(/^\$2b\$/, `$${version}$`) })
        const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: user.password } })
        assert.equal(res.statusCode, 200, version)
        assert.match((await make.reloadUser(user.id))?.password_hash ?? '', /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
      }
    })

    it('when the stored argon2id hash has outdated parameters, then it is re-hashed at login', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      await make.updateUser(user.id, { password_hash: await argon2Hash(user.password, { algorithm: 2, memoryCost: 8192, timeCost: 1, parallelism: 1 }) })
      const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: user.password } })
      assert.equal(res.statusCode, 200)
      assert.match((await make.reloadUser(user.id))?.password_hash ?? '', /m=19456,t=2,p=1/)
    })
  })

  describe('POST /v1/auth/refresh', () => {
    it('when the refresh token is current, then a new pair is issued and the old refresh token is spent', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const res = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.tokens.refresh_token } })
      assert.equal(res.statusCode, 200)
      const pair = res.json()
      assert.notEqual(pair.refresh_token, user.tokens.refresh_token)
      assert.equal(pair.user.id, user.id)
      const me = await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(pair.access_token) })
      assert.equal(me.statusCode, 200)
      const next = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: pair.refresh_token } })
      assert.equal(next.statusCode, 200)
    })

    it('when a spent refresh token is presented again after the grace window, then 401 and the whole session is revoked', async (t) => {
      const { app, make, clock, config } = await buildTestApp(t)
      const user = await make.user()
      const first = (await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.tokens.refresh_token } })).json()
      clock.advance(config.auth.refreshReuseGrace + 1)
      const replay = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.tokens.refresh_token } })
      assert.equal(replay.statusCode, 401)
      assert.equal(replay.json().code, 'refresh_token_invalid')
      assert.equal(replay.headers['www-authenticate'], 'Bearer')
      // the thief's and the victim's newer tokens are dead too
      const newer = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: first.refresh_token } })
      assert.equal(newer.statusCode, 401)
      const me = await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(first.access_token) })
      assert.equal(me.statusCode, 401)
      assert.match(String(me.headers['www-authenticate']), /error="invalid_token"/)
    })

    it('when the same refresh token is used concurrently with the grace window off, then exactly one request wins', async (t) => {
      const { app, make } = await buildTestApp(t, { REFRESH_REUSE_GRACE: '0' })
      const user = await make.user()
      const results = await Promise.all(Array.from({ length: 6 }, () =>
        app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.tokens.refresh_token } })))
      const ok = results.filter(r => r.statusCode === 200)
      assert.equal(ok.length, 1)
      assert.ok(results.every(r => r.statusCode === 200 || r.statusCode === 401))
    })

    it('when the token is unknown, an access token, or the refresh TTL has passed, then 401', async (t) => {
      const { app, make, clock, config } = await buildTestApp(t)
      const user = await make.user()
      for (const refreshToken of ['x'.repeat(43), user.tokens.access_token]) {
        const res = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: refreshToken } })
        assert.equal(res.statusCode, 401)
      }
      clock.advance(config.auth.refreshTtl + 1)
      const expired = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.tokens.refresh_token } })
      assert.equal(expired.statusCode, 401)
    })

    it('when SESSION_MAX_AGE has passed since login, then refresh fails however often it was rotated', async (t) => {
      const { app, make, clock } = await buildTestApp(t, { REFRESH_TOKEN_TTL: '3600', SESSION_MAX_AGE: '7200' })
      const user = await make.user()
      let refreshToken = user.tokens.refresh_token
      for (let i = 0; i < 3; i++) {
        clock.advance(3000)
        const res = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: refreshToken } })
        if (i < 2) {
          assert.equal(res.statusCode, 200, `rotation ${i}`)
          refreshToken = res.json().refresh_token
        } else {
          assert.equal(res.statusCode, 401, 'past the absolute session age')
        }
      }
    })

    it('when the user was disabled, then refresh fails', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      await make.updateUser(user.id, { is_active: false })
      const res = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.tokens.refresh_token } })
      assert.equal(res.statusCode, 401)
    })
  })

  describe('logout, logout-all and sessions', () => {
    it('when logging out, then that session\'s access and refresh tokens stop working, others do not', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const other = await make.login({ email: user.email }, user.password)
      const res = await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: make.bearer(user.tokens.access_token) })
      assert.equal(res.statusCode, 204)
      assert.equal(res.body, '')
      const me = await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token) })
      assert.equal(me.statusCode, 401)
      const refresh = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.tokens.refresh_token } })
      assert.equal(refresh.statusCode, 401)
      const otherMe = await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(other.access_token) })
      assert.equal(otherMe.statusCode, 200)
    })

    it('when logging out, then revocation holds after the cache loses its data', async (t) => {
      const { app, make, flushCache } = await buildTestApp(t)
      const user = await make.user()
      await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token) })
      await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: make.bearer(user.tokens.access_token) })
      await flushCache()
      const me = await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token) })
      assert.equal(me.statusCode, 401)
      assert.match(String(me.headers['www-authenticate']), /^Bearer error="invalid_token"/)
    })

    it('when logging out of all sessions, then every session of the user ends', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const other = await make.login({ email: user.email }, user.password)
      const bystander = await make.user()
      const res = await app.inject({ method: 'POST', url: '/v1/auth/logout-all', headers: make.bearer(other.access_token) })
      assert.equal(res.statusCode, 204)
      for (const token of [user.tokens.access_token, other.access_token]) {
        assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(token) })).statusCode, 401)
      }
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(bystander.tokens.access_token) })).statusCode, 200)
    })

    it('when listing sessions, then each live session shows with ip, user agent and the current one marked', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const second = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: user.password }, headers: { 'user-agent': 'test-agent/1.0' } })
      const res = await app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: make.bearer(second.json().access_token) })
      assert.equal(res.statusCode, 200)
      const list = res.json().data as Array<Record<string, unknown>>
      assert.equal(list.length, 2)
      const current = list.find(s => s.current)
      assert.equal(current?.user_agent, 'test-agent/1.0')
      assert.equal(current?.ip, '127.0.0.1')
      assert.deepEqual(Object.keys(current ?? {}).sort(), ['created_at', 'current', 'expires_at', 'id', 'ip', 'last_used_at', 'user_agent'])
      assert.equal(list.filter(s => s.current).length, 1)
    })

    it('when deleting one of the caller\'s sessions, then it ends; another user\'s session or a bad id is 404 / 400', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const other = await make.login({ email: user.email }, user.password)
      const stranger = await make.user()
      const list = (await app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: make.bearer(other.access_token) })).json().data as Array<{ id: string, current: boolean }>
      const firstId = list.find(s => !s.current)?.id
      const strangerSid = (await app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: make.bearer(stranger.tokens.access_token) })).json().data[0].id

      const foreign = await app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${strangerSid}`, headers: make.bearer(other.access_token) })
      assert.equal(foreign.statusCode, 404)
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(stranger.tokens.access_token) })).statusCode, 200)
      const malformed = await app.inject({ method: 'DELETE', url: '/v1/auth/sessions/not-a-uuid', headers: make.bearer(other.access_token) })
      assert.equal(malformed.statusCode, 400)

      const res = await app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${firstId}`, headers: make.bearer(other.access_token) })
      assert.equal(res.statusCode, 204)
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token) })).statusCode, 401)
      const again = await app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${firstId}`, headers: make.bearer(other.access_token) })
      assert.equal(again.statusCode, 404)
    })

    it('when a protected route gets no token, an empty one or another scheme, then 401 Bearer without error', async (t) => {
      const { app } = await buildTestApp(t)
      for (const authorization of [undefined, '', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz']) {
        const res = await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: authorization === undefined ? {} : { authorization } })
        assert.equal(res.statusCode, 401, String(authorization))
        assert.equal(res.headers['www-authenticate'], 'Bearer')
        assert.equal(res.json().code, 'unauthenticated')
      }
    })

    it('when the scheme is written in another case, then the token is still accepted', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const res = await app.inject({ method: 'GET', url: '/v1/users/me', headers: { authorization: `bEaReR ${user.tokens.access_token}` } })
      assert.equal(res.statusCode, 200)
    })
  })
})

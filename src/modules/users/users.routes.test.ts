import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTestApp } from '../../../test/build-test-app.js'
import { uniqueUsername } from '../../../test/factories.js'
import { storageLabel } from '../../../test/test-env.js'

describe(`users routes [${storageLabel}]`, () => {
  describe('GET /v1/users/me', () => {
    it('when authenticated, then 200 with the user object and nothing secret', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const res = await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token) })
      assert.equal(res.statusCode, 200)
      assert.equal(res.headers['cache-control'], 'no-store')
      assert.deepEqual(Object.keys(res.json()).sort(), ['created_at', 'email', 'email_verified', 'id', 'is_active', 'mfa_enabled', 'name', 'role', 'updated_at', 'username'])
      assert.match(res.json().created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    })

    it('when no token is sent, then 401', async (t) => {
      const { app } = await buildTestApp(t)
      const res = await app.inject({ method: 'GET', url: '/v1/users/me' })
      assert.equal(res.statusCode, 401)
      assert.equal(res.headers['www-authenticate'], 'Bearer')
    })
  })

  describe('PATCH /v1/users/me', () => {
    it('when name and username are valid, then 200 with them changed and updated_at moved', async (t) => {
      const { app, make, clock } = await buildTestApp(t)
      const user = await make.user()
      clock.advance(5)
      const username = uniqueUsername()
      const res = await app.inject({ method: 'PATCH', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token), payload: { name: 'Ada L.', username } })
      assert.equal(res.statusCode, 200)
      assert.equal(res.json().name, 'Ada L.')
      assert.equal(res.json().username, username)
      assert.ok(res.json().updated_at > res.json().created_at)
      assert.equal((await make.reloadUser(user.id))?.username, username)
    })

    it('when the name is empty, a field unknown or the role is sent, then 400 and nothing changes', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      for (const payload of [{ name: '' }, { name: 'x'.repeat(101) }, { email: 'new@example.test' }, { role: 'admin' }, { username: 'no spaces allowed' }]) {
        const res = await app.inject({ method: 'PATCH', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token), payload })
        assert.equal(res.statusCode, 400, JSON.stringify(payload))
      }
      const stored = await make.reloadUser(user.id)
      assert.equal(stored?.role, 'user')
      assert.equal(stored?.name, null)
    })

    it('when the username is taken by someone else (any case), then 409', async (t) => {
      const { app, make } = await buildTestApp(t)
      const taken = uniqueUsername()
      await make.user({ username: taken })
      const user = await make.user()
      const res = await app.inject({ method: 'PATCH', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token), payload: { username: taken.toUpperCase() } })
      assert.equal(res.statusCode, 409)
      assert.equal(res.json().code, 'username_taken')
    })
  })

  describe('PUT /v1/users/me/password', () => {
    it('when the current password is right and the new one strong, then 204, other sessions end and this one stays', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const other = await make.login({ email: user.email }, user.password)
      const res = await app.inject({ method: 'PUT', url: '/v1/users/me/password', headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password, new_password: 'a brand new passphrase 77' } })
      assert.equal(res.statusCode, 204)
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(other.access_token) })).statusCode, 401)
      assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: other.refresh_token } })).statusCode, 401)
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token) })).statusCode, 200)
      const oldLogin = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: user.password } })
      assert.equal(oldLogin.statusCode, 401)
      await make.login({ email: user.email }, 'a brand new passphrase 77')
    })

    it('when the current password is wrong, then 400 and nothing changes', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const other = await make.login({ email: user.email }, user.password)
      const res = await app.inject({ method: 'PUT', url: '/v1/users/me/password', headers: make.bearer(user.tokens.access_token), payload: { current_password: 'not my password 1', new_password: 'a brand new passphrase 77' } })
      assert.equal(res.statusCode, 400)
      assert.equal(res.json().code, 'wrong_password')
      assert.equal(res.json().errors[0].field, 'current_password')
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(other.access_token) })).statusCode, 200)
      await make.login({ email: user.email }, user.password)
    })

    it('when the new password is weak, then 400 naming new_password', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      for (const newPassword of ['password1', 'short', 'x'.repeat(129)]) {
        const res = await app.inject({ method: 'PUT', url: '/v1/users/me/password', headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password, new_password: newPassword } })
        assert.equal(res.statusCode, 400)
        assert.equal(res.json().errors[0].field, 'new_password')
      }
    })
  })

  describe('DELETE /v1/users/me', () => {
    it('when the password is right, then 204: the account and its sessions are gone, the email is free again', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const other = await make.login({ email: user.email }, user.password)
      const res = await app.inject({ method: 'DELETE', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token), payload: { password: user.password } })
      assert.equal(res.statusCode, 204)
      assert.equal(await make.reloadUser(user.id), undefined)
      for (const token of [user.tokens.access_token, other.access_token]) {
        assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(token) })).statusCode, 401)
      }
      assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: other.refresh_token } })).statusCode, 401)
      assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: user.password } })).statusCode, 401)
      await make.register({ email: user.email })
    })

    it('when the password is wrong or missing, then 400 and the account stays', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      for (const payload of [{ password: 'not my password 1' }, {}]) {
        const res = await app.inject({ method: 'DELETE', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token), payload })
        assert.equal(res.statusCode, 400)
      }
      assert.ok(await make.reloadUser(user.id))
    })
  })
})

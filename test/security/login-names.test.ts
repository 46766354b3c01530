// regression: #9 §1 — "ada@example.com " was 401: login names are matched after trimming (API.md).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTestApp } from '../build-test-app.js'
import { uniqueUsername } from '../factories.js'
import { storageLabel } from '../test-env.js'

describe(`login names [${storageLabel}]`, () => {
  it('when the email or username has surrounding white space, then login and the password grant still find the account', async (t) => {
    const { app, make } = await buildTestApp(t)
    const username = uniqueUsername()
    const user = await make.user({ username })
    for (const payload of [{ email: `${user.email} ` }, { email: `\t ${user.email.toUpperCase()}\n` }, { username: ` ${username}  ` }, { username: `\u00A0${username}` }]) {
      const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { ...payload, password: user.password } })
      assert.equal(res.statusCode, 200, `${JSON.stringify(payload)}: ${res.body}`)
      assert.equal(res.json().user.id, user.id)
    }
    const grant = await app.inject({
      method: 'POST',
      url: '/v1/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'password', username: ` ${user.email} `, password: user.password }).toString()
    })
    assert.equal(grant.statusCode, 200, grant.body)
  })

  it('when the password has surrounding white space, then it is not trimmed and the login fails', async (t) => {
    const { app, make } = await buildTestApp(t)
    const user = await make.user()
    const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: ` ${user.email} `, password: ` ${user.password} ` } })
    assert.equal(res.statusCode, 401, res.body)
  })
})

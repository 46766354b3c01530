// regression: #9 §1 — a JSON body declared as utf-16 or latin1 was read as UTF-8.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { count, eq } from 'drizzle-orm'
import { buildTestApp } from '../../../test/build-test-app.js'
import { storageLabel } from '../../../test/test-env.js'
import { tasksTable } from '../../modules/tasks/tasks.table.js'
import { declaredCharset } from './charset.js'

describe(`request body charset [${storageLabel}]`, () => {
  it('when a JSON body declares a charset other than UTF-8, then 415 and nothing is stored', async (t) => {
    const { app, make, database } = await buildTestApp(t)
    const user = await make.user()
    const auth = make.bearer(user.tokens.access_token)
    for (const charset of ['utf-16', 'UTF-16LE', 'latin1', 'iso-8859-1', '"windows-1252"', 'us-ascii', '']) {
      const res = await app.inject({
        method: 'POST', url: '/v1/tasks', headers: { ...auth, 'content-type': `application/json; charset=${charset}` }, payload: JSON.stringify({ title: 'caf\u00e9' })
      })
      assert.equal(res.statusCode, 415, `${charset}: ${res.body}`)
      assert.equal(res.json().code, 'unsupported_media_type')
    }
    const login = await app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'content-type': 'application/json; charset=utf-16' }, payload: Buffer.from(JSON.stringify({ email: user.email, password: user.password }), 'utf16le') })
    assert.equal(login.statusCode, 415)
    const [stored] = await database.db.select({ n: count() }).from(tasksTable).where(eq(tasksTable.owner_id, user.id))
    assert.equal(stored?.n, 0)
  })

  it('when a JSON body declares UTF-8 (any spelling) or no charset, then it is accepted', async (t) => {
    const { app, make } = await buildTestApp(t)
    const user = await make.user()
    const auth = make.bearer(user.tokens.access_token)
    for (const type of ['application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'application/json; charset="utf-8"', 'application/json; charset=utf8']) {
      const res = await app.inject({ method: 'POST', url: '/v1/tasks', headers: { ...auth, 'content-type': type }, payload: JSON.stringify({ title: 'caf\u00e9' }) })
      assert.equal(res.statusCode, 201, `${type}: ${res.body}`)
      assert.equal(res.json().title, 'café')
    }
  })

  it('when a token request form declares another charset, then it is refused as an RFC 6749 invalid_request', async (t) => {
    const { app, make } = await buildTestApp(t)
    const user = await make.user()
    const res = await app.inject({
      method: 'POST',
      url: '/v1/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=iso-8859-1' },
      payload: new URLSearchParams({ grant_type: 'password', username: user.email, password: user.password }).toString()
    })
    assert.equal(res.statusCode, 400, res.body)
    assert.equal(res.json().error, 'invalid_request')
  })

  it('reads the charset parameter however it is written', () => {
    assert.equal(declaredCharset('application/json'), undefined)
    assert.equal(declaredCharset('application/json; Charset = "UTF-16" ; x=1'), 'UTF-16')
    assert.equal(declaredCharset('application/json;charset=latin1'), 'latin1')
    assert.equal(declaredCharset(undefined), undefined)
  })
})

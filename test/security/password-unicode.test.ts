// regression: #9 §1 — passwords in NFC, NFKC case-folded checks, ill-formed Unicode refused, old hashes kept working.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { hash as argon2Hash } from '@node-rs/argon2'
import { eq } from 'drizzle-orm'
import { usersTable } from '../../src/modules/users/users.table.js'
import { buildTestApp } from '../build-test-app.js'
import { uniqueEmail } from '../factories.js'
import { storageLabel } from '../test-env.js'

const NFC = 'crème brûlée façade 42'.normalize('NFC')
const NFD = NFC.normalize('NFD')
const LONE_HIGH = '\uD800\uD800\uD800\uD800 lone quartz 93'
const LONE_LOW = '\uDC00\uDC00\uDC00\uDC00 lone quartz 93'
const REPLACEMENT = '\uFFFD\uFFFD\uFFFD\uFFFD lone quartz 93'

describe(`password Unicode rules [${storageLabel}]`, () => {
  it('when registered precomposed (NFC), then the decomposed (NFD) form logs in, by login and the password grant, and the reverse', async (t) => {
    const { app, make } = await buildTestApp(t)
    assert.notEqual(NFC, NFD)
    for (const [registered, typed] of [[NFC, NFD], [NFD, NFC]] as const) {
      const user = await make.user({ password: registered })
      const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: typed } })
      assert.equal(login.statusCode, 200, login.body)
      const grant = await app.inject({
        method: 'POST',
        url: '/v1/auth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ grant_type: 'password', username: user.email, password: typed }).toString()
      })
      assert.equal(grant.statusCode, 200, grant.body)
      const change = await app.inject({
        method: 'PUT', url: '/v1/users/me/password', headers: make.bearer(login.json().access_token), payload: { current_password: typed, new_password: 'violet orbit canyon 7' }
      })
      assert.equal(change.statusCode, 204, change.body)
    }
  })

  it('when a password has unpaired surrogates, then register is 400 and creates nothing, and no lone-surrogate variant logs into a U+FFFD password', async (t) => {
    const { app, make, database } = await buildTestApp(t)
    for (const password of [LONE_HIGH, LONE_LOW]) {
      const email = uniqueEmail('lone')
      const res = await app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password } })
      assert.equal(res.statusCode, 400, res.body)
      assert.equal(res.json().errors[0].field, 'password')
      assert.equal((await database.db.select().from(usersTable).where(eq(usersTable.email, email))).length, 0)
    }
    const user = await make.user({ password: REPLACEMENT })
    for (const password of [LONE_HIGH, LONE_LOW]) {
      const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password } })
      assert.equal(login.statusCode, 400, login.body)
      const grant = await app.inject({
        method: 'POST',
        url: '/v1/auth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `grant_type=password&username=${encodeURIComponent(user.email)}&password=${password === LONE_HIGH ? '%ED%A0%80' : '%ED%B0%80'}%20lone%20quartz%2093`
      })
      assert.notEqual(grant.statusCode, 200, grant.body)
      assert.ok(grant.statusCode < 500, grant.body)
    }
    const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: REPLACEMENT } })
    assert.equal(login.statusCode, 200, login.body)
  })

  it('when a password contains full-width ｔａｓｋｆｌｏｗ, then register refuses it as weak', async (t) => {
    const { app } = await buildTestApp(t)
    const res = await app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: uniqueEmail(), password: 'ｔａｓｋｆｌｏｗ quarry 58' } })
    assert.equal(res.statusCode, 400, res.body)
    assert.equal(res.json().code, 'weak_password')
  })

  it('when the stored hash was made of the un-normalised form (before the rule), then that form logs in and the hash is renewed in NFC', async (t) => {
    const { app, make } = await buildTestApp(t)
    const user = await make.user()
    const legacy = await argon2Hash(NFD, { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 })
    await make.updateUser(user.id, { password_hash: legacy })
    const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: NFD } })
    assert.equal(login.statusCode, 200, login.body)
    const renewed = (await make.reloadUser(user.id))?.password_hash
    assert.ok(renewed && renewed !== legacy, 'rehashed')
    const again = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: NFC } })
    assert.equal(again.statusCode, 200, 'the NFC form matches the renewed hash')
  })
})

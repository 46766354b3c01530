import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { calculateJwkThumbprint, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose'
import { buildTestApp, sharedStorage, type TestApp } from '../../../test/build-test-app.js'
import { storageLabel } from '../../../test/test-env.js'
import { keysCommand } from '../../cli/keys.js'
import { loadConfig } from '../../config.js'
import { createEncryption } from '../../core/encryption.js'
import { signingKeysTable } from './signing-keys.table.js'
import { SigningKeyUnreadableError } from './signing-keys.js'

const hexKey = () => randomBytes(32).toString('hex')
const K1 = hexKey()
const K2 = hexKey()
const kidOf = (token: string) => String(decodeProtectedHeader(token).kid)
const me = async (ctx: TestApp, token: string) => (await ctx.app.inject({ method: 'GET', url: '/v1/users/me', headers: ctx.make.bearer(token) })).statusCode

async function rows () {
  const { database } = await sharedStorage()
  return database.db.select().from(signingKeysTable)
}
/** This file's own database: start each test from no keys at all (the apps of earlier tests are closed). */
async function noKeys () {
  const { database } = await sharedStorage()
  await database.db.delete(signingKeysTable)
}
/** A key row as written before encryption at rest: the private JWK in plain text, signing from now. */
async function insertPlainKey () {
  const { database } = await sharedStorage()
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
  const publicJwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(publicJwk)
  const now = new Date(Date.now() - 1000)
  await database.db.insert(signingKeysTable).values({
    kid,
    alg: 'EdDSA',
    public_jwk: { ...publicJwk, kid, alg: 'EdDSA', use: 'sig' } as unknown as Record<string, string>,
    private_jwk: await exportJWK(privateKey) as unknown as Record<string, string>,
    created_at: now,
    signs_from: now
  })
  return { kid, publicJwk }
}
const sealedOf = (row: { private_jwk: Record<string, string> } | undefined) => row?.private_jwk.sealed ?? ''

describe(`signing keys encrypted at rest [${storageLabel}]`, () => {
  it('when a key is made (first start, or keys rotate), then its private part is stored sealed under DATA_ENCRYPTION_KEY, never as a JWK', async (t) => {
    await noKeys()
    const ctx = await buildTestApp(t, { DATA_ENCRYPTION_KEY: K1 })
    const user = await ctx.make.user()
    assert.equal(await me(ctx, user.tokens.access_token), 200)
    await keysCommand({ db: ctx.database.db, clock: ctx.clock, config: ctx.config }, ['rotate'])
    const stored = await rows()
    assert.equal(stored.length, 2)
    const k1 = createEncryption({ current: Buffer.from(K1, 'hex') })
    for (const row of stored) {
      assert.deepEqual(Object.keys(row.private_jwk), ['sealed'], 'no d, x or kty in the row')
      assert.ok(k1.isCurrent(sealedOf(row)), 'sealed under the configured key')
      const jwk = JSON.parse(k1.decrypt(sealedOf(row), `signing_key:${row.kid}`).toString('utf8')) as { d?: string, x?: string }
      assert.equal(typeof jwk.d, 'string')
      assert.equal(jwk.x, row.public_jwk.x)
      assert.ok(!JSON.stringify(row).includes(jwk.d ?? '-'), 'the private scalar appears nowhere in the row')
    }
  })

  it('when a plain-text row exists (written before encryption), then the start seals it and the key still signs', async (t) => {
    await noKeys()
    const { kid, publicJwk } = await insertPlainKey()
    assert.ok('d' in ((await rows())[0]?.private_jwk ?? {}))
    const ctx = await buildTestApp(t, { DATA_ENCRYPTION_KEY: K1 })
    const [row] = await rows()
    assert.equal(row?.kid, kid)
    assert.deepEqual(Object.keys(row?.private_jwk ?? {}), ['sealed'])
    const user = await ctx.make.user()
    assert.equal(kidOf(user.tokens.access_token), kid)
    await jwtVerify(user.tokens.access_token, await importJWK(publicJwk, 'EdDSA'))
    assert.equal(await me(ctx, user.tokens.access_token), 200)
    // a second start finds nothing to do: the sealed value is left as it is
    const before = sealedOf(row)
    await buildTestApp(t, { DATA_ENCRYPTION_KEY: K1 })
    assert.equal(sealedOf((await rows())[0]), before)
  })

  it('when a key was sealed under the generated development key and DATA_ENCRYPTION_KEY is then set, then the start re-seals it under the configured key', async (t) => {
    await noKeys()
    const dev = await buildTestApp(t)
    const user = await dev.make.user()
    const [row] = await rows()
    const k1 = createEncryption({ current: Buffer.from(K1, 'hex') })
    assert.ok(!k1.isCurrent(sealedOf(row)))
    const ctx = await buildTestApp(t, { DATA_ENCRYPTION_KEY: K1 })
    ctx.clock.set(dev.clock.now())
    assert.ok(k1.isCurrent(sealedOf((await rows())[0])))
    assert.equal(await me(ctx, user.tokens.access_token), 200)
    assert.equal(kidOf((await ctx.make.login({ email: user.email })).access_token), row?.kid, 'the same key still signs')
  })

  it('when a live key was sealed under another DATA_ENCRYPTION_KEY, then the start fails with a clear error naming the key; once revoked, the start succeeds', async (t) => {
    await noKeys()
    const other = await buildTestApp(t, { DATA_ENCRYPTION_KEY: K2 })
    const [row] = await rows()
    const kid = row?.kid ?? ''
    await assert.rejects(buildTestApp(t, { DATA_ENCRYPTION_KEY: K1 }), (err: Error) => {
      assert.ok(err instanceof SigningKeyUnreadableError)
      assert.match(err.message, new RegExp(`signing key ${kid} cannot be decrypted with DATA_ENCRYPTION_KEY`))
      assert.match(err.message, /taskflow keys revoke/)
      return true
    })
    assert.equal(sealedOf((await rows())[0]), sealedOf(row), 'the row is left unchanged')
    // The way out the message gives: revoke it (the command needs no private key for that).
    const deps = { db: other.database.db, clock: other.clock, config: loadConfig({ LOG_LEVEL: 'silent', PUBLIC_URL: 'http://127.0.0.1:3000', DATA_ENCRYPTION_KEY: K1 }) }
    assert.match(await keysCommand(deps, ['revoke', kid]), new RegExp(`revoked ${kid}`))
    const ctx = await buildTestApp(t, { DATA_ENCRYPTION_KEY: K1 })
    const user = await ctx.make.user()
    assert.notEqual(kidOf(user.tokens.access_token), kid)
    assert.equal(await me(ctx, user.tokens.access_token), 200)
  })

  it('when two instances start together on one database with a plain row, then it is sealed once and each verifies the other\'s tokens', async (t) => {
    await noKeys()
    const { kid } = await insertPlainKey()
    const [a, b] = await Promise.all([buildTestApp(t, { DATA_ENCRYPTION_KEY: K1 }), buildTestApp(t, { DATA_ENCRYPTION_KEY: K1 })])
    a.clock.set(b.clock.now())
    const stored = await rows()
    assert.equal(stored.length, 1)
    assert.deepEqual(Object.keys(stored[0]?.private_jwk ?? {}), ['sealed'])
    const user = await a.make.user()
    const fromB = await b.make.login({ email: user.email })
    assert.equal(kidOf(user.tokens.access_token), kid)
    assert.equal(kidOf(fromB.access_token), kid)
    assert.equal(await me(b, user.tokens.access_token), 200)
    assert.equal(await me(a, fromB.access_token), 200)
    // a key made by one instance after the start (rotation) is read by the other
    await keysCommand({ db: a.database.db, clock: a.clock, config: a.config }, ['revoke', kid])
    a.clock.advance(60)
    b.clock.set(a.clock.now())
    assert.equal(await me(a, user.tokens.access_token), 401, 'refused once revoked (and A has re-read the keys)')
    assert.equal(await me(b, user.tokens.access_token), 401)
    const next = await a.make.login({ email: user.email })
    assert.notEqual(kidOf(next.access_token), kid)
    assert.equal(await me(b, next.access_token), 200)
    const [row] = (await rows()).filter(r => r.kid === kidOf(next.access_token))
    assert.deepEqual(Object.keys(row?.private_jwk ?? {}), ['sealed'])
    assert.equal((await rows()).filter(r => r.kid === kid && r.revoked_at !== null).length, 1)
  })
})

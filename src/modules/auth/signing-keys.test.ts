import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeProtectedHeader } from 'jose'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, type TestApp } from '../../../test/build-test-app.js'
import { storageLabel } from '../../../test/test-env.js'
import { formatKeys, keysCommand } from '../../cli/keys.js'
import { CliInputError } from '../../cli/create-admin.js'
import { createSigningKeys, keyStates, KEY_RELOAD_INTERVAL, PUBLISH_LEAD } from './signing-keys.js'
import type { SigningKeyRow } from './signing-keys.table.js'
import { loadEncryption } from '../../core/encryption.js'

const kidOf = (token: string) => String(decodeProtectedHeader(token).kid)
const jwksKids = async (app: FastifyInstance) =>
  ((await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json().keys as Array<{ kid: string }>).map(k => k.kid)
const me = async (ctx: TestApp, token: string) => (await ctx.app.inject({ method: 'GET', url: '/v1/users/me', headers: ctx.make.bearer(token) })).statusCode
/** The data-encryption service the app under test uses (same database, same configured key). */
const encryptionOf = (ctx: TestApp) => loadEncryption({ db: ctx.database.db, clock: ctx.clock, key: ctx.config.encryption.key, production: false, log: { warn: () => {}, info: () => {} } })
const keysOf = async (ctx: TestApp) => createSigningKeys({
  db: ctx.database.db, clock: ctx.clock, accessTtl: ctx.config.auth.accessTtl, rotationDays: ctx.config.auth.keyRotationDays, encryption: await encryptionOf(ctx)
})
/** Two instances on one database, their clocks at the same time (the later one's, so neither runs back). */
async function twoInstances (t: Parameters<typeof buildTestApp>[0]) {
  const a = await buildTestApp(t)
  const b = await buildTestApp(t)
  a.clock.set(b.clock.now())
  return { a, b }
}
/** Moves both instances' clocks `seconds` on, together. */
const advanceBoth = (a: TestApp, b: TestApp, seconds: number) => {
  a.clock.advance(seconds)
  b.clock.set(a.clock.now())
}

describe('key states (pure)', () => {
  const t0 = new Date('2026-01-01T00:00:00Z')
  const at = (s: number) => new Date(t0.getTime() + s * 1000)
  const row = (kid: string, created: number, signsFrom: number, revoked?: number): SigningKeyRow =>
    ({ kid, alg: 'EdDSA', public_jwk: {}, private_jwk: {}, created_at: at(created), signs_from: at(signsFrom), revoked_at: revoked === undefined ? null : at(revoked) })

  it('when a newer key has started, then the older is retired until its last token has expired (+ slack), then removable', () => {
    const rows = [row('a', 0, 0), row('b', 1000, 1360), row('c', 2000, 5000)]
    const at1500 = keyStates(rows, at(1500), 900)
    assert.deepEqual(at1500.infos.map(i => [i.kid, i.state]), [['a', 'retired'], ['b', 'signing'], ['c', 'published']])
    assert.equal(at1500.signing, 'b')
    assert.deepEqual(at1500.infos[0]?.retired_at, at(1360))
    const later = keyStates(rows, at(1360 + 900 + 90), 900)
    assert.deepEqual(later.removable, ['a'])
    assert.deepEqual(later.infos.map(i => i.kid), ['b', 'c'])
  })

  it('when the signing key is revoked, then no key signs until one is made to (revoke does that)', () => {
    const states = keyStates([row('a', 0, 0, 10)], at(20), 900)
    assert.equal(states.signing, undefined)
    assert.deepEqual(states.infos.map(i => i.state), ['revoked'])
  })
})

describe(`signing-key rotation [${storageLabel}]`, () => {
  it('when a key is rotated on instance A, then B publishes it within 60 s, both sign with it once the lead has passed, and each verifies the other\'s tokens', async (t) => {
    const { a, b } = await twoInstances(t)
    const user = await a.make.user()
    const oldKid = kidOf(user.tokens.access_token)

    const next = await (await keysOf(a)).rotate()
    assert.ok(next.signs_from.getTime() - a.clock.now().getTime() >= 5 * 60 * 1000, 'published at least 5 minutes before it signs')
    advanceBoth(a, b, KEY_RELOAD_INTERVAL)
    assert.deepEqual((await jwksKids(b.app)).sort(), [oldKid, next.kid].sort(), 'B publishes both within 60 s')
    assert.deepEqual((await jwksKids(a.app)).sort(), [oldKid, next.kid].sort())
    const beforeLead = await a.make.login({ email: user.email })
    assert.equal(kidOf(beforeLead.access_token), oldKid, 'a published key does not sign before its time')

    advanceBoth(a, b, PUBLISH_LEAD)
    const fromA = await a.make.login({ email: user.email })
    const fromB = await b.make.login({ email: user.email })
    assert.equal(kidOf(fromA.access_token), next.kid)
    assert.equal(kidOf(fromB.access_token), next.kid)
    assert.equal(await me(b, fromA.access_token), 200)
    assert.equal(await me(a, fromB.access_token), 200)
    assert.equal(await me(b, beforeLead.access_token), 200, 'a token of the retired key still works until it expires')
    assert.ok((await jwksKids(b.app)).includes(oldKid), 'the retired key stays published')

    advanceBoth(a, b, a.config.auth.accessTtl + 120)
    assert.equal(await me(a, beforeLead.access_token), 401, 'expired')
    assert.ok(!(await jwksKids(a.app)).includes(oldKid), 'once all its tokens have expired, the retired key is removed')
    assert.ok(!(await (await keysOf(a)).list()).some(k => k.kid === oldKid))
  })

  it('when B meets a kid it has not read yet, then it re-reads the keys at once (at most once a minute) instead of refusing', async (t) => {
    const { a, b } = await twoInstances(t)
    const user = await b.make.user() // B has read the keys now
    await (await keysOf(a)).revoke(kidOf(user.tokens.access_token)) // A's next key signs at once
    // A re-reads after the revocation (60 s later); B's keys are not stale yet (45 s), so only the
    // unknown kid makes B read.
    a.clock.advance(KEY_RELOAD_INTERVAL)
    b.clock.advance(45)
    const login = await a.make.login({ email: user.email })
    assert.equal(await me(b, login.access_token), 200)
  })

  it('when a key is revoked, then its tokens are refused on every instance within 60 s, it leaves the JWKS, and another key signs at once', async (t) => {
    const { a, b } = await twoInstances(t)
    const user = await a.make.user()
    const kid = kidOf(user.tokens.access_token)
    assert.equal(await me(b, user.tokens.access_token), 200, 'B has verified (and cached) the token')

    const result = await (await keysOf(a)).revoke(kid)
    assert.notEqual(result.signing, kid)
    advanceBoth(a, b, KEY_RELOAD_INTERVAL)
    assert.equal(await me(a, user.tokens.access_token), 401)
    assert.equal(await me(b, user.tokens.access_token), 401, 'refused on B too, even though B had it cached')
    assert.ok(!(await jwksKids(b.app)).includes(kid))
    const fresh = await b.make.login({ email: user.email })
    assert.equal(kidOf(fresh.access_token), result.signing)
    assert.equal(await me(a, fresh.access_token), 200)
    assert.equal((await (await keysOf(a)).list()).find(k => k.kid === kid)?.state, 'revoked')
  })

  it('when JWT_KEY_ROTATION_DAYS has passed, then a new key is published at least 5 minutes before it signs; 0 never rotates', async (t) => {
    const never = await buildTestApp(t, { JWT_KEY_ROTATION_DAYS: '0' })
    const user = await never.make.user()
    const kid = kidOf(user.tokens.access_token)
    never.clock.advance(400 * 86_400)
    const much = await never.make.login({ email: user.email })
    assert.equal(kidOf(much.access_token), kid, 'never rotated')

    const ctx = await buildTestApp(t, { JWT_KEY_ROTATION_DAYS: '1' })
    const first = await ctx.make.login({ email: user.email })
    const current = (await (await keysOf(ctx)).list()).find(k => k.state === 'signing')
    assert.equal(current?.kid, kidOf(first.access_token))
    ctx.clock.set(new Date((current?.signs_from.getTime() ?? 0) + 86_400_000))
    const due = await ctx.make.login({ email: user.email })
    assert.equal(kidOf(due.access_token), current?.kid, 'the new key does not sign yet')
    // Signing never waits for the database: the read (and the rotation) it started in the background is
    // awaited by the next request that needs the keys, here the JWKS.
    const kids = await jwksKids(ctx.app)
    const published = (await (await keysOf(ctx)).list()).filter(k => k.state === 'published')
    assert.equal(published.length, 1)
    assert.ok(kids.includes(published[0]?.kid ?? ''))
    assert.ok((published[0]?.signs_from.getTime() ?? 0) - ctx.clock.now().getTime() >= 5 * 60 * 1000)
    ctx.clock.advance(PUBLISH_LEAD + KEY_RELOAD_INTERVAL)
    const rotated = await ctx.make.login({ email: user.email })
    assert.equal(kidOf(rotated.access_token), published[0]?.kid)
    assert.equal(await me(ctx, due.access_token), 200, 'the old key\'s token still works')
  })

  it('when the keys command lists, rotates and revokes, then it prints what it did; misuse is a CLI input error', async (t) => {
    const ctx = await buildTestApp(t)
    const deps = { db: ctx.database.db, clock: ctx.clock, config: ctx.config }
    const listed = await keysCommand(deps, ['list'])
    assert.match(listed, /^KID\s+STATE\s+CREATED\s+SIGNING SINCE/)
    assert.match(listed, /signing/)
    const rotated = await keysCommand(deps, ['rotate'])
    const kid = /published (\S+);/.exec(rotated)?.[1] ?? ''
    assert.match(await keysCommand(deps, ['list']), new RegExp(`${kid}\\s+published`))
    assert.match(await keysCommand(deps, ['revoke', kid]), new RegExp(`revoked ${kid}`))
    await assert.rejects(keysCommand(deps, ['revoke', 'no-such-kid']), CliInputError)
    await assert.rejects(keysCommand(deps, ['revoke']), CliInputError)
    await assert.rejects(keysCommand(deps, ['spin']), CliInputError)
    assert.equal(formatKeys([]).split('\n').length, 1)
  })
})

describe(`HS256 with JWT_SECRET_PREVIOUS [${storageLabel}]`, () => {
  const OLD = 'an-old-shared-secret-of-at-least-32-bytes!'
  const NEW = 'the-new-shared-secret-of-at-least-32-bytes'

  it('when the secret changes, then tokens of the previous secret verify only while JWT_SECRET_PREVIOUS names it', async (t) => {
    const before = await buildTestApp(t, { JWT_ALG: 'HS256', JWT_SECRET: OLD })
    const user = await before.make.user()
    const withPrevious = await buildTestApp(t, { JWT_ALG: 'HS256', JWT_SECRET: NEW, JWT_SECRET_PREVIOUS: OLD })
    const without = await buildTestApp(t, { JWT_ALG: 'HS256', JWT_SECRET: NEW })
    withPrevious.clock.set(before.clock.now())
    without.clock.set(before.clock.now())
    assert.equal(await me(withPrevious, user.tokens.access_token), 200)
    assert.equal(await me(without, user.tokens.access_token), 401)
    const fresh = await withPrevious.make.login({ email: user.email })
    assert.equal(await me(before, fresh.access_token), 401, 'new tokens are signed with the new secret')
    assert.equal(await me(without, fresh.access_token), 200)
  })
})

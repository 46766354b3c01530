import assert from 'node:assert/strict'
import { randomInt } from 'node:crypto'
import { describe, it } from 'node:test'
import { and, eq } from 'drizzle-orm'
import { auditEventsTable } from '../../src/modules/audit/audit.table.js'
import { buildTestApp, type TestApp } from '../build-test-app.js'
import { DEFAULT_PASSWORD, uniqueEmail } from '../factories.js'
import { storageLabel } from '../test-env.js'

const ON = { RATE_LIMIT_ENABLED: 'true' }
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
/** A fresh client address per test, so tests never share a budget. */
const newIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`

function login ({ app }: TestApp, ip: string, email: string, password: string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: ip, headers, payload: { email, password } })
}
function grant ({ app }: TestApp, ip: string, username: string, password: string) {
  return app.inject({ method: 'POST', url: '/v1/auth/token', remoteAddress: ip, headers: FORM, payload: new URLSearchParams({ grant_type: 'password', username, password }).toString() })
}

describe(`rate limits [${storageLabel}]`, () => {
  it('when one address makes a 6th login attempt in the window, then 429 problem+json with Retry-After and RateLimit-* headers', async (t) => {
    const ctx = await buildTestApp(t, ON)
    const user = await ctx.make.user()
    const ip = newIp()
    for (let i = 0; i < 5; i++) {
      const res = await login(ctx, ip, user.email, i % 2 ? user.password : 'wrong password here')
      assert.ok([200, 401].includes(res.statusCode), String(res.statusCode))
      assert.equal(res.headers['ratelimit-limit'], '5')
      assert.equal(res.headers['ratelimit-remaining'], String(4 - i))
      assert.ok(Number(res.headers['ratelimit-reset']) > 0)
    }
    const limited = await login(ctx, ip, user.email, user.password)
    assert.equal(limited.statusCode, 429)
    assert.match(String(limited.headers['content-type']), /^application\/problem\+json/)
    assert.equal(limited.json().code, 'rate_limited')
    assert.ok(Number(limited.headers['retry-after']) > 0 && Number(limited.headers['retry-after']) <= 900)
    assert.equal(limited.headers['ratelimit-remaining'], '0')
    const viaGrant = await grant(ctx, ip, user.email, user.password)
    assert.equal(viaGrant.statusCode, 429, 'the password grant spends the same budget')
    assert.match(String(viaGrant.headers['content-type']), /^application\/problem\+json/)
    assert.equal((await login(ctx, newIp(), user.email, user.password)).statusCode, 200, 'another address is unaffected')
  })

  it('when an address has spent the login budget, then its refresh_token grants still work and spend nothing; a password grant with the same budget is refused', async (t) => {
    const ctx = await buildTestApp(t, ON)
    const user = await ctx.make.user()
    const ip = newIp()
    let refreshToken = user.tokens.refresh_token
    // Refreshes through the token endpoint first: none of them is a password attempt.
    for (let i = 0; i < 6; i++) {
      const res = await ctx.app.inject({ method: 'POST', url: '/v1/auth/token', remoteAddress: ip, headers: FORM, payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString() })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.headers['ratelimit-remaining'], undefined, 'no login budget is spent or shown')
      refreshToken = res.json<{ refresh_token: string }>().refresh_token
    }
    for (let i = 0; i < 5; i++) assert.equal((await grant(ctx, ip, user.email, 'wrong password here')).statusCode, 400)
    // Malformed and unknown grants are not a way around the budget.
    const credentials = new URLSearchParams({ username: user.email, password: user.password }).toString()
    for (const form of [`grant_type=pass+word&${credentials}`, credentials, `grant_type=refresh_token&grant_type=password&${credentials}`]) {
      const res = await ctx.app.inject({ method: 'POST', url: '/v1/auth/token', remoteAddress: ip, headers: FORM, payload: form })
      assert.equal(res.statusCode, 429, form.split('&')[0])
    }
    assert.equal((await grant(ctx, ip, user.email, user.password)).statusCode, 429)
    const refreshed = await ctx.app.inject({ method: 'POST', url: '/v1/auth/token', remoteAddress: ip, headers: FORM, payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString() })
    assert.equal(refreshed.statusCode, 200, 'a refresh is not a login attempt')
  })

  it('when an account has 10 failed logins from many addresses, then the next gets 429 even with the right password', async (t) => {
    const ctx = await buildTestApp(t, ON)
    const user = await ctx.make.user()
    for (let i = 0; i < 10; i++) {
      const res = i % 2 ? await login(ctx, newIp(), user.email, 'wrong password here') : await grant(ctx, newIp(), user.email, 'wrong password here')
      assert.ok([400, 401].includes(res.statusCode), String(res.statusCode))
    }
    const right = await login(ctx, newIp(), user.email, user.password)
    assert.equal(right.statusCode, 429)
    assert.ok(Number(right.headers['retry-after']) > 0)
    assert.equal(right.headers['ratelimit-limit'], '10', 'the headers describe the limit that refused')
  })

  it('when the identifier is unknown, then the same 10 failures lead to the same 429 (no enumeration)', async (t) => {
    const ctx = await buildTestApp(t, ON)
    const ghost = uniqueEmail('ghost')
    const codes = []
    for (let i = 0; i < 11; i++) codes.push((await login(ctx, newIp(), ghost, 'wrong password here')).statusCode)
    assert.deepEqual(codes, [...Array(10).fill(401), 429])
  })

  it('when one address registers a 4th time within the hour, then 429 whatever the outcome', async (t) => {
    const ctx = await buildTestApp(t, ON)
    const ip = newIp()
    const codes = []
    for (const email of [uniqueEmail(), 'not-an-email', uniqueEmail(), uniqueEmail()]) {
      codes.push((await ctx.app.inject({ method: 'POST', url: '/v1/auth/register', remoteAddress: ip, payload: { email, password: DEFAULT_PASSWORD } })).statusCode)
    }
    assert.deepEqual(codes, [201, 400, 201, 429])
  })

  it('when TRUST_PROXY is off, then a forged X-Forwarded-For never resets the per-IP budget', async (t) => {
    const ctx = await buildTestApp(t, ON)
    const ip = newIp()
    const codes = []
    for (let i = 0; i < 6; i++) codes.push((await login(ctx, ip, uniqueEmail(), 'wrong password here', { 'x-forwarded-for': newIp() })).statusCode)
    assert.equal(codes.at(-1), 429)
  })

  it('when TRUST_PROXY is on, then the client address comes from X-Forwarded-For', async (t) => {
    const ctx = await buildTestApp(t, { ...ON, TRUST_PROXY: 'true' })
    const proxy = newIp()
    const client = newIp()
    for (let i = 0; i < 5; i++) await login(ctx, proxy, uniqueEmail(), 'wrong password here', { 'x-forwarded-for': client })
    assert.equal((await login(ctx, proxy, uniqueEmail(), 'wrong password here', { 'x-forwarded-for': client })).statusCode, 429)
    assert.equal((await login(ctx, proxy, uniqueEmail(), 'wrong password here', { 'x-forwarded-for': newIp() })).statusCode, 401)
  })

  it('when a limit refuses, then auth_rate_limited_total and a rate_limit.exceeded audit event rise', async (t) => {
    const ctx = await buildTestApp(t, ON)
    const ip = newIp()
    for (let i = 0; i < 6; i++) await login(ctx, ip, uniqueEmail(), 'wrong password here')
    const metrics = await ctx.app.inject({ method: 'GET', url: '/metrics' })
    assert.match(metrics.body, /auth_rate_limited_total\{route="login"\} [1-9]/)
    const rows = await ctx.database.db.select().from(auditEventsTable).where(and(eq(auditEventsTable.type, 'rate_limit.exceeded'), eq(auditEventsTable.ip, ip)))
    assert.ok(rows.length >= 1)
    assert.equal(rows[0]?.actor_id, null)
    assert.equal(rows[0]?.details.route, 'login')
  })
})

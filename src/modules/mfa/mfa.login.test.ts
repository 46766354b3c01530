import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import { and, eq } from 'drizzle-orm'
import { buildTestApp, type TestApp } from '../../../test/build-test-app.js'
import { parseKeyUri, referenceTotp } from '../../../test/authenticator.js'
import { alignClock, enableMfa } from '../../../test/mfa.js'
import { storageLabel } from '../../../test/test-env.js'
import { auditEventsTable } from '../audit/audit.table.js'
import { sessionsTable } from '../auth/sessions.table.js'

const MFA_GRANT = 'urn:taskflow:params:oauth:grant-type:mfa-otp'

interface Challenge { mfa_token: string, expires_in: number, methods: string[] }

const claims = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>

async function login (t: TestApp, email: string, password: string) {
  return t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } })
}

/** Logs in with the password and returns the mfa_token of the challenge (asserting the 403 shape). */
async function challenge (t: TestApp, user: { email: string, password: string }): Promise<string> {
  const res = await login(t, user.email, user.password)
  assert.equal(res.statusCode, 403, res.body)
  return res.json<Challenge>().mfa_token
}

const verify = (t: TestApp, payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/v1/auth/mfa/verify', payload })
const grant = (t: TestApp, form: Record<string, string>) =>
  t.app.inject({ method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(form).toString() })

async function liveSessions (t: TestApp, userId: string): Promise<number> {
  return (await t.database.db.select().from(sessionsTable).where(eq(sessionsTable.user_id, userId))).length
}

describe(`MFA at login: every path asks for the second factor [${storageLabel}]`, () => {
  it('when MFA is on, then a right password at /login is 403 mfa_required with mfa_token, expires_in 300 and methods, and no session exists yet', async (t) => {
    const ctx = await buildTestApp(t)
    const user = await ctx.make.user()
    await enableMfa(ctx, user)
    const before = await liveSessions(ctx, user.id)
    const res = await login(ctx, user.email, user.password)
    assert.equal(res.statusCode, 403)
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/)
    const body = res.json<Challenge & { code: string, access_token?: string }>()
    assert.equal(body.code, 'mfa_required')
    assert.match(body.mfa_token, /^[A-Za-z0-9_-]{43,}$/)
    assert.equal(body.expires_in, 300)
    assert.deepEqual(body.methods, ['totp', 'recovery_code'])
    assert.equal(body.access_token, undefined)
    assert.equal(await liveSessions(ctx, user.id), before)
    // a wrong password is still the plain 401: the challenge is only for the right one
    assert.equal((await login(ctx, user.email, 'not my password 1')).statusCode, 401)
  })

  it('when the right code is sent to /v1/auth/mfa/verify, then 200 token response whose access token says amr pwd otp mfa; a refresh keeps it; login.success is audited with it', async (t) => {
    const ctx = await buildTestApp(t)
    const user = await ctx.make.user()
    const mfa = await enableMfa(ctx, user)
    const res = await verify(ctx, { mfa_token: await challenge(ctx, user), code: mfa.code() })
    assert.equal(res.statusCode, 200, res.body)
    const pair = res.json<{ access_token: string, refresh_token: string, user: { id: string, mfa_enabled: boolean } }>()
    assert.equal(pair.user.id, user.id)
    assert.equal(pair.user.mfa_enabled, true)
    assert.deepEqual(claims(pair.access_token).amr, ['pwd', 'otp', 'mfa'])
    assert.equal((await ctx.app.inject({ method: 'GET', url: '/v1/users/me', headers: ctx.make.bearer(pair.access_token) })).statusCode, 200)
    const refreshed = await ctx.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: pair.refresh_token } })
    assert.deepEqual(claims(refreshed.json().access_token).amr, ['pwd', 'otp', 'mfa'])
    const events = await ctx.database.db.select().from(auditEventsTable).where(and(eq(auditEventsTable.user_id, user.id), eq(auditEventsTable.type, 'login.success')))
    const last = events.at(-1)?.details as { amr?: string[], method?: string }
    assert.deepEqual(last.amr, ['pwd', 'otp', 'mfa'])
    assert.equal(last.method, 'password')
    // a password-only login says so
    assert.deepEqual(claims(user.tokens.access_token).amr, ['pwd'])
  })

  it('when an mfa_token was used once, then it is dead, even with a new right code', async (t) => {
    const ctx = await buildTestApp(t)
    const user = await ctx.make.user()
    const mfa = await enableMfa(ctx, user)
    const token = await challenge(ctx, user)
    assert.equal((await verify(ctx, { mfa_token: token, code: mfa.code() })).statusCode, 200)
    ctx.clock.advance(30)
    const again = await verify(ctx, { mfa_token: token, code: mfa.code() })
    assert.equal(again.statusCode, 401)
    assert.equal(again.json().code, 'mfa_token_invalid')
    assert.equal(again.headers['www-authenticate'], 'Bearer')
  })

  it('when the mfa_token is older than 300 s, unknown or malformed, then 401 mfa_token_invalid', async (t) => {
    const ctx = await buildTestApp(t)
    const user = await ctx.make.user()
    const mfa = await enableMfa(ctx, user)
    const token = await challenge(ctx, user)
    ctx.clock.advance(301)
    for (const mfaToken of [token, 'x'.repeat(43), 'not even base64!']) {
      const res = await verify(ctx, { mfa_token: mfaToken, code: mfa.code() })
      assert.equal(res.statusCode, 401, mfaToken)
      assert.equal(res.json().code, 'mfa_token_invalid')
    }
  })

  it('when the body has both code and recovery_code, neither, or unknown fields, then 400 and the token stays usable', async (t) => {
    const ctx = await buildTestApp(t)
    const user = await ctx.make.user()
    const mfa = await enableMfa(ctx, user)
    const token = await challenge(ctx, user)
    for (const payload of [{ mfa_token: token }, { mfa_token: token, code: mfa.code(), recovery_code: mfa.recoveryCodes[0] }, { mfa_token: token, code: mfa.code(), extra: 1 }, { mfa_token: token, code: '12345' }]) {
      assert.equal((await verify(ctx, payload)).statusCode, 400, JSON.stringify(payload))
    }
    assert.equal((await verify(ctx, { mfa_token: token, code: mfa.code() })).statusCode, 200)
  })

  it('when the password grant meets MFA, then 403 {error: mfa_required, mfa_token}, and the mfa-otp grant finishes it (RFC 6749 body, no user); a wrong otp is invalid_grant', async (t) => {
    const ctx = await buildTestApp(t)
    const user = await ctx.make.user()
    const mfa = await enableMfa(ctx, user)
    const first = await grant(ctx, { grant_type: 'password', username: user.email, password: user.password })
    assert.equal(first.statusCode, 403)
    assert.match(String(first.headers['content-type']), /^application\/json/)
    assert.equal(first.headers['cache-control'], 'no-store')
    const body = first.json<{ error: string, error_description: string, mfa_token: string }>()
    assert.equal(body.error, 'mfa_required')
    assert.match(body.error_description, /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/)
    assert.ok(body.mfa_token)

    const wrongCode = mfa.code() === '000000' ? '000001' : '000000'
    const wrong = await grant(ctx, { grant_type: MFA_GRANT, mfa_token: body.mfa_token, otp: wrongCode })
    assert.equal(wrong.statusCode, 400)
    assert.equal(wrong.json().error, 'invalid_grant')
    const ok = await grant(ctx, { grant_type: MFA_GRANT, mfa_token: body.mfa_token, otp: mfa.code() })
    assert.equal(ok.statusCode, 200, ok.body)
    assert.deepEqual(Object.keys(ok.json()).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type'])
    assert.deepEqual(claims(ok.json().access_token).amr, ['pwd', 'otp', 'mfa'])
    assert.equal(ok.headers['pragma'], 'no-cache')
  })

  it('when the mfa-otp grant lacks mfa_token, has both otp and recovery_code or neither, then invalid_request; a dead mfa_token is invalid_grant', async (t) => {
    const ctx = await buildTestApp(t)
    const user = await ctx.make.user()
    const mfa = await enableMfa(ctx, user)
    const token = await challenge(ctx, user)
    const forms: Array<Record<string, string>> = [{ grant_type: MFA_GRANT, otp: mfa.code() }, { grant_type: MFA_GRANT, mfa_token: token }, { grant_type: MFA_GRANT, mfa_token: token, otp: mfa.code(), recovery_code: mfa.recoveryCodes[0] ?? '' }]
    for (const form of forms) {
      const res = await grant(ctx, form)
      assert.equal(res.statusCode, 400)
      assert.equal(res.json().error, 'invalid_request', JSON.stringify(form))
    }
    const dead = await grant(ctx, { grant_type: MFA_GRANT, mfa_token: 'unknown-token-unknown-token-unknown-token-x', otp: mfa.code() })
    assert.equal(dead.json().error, 'invalid_grant')
    const recovered = await grant(ctx, { grant_type: MFA_GRANT, mfa_token: token, recovery_code: mfa.recoveryCodes[1] ?? '' })
    assert.equal(recovered.statusCode, 200)
  })

  it('when the server metadata is read, then grant_types_supported names the mfa-otp grant', async (t) => {
    const { app } = await buildTestApp(t)
    const res = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })
    assert.ok(res.json<{ grant_types_supported: string[] }>().grant_types_supported.includes(MFA_GRANT))
  })
})

describe(`MFA codes on the manual clock [${storageLabel}]`, () => {
  it('when the code is of the previous or next step, then it is accepted; two steps away, refused', async (t) => {
    const ctx = await buildTestApp(t)
    alignClock(ctx, 15)
    const user = await ctx.make.user()
    const mfa = await enableMfa(ctx, user)
    ctx.clock.advance(60) // well past the activation's step
    for (const offset of [-2, 2]) {
      const code = mfa.code(offset)
      if ([-1, 0, 1].some(o => mfa.code(o) === code)) continue // a 1-in-10^6 collision
      const res = await verify(ctx, { mfa_token: await challenge(ctx, user), code })
      assert.equal(res.statusCode, 401, `offset ${offset}`)
      assert.equal(res.json().code, 'mfa_code_invalid')
    }
    // -1 first: once +1 is accepted, an earlier step never is (only a newer step than the last accepted)
    assert.equal((await verify(ctx, { mfa_token: await challenge(ctx, user), code: mfa.code(-1) })).statusCode, 200)
    assert.equal((await verify(ctx, { mfa_token: await challenge(ctx, user), code: mfa.code(1) })).statusCode, 200)
    const older = await verify(ctx, { mfa_token: await challenge(ctx, user), code: mfa.code(0) })
    assert.equal(older.statusCode, 401, 'a step before the last accepted one is refused')
  })

  it('when the same code is sent twice, then the second is refused as a wrong code (RFC 6238 §5.2)', async (t) => {
    const ctx = await buildTestApp(t)
    alignClock(ctx, 5)
    const user = await ctx.make.user()
    const mfa = await enableMfa(ctx, user)
    const code = mfa.code()
    assert.equal((await verify(ctx, { mfa_token: await challenge(ctx, user), code })).statusCode, 200)
    ctx.clock.advance(10) // same step
    const replay = await verify(ctx, { mfa_token: await challenge(ctx, user), code })
    assert.equal(replay.statusCode, 401)
    assert.equal(replay.json().code, 'mfa_code_invalid')
    ctx.clock.advance(30)
    assert.equal((await verify(ctx, { mfa_token: await challenge(ctx, user), code: mfa.code() })).statusCode, 200, 'the next step works')
  })

  it('when two verifies race with one code, then exactly one gets a session', async (t) => {
    const ctx = await buildTestApp(t)
    const user = await ctx.make.user()
    const mfa = await enableMfa(ctx, user)
    const [a, b, c] = [await challenge(ctx, user), await challenge(ctx, user), await challenge(ctx, user)]
    const code = mfa.code()
    const results = await Promise.all([a, b, c].map(token => verify(ctx, { mfa_token: token, code })))
    assert.deepEqual(results.map(r => r.statusCode).sort(), [200, 401, 401])
    // and on one mfa_token
    ctx.clock.advance(30)
    const token = await challenge(ctx, user)
    const same = await Promise.all([1, 2].map(() => verify(ctx, { mfa_token: token, code: mfa.code() })))
    assert.deepEqual(same.map(r => r.statusCode).sort(), [200, 401])
  })

  it('when five wrong codes were sent on one mfa_token, then the sixth is refused even when right', async (t) => {
    const ctx = await buildTestApp(t)
    const user = await ctx.make.user()
    const mfa = await enableMfa(ctx, user)
    const token = await challenge(ctx, user)
    const wrong = ['111111', '222222', '333333', '444444', '555555', '666666'].filter(c => ![-1, 0, 1].some(o => mfa.code(o) === c)).slice(0, 5)
    for (const code of wrong) {
      const res = await verify(ctx, { mfa_token: token, code })
      assert.equal(res.statusCode, 401)
      assert.equal(res.json().code, 'mfa_code_invalid')
    }
    const sixth = await verify(ctx, { mfa_token: token, code: mfa.code() })
    assert.equal(sixth.statusCode, 401)
    assert.equal(sixth.json().code, 'mfa_token_invalid')
    // five wrong codes arriving at once on a fresh token: still at most five checks
    const fresh = await challenge(ctx, user)
    await Promise.all(wrong.map(code => verify(ctx, { mfa_token: fresh, code })))
    assert.equal((await verify(ctx, { mfa_token: fresh, code: mfa.code() })).json().code, 'mfa_token_invalid')
  })

  it('when ten wrong codes were sent for an account, then 429 even with a right code until the window passes', async (t) => {
    const ctx = await buildTestApp(t, { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_LOGIN_PER_IP: '1000' })
    const user = await ctx.make.user()
    const mfa = await enableMfa(ctx, user)
    const tokens = [await challenge(ctx, user), await challenge(ctx, user), await challenge(ctx, user)]
    const wrong = ['111111', '222222', '333333', '444444', '555555', '666666', '777777'].filter(c => ![-1, 0, 1].some(o => mfa.code(o) === c)).slice(0, 5)
    for (const token of tokens.slice(0, 2)) {
      for (const code of wrong) assert.equal((await verify(ctx, { mfa_token: token, code })).statusCode, 401)
    }
    const blocked = await verify(ctx, { mfa_token: tokens[2], code: mfa.code() })
    assert.equal(blocked.statusCode, 429)
    assert.ok(Number(blocked.headers['retry-after']) > 0)
    assert.equal((await login(ctx, user.email, user.password)).statusCode, 429, 'the password step shares the budget')
    const metrics = await ctx.app.inject({ method: 'GET', url: '/metrics' })
    assert.match(metrics.body, /auth_mfa_verify_total\{result="invalid_code"\} 10/)
    assert.match(metrics.body, /auth_mfa_verify_total\{result="rate_limited"\} 1/)
  })

  it('when a recovery code is used (typed in upper case with spaces), then it works once; the second time it is a wrong code', async (t) => {
    const ctx = await buildTestApp(t)
    const user = await ctx.make.user()
    const mfa = await enableMfa(ctx, user)
    const code = mfa.recoveryCodes[5] ?? ''
    const first = await verify(ctx, { mfa_token: await challenge(ctx, user), recovery_code: code.toUpperCase().replaceAll('-', ' ') })
    assert.equal(first.statusCode, 200)
    assert.deepEqual(claims(first.json().access_token).amr, ['pwd', 'otp', 'mfa'])
    const again = await verify(ctx, { mfa_token: await challenge(ctx, user), recovery_code: code })
    assert.equal(again.statusCode, 401)
    assert.equal(again.json().code, 'mfa_code_invalid')
    const used = await ctx.database.db.select().from(auditEventsTable).where(and(eq(auditEventsTable.user_id, user.id), eq(auditEventsTable.type, 'mfa.recovery_code_used')))
    assert.equal(used.length, 1)
  })

  it('when the account was disabled between the two steps, then the right code gets 403 account_disabled and no session', async (t) => {
    const ctx = await buildTestApp(t)
    const user = await ctx.make.user()
    const mfa = await enableMfa(ctx, user)
    const token = await challenge(ctx, user)
    await ctx.make.updateUser(user.id, { is_active: false })
    const before = await liveSessions(ctx, user.id)
    const res = await verify(ctx, { mfa_token: token, code: mfa.code() })
    assert.equal(res.statusCode, 403)
    assert.equal(res.json().code, 'account_disabled')
    assert.equal(await liveSessions(ctx, user.id), before)
  })
})

describe(`MFA seen from outside [${storageLabel}]`, () => {
  it('when an authenticator reads only the otpauth URI (an independent RFC 6238 implementation), then its codes activate MFA and log in', async (t) => {
    const ctx = await buildTestApp(t)
    const { app, make, clock } = ctx
    const user = await make.user()
    const setup = await app.inject({ method: 'POST', url: '/v1/users/me/mfa/totp', headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password } })
    const uri = parseKeyUri(setup.json().otpauth_uri)
    assert.deepEqual([uri.type, uri.algorithm, uri.digits, uri.period, uri.issuer, uri.labelIssuer, uri.account], ['totp', 'SHA1', 6, 30, 'TaskFlow', 'TaskFlow', user.email])
    const app1 = (at: Date) => referenceTotp(uri.key, at, { digits: uri.digits, period: uri.period })
    assert.equal((await app.inject({ method: 'POST', url: '/v1/users/me/mfa/totp/activate', headers: make.bearer(user.tokens.access_token), payload: { code: app1(clock.now()) } })).statusCode, 200)
    clock.advance(30)
    const res = await verify(ctx, { mfa_token: await challenge(ctx, user), code: app1(clock.now()) })
    assert.equal(res.statusCode, 200)
  })

  it('when two app instances share the database, then a code used on one is refused on the other', async (t) => {
    const a = await buildTestApp(t)
    const b = await buildTestApp(t)
    b.clock.set(a.clock.now())
    const user = await a.make.user()
    const mfa = await enableMfa(a, user)
    b.clock.set(a.clock.now())
    const code = mfa.code()
    assert.equal((await verify(a, { mfa_token: await challenge(a, user), code })).statusCode, 200)
    const onB = await verify(b, { mfa_token: await challenge(b, user), code })
    assert.equal(onB.statusCode, 401)
    assert.equal(onB.json().code, 'mfa_code_invalid')
    // an mfa_token from A works on B (one database), and a recovery code spent on B is spent on A
    assert.equal((await verify(b, { mfa_token: await challenge(a, user), recovery_code: mfa.recoveryCodes[0] })).statusCode, 200)
    assert.equal((await verify(a, { mfa_token: await challenge(a, user), recovery_code: mfa.recoveryCodes[0] })).statusCode, 401)
  })

  it('when MFA is set up and used, then no secret, code or recovery code appears in the logs, audit rows or later responses', async (t) => {
    const lines: string[] = []
    const logStream = new PassThrough()
    logStream.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')))
    const ctx = await buildTestApp(t, { LOG_LEVEL: 'debug' }, { logStream })
    const user = await ctx.make.user()
    const mfa = await enableMfa(ctx, user)
    const code = mfa.code()
    const token = await challenge(ctx, user)
    await verify(ctx, { mfa_token: token, code: code === '000000' ? '000001' : '000000' })
    const ok = await verify(ctx, { mfa_token: token, code })
    await verify(ctx, { mfa_token: await challenge(ctx, user), recovery_code: mfa.recoveryCodes[2] })
    const me = await ctx.app.inject({ method: 'GET', url: '/v1/users/me', headers: ctx.make.bearer(ok.json().access_token) })
    const audit = JSON.stringify(await ctx.database.db.select().from(auditEventsTable).where(eq(auditEventsTable.user_id, user.id)))
    const haystacks = { logs: lines.join(''), audit, me: me.body }
    const needles = [mfa.secret, code, token, ...mfa.recoveryCodes, ...mfa.recoveryCodes.map(c => c.replaceAll('-', ''))]
    for (const [where, text] of Object.entries(haystacks)) {
      for (const needle of needles) assert.ok(!text.includes(needle), `${where} contains a secret`)
    }
    assert.ok(lines.length > 0)
  })
})

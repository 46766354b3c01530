import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { and, eq } from 'drizzle-orm'
import { buildTestApp } from '../../../test/build-test-app.js'
import { challenge, claims, enableMfa, grant, login, MFA_GRANT, sessionCount, verify, type Challenge } from '../../../test/mfa.js'
import { storageLabel } from '../../../test/test-env.js'
import { auditEventsTable } from '../audit/audit.table.js'

describe(`MFA at login: every path asks for the second factor [${storageLabel}]`, () => {
  it('when MFA is on, then a right password at /login is 403 mfa_required with mfa_token, expires_in 300 and methods, and no session exists yet', async (t) => {
    const ctx = await buildTestApp(t)
    const user = await ctx.make.user()
    await enableMfa(ctx, user)
    const before = await sessionCount(ctx, user.id)
    const res = await login(ctx, user.email, user.password)
    assert.equal(res.statusCode, 403)
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/)
    const body = res.json<Challenge & { code: string, access_token?: string }>()
    assert.equal(body.code, 'mfa_required')
    assert.match(body.mfa_token, /^[A-Za-z0-9_-]{43,}$/)
    assert.equal(body.expires_in, 300)
    assert.deepEqual(body.methods, ['totp', 'recovery_code'])
    assert.equal(body.access_token, undefined)
    assert.equal(await sessionCount(ctx, user.id), before)
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

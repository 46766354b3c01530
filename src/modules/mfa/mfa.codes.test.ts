import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { and, eq } from 'drizzle-orm'
import { buildTestApp } from '../../../test/build-test-app.js'
import { alignClock, challenge, claims, enableMfa, login, sessionCount, verify } from '../../../test/mfa.js'
import { storageLabel } from '../../../test/test-env.js'
import { auditEventsTable } from '../audit/audit.table.js'

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
    const before = await sessionCount(ctx, user.id)
    const res = await verify(ctx, { mfa_token: token, code: mfa.code() })
    assert.equal(res.statusCode, 403)
    assert.equal(res.json().code, 'account_disabled')
    assert.equal(await sessionCount(ctx, user.id), before)
  })
})

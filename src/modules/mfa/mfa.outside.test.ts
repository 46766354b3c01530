import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import { eq } from 'drizzle-orm'
import { buildTestApp } from '../../../test/build-test-app.js'
import { parseKeyUri, referenceTotp } from '../../../test/authenticator.js'
import { challenge, enableMfa, verify } from '../../../test/mfa.js'
import { storageLabel } from '../../../test/test-env.js'
import { auditEventsTable } from '../audit/audit.table.js'

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

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { and, eq, like } from 'drizzle-orm'
import { buildTestApp, type TestApp } from '../../../test/build-test-app.js'
import { parseKeyUri, referenceTotp } from '../../../test/authenticator.js'
import { alignClock, enableMfa } from '../../../test/mfa.js'
import { storageLabel } from '../../../test/test-env.js'
import { auditEventsTable } from '../audit/audit.table.js'
import { mfaRecoveryCodesTable, mfaTotpTable } from './mfa.table.js'

const setupUrl = '/v1/users/me/mfa/totp'
const activateUrl = '/v1/users/me/mfa/totp/activate'

async function auditOf (t: TestApp, userId: string, type: string) {
  return t.database.db.select().from(auditEventsTable).where(and(eq(auditEventsTable.user_id, userId), eq(auditEventsTable.type, type)))
}

describe(`MFA set-up and management [${storageLabel}]`, () => {
  describe('POST /v1/users/me/mfa/totp', () => {
    it('when the password is right, then 200 with a 160-bit base32 secret, the otpauth URI of API.md and 600 s; the secret is stored only encrypted', async (t) => {
      const ctx = await buildTestApp(t, { MFA_ISSUER: 'Acme Tasks' })
      const { app, make, database } = ctx
      const user = await make.user()
      const res = await app.inject({ method: 'POST', url: setupUrl, headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password } })
      assert.equal(res.statusCode, 200)
      assert.equal(res.headers['cache-control'], 'no-store')
      const body = res.json<{ secret: string, otpauth_uri: string, expires_in: number }>()
      assert.deepEqual(Object.keys(body).sort(), ['expires_in', 'otpauth_uri', 'secret'])
      assert.match(body.secret, /^[A-Z2-7]{32}$/)
      assert.equal(body.expires_in, 600)
      assert.equal(body.otpauth_uri, `otpauth://totp/Acme%20Tasks:${encodeURIComponent(user.email)}?secret=${body.secret}&issuer=Acme%20Tasks&algorithm=SHA1&digits=6&period=30`)
      const uri = parseKeyUri(body.otpauth_uri)
      assert.equal(uri.key.length, 20)
      assert.deepEqual([uri.labelIssuer, uri.issuer, uri.account], ['Acme Tasks', 'Acme Tasks', user.email])
      const [row] = await database.db.select().from(mfaTotpTable).where(eq(mfaTotpTable.user_id, user.id))
      assert.equal(row?.status, 'pending')
      assert.match(row?.secret_enc ?? '', /^v1\./)
      assert.ok(!row?.secret_enc.includes(body.secret))
      assert.equal((await make.reloadUser(user.id))?.mfa_enabled, false)
    })

    it('when the password is wrong, then 400 wrong_password and nothing is stored', async (t) => {
      const { app, make, database } = await buildTestApp(t)
      const user = await make.user()
      const res = await app.inject({ method: 'POST', url: setupUrl, headers: make.bearer(user.tokens.access_token), payload: { current_password: 'not my password 1' } })
      assert.equal(res.statusCode, 400)
      assert.equal(res.json().code, 'wrong_password')
      assert.equal((await database.db.select().from(mfaTotpTable).where(eq(mfaTotpTable.user_id, user.id))).length, 0)
    })

    it('when there is no token, then 401; a body with unknown fields is 400', async (t) => {
      const { app, make } = await buildTestApp(t)
      assert.equal((await app.inject({ method: 'POST', url: setupUrl, payload: { current_password: 'x' } })).statusCode, 401)
      const user = await make.user()
      assert.equal((await app.inject({ method: 'POST', url: setupUrl, headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password, secret: 'AAAA' } })).statusCode, 400)
    })

    it('when MFA is already on, then 409 mfa_already_enabled and the factor is unchanged', async (t) => {
      const ctx = await buildTestApp(t)
      const user = await ctx.make.user()
      const mfa = await enableMfa(ctx, user)
      const res = await ctx.app.inject({ method: 'POST', url: setupUrl, headers: ctx.make.bearer(user.tokens.access_token), payload: { current_password: user.password } })
      assert.equal(res.statusCode, 409)
      assert.equal(res.json().code, 'mfa_already_enabled')
      const [row] = await ctx.database.db.select().from(mfaTotpTable).where(eq(mfaTotpTable.user_id, user.id))
      assert.equal(row?.status, 'active')
      // the old factor still answers: regenerate with its code works
      const regen = await ctx.app.inject({ method: 'POST', url: '/v1/users/me/mfa/recovery-codes', headers: ctx.make.bearer(user.tokens.access_token), payload: { current_password: user.password, code: mfa.code() } })
      assert.equal(regen.statusCode, 200)
    })
  })

  describe('POST /v1/users/me/mfa/totp/activate', () => {
    it('when the code is right, then 200 with 10 distinct recovery codes, MFA on, other sessions ended, this one kept, audited without secrets', async (t) => {
      const ctx = await buildTestApp(t)
      const { app, make, database } = ctx
      const user = await make.user()
      const other = await make.login({ email: user.email }, user.password)
      const setup = await app.inject({ method: 'POST', url: setupUrl, headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password } })
      const { key } = parseKeyUri(setup.json().otpauth_uri)
      const res = await app.inject({ method: 'POST', url: activateUrl, headers: make.bearer(user.tokens.access_token), payload: { code: referenceTotp(key, ctx.clock.now()) } })
      assert.equal(res.statusCode, 200)
      const codes = res.json<{ recovery_codes: string[] }>().recovery_codes
      assert.equal(codes.length, 10)
      assert.equal(new Set(codes).size, 10)
      for (const code of codes) assert.match(code, /^[a-z2-7]{4}(-[a-z2-7]{4}){5}$/) // 24 base32 characters: 120 bits
      assert.equal((await make.reloadUser(user.id))?.mfa_enabled, true)
      const me = await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token) })
      assert.equal(me.statusCode, 200)
      assert.equal(me.json().mfa_enabled, true)
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(other.access_token) })).statusCode, 401)
      assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: other.refresh_token } })).statusCode, 401)

      const stored = await database.db.select().from(mfaRecoveryCodesTable).where(eq(mfaRecoveryCodesTable.user_id, user.id))
      assert.equal(stored.length, 10)
      for (const row of stored) for (const code of codes) assert.ok(!row.code_hash.includes(code.replaceAll('-', '')))
      const [event] = await auditOf(ctx, user.id, 'mfa.enabled')
      assert.ok(event)
      const text = JSON.stringify(event)
      for (const code of codes) assert.ok(!text.includes(code))
      assert.ok(!text.includes(setup.json().secret))
    })

    it('when the code is wrong, then 400 and MFA stays off; once the set-up expired (600 s), even the right code is 400', async (t) => {
      const ctx = await buildTestApp(t)
      const { app, make, clock } = ctx
      const user = await make.user()
      const setup = await app.inject({ method: 'POST', url: setupUrl, headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password } })
      const { key } = parseKeyUri(setup.json().otpauth_uri)
      const right = referenceTotp(key, clock.now())
      const wrong = right === '000000' ? '000001' : '000000'
      const res = await app.inject({ method: 'POST', url: activateUrl, headers: make.bearer(user.tokens.access_token), payload: { code: wrong } })
      assert.equal(res.statusCode, 400)
      assert.equal(res.json().errors[0].field, 'code')
      assert.equal((await make.reloadUser(user.id))?.mfa_enabled, false)
      for (const code of ['12345', '1234567', 'abcdef']) {
        assert.equal((await app.inject({ method: 'POST', url: activateUrl, headers: make.bearer(user.tokens.access_token), payload: { code } })).statusCode, 400)
      }
      clock.advance(601)
      const late = await app.inject({ method: 'POST', url: activateUrl, headers: make.bearer(user.tokens.access_token), payload: { code: referenceTotp(key, clock.now()) } })
      assert.equal(late.statusCode, 400)
      assert.match(late.json().detail, /no pending set-up/i)
      assert.equal((await make.reloadUser(user.id))?.mfa_enabled, false)
    })

    it('when a second set-up is started, then it replaces the first: the first secret\'s code is refused, the second\'s accepted', async (t) => {
      const ctx = await buildTestApp(t)
      const { app, make, clock } = ctx
      const user = await make.user()
      const first = await app.inject({ method: 'POST', url: setupUrl, headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password } })
      const second = await app.inject({ method: 'POST', url: setupUrl, headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password } })
      assert.notEqual(first.json().secret, second.json().secret)
      const oldCode = referenceTotp(parseKeyUri(first.json().otpauth_uri).key, clock.now())
      const newCode = referenceTotp(parseKeyUri(second.json().otpauth_uri).key, clock.now())
      if (oldCode !== newCode) {
        assert.equal((await app.inject({ method: 'POST', url: activateUrl, headers: make.bearer(user.tokens.access_token), payload: { code: oldCode } })).statusCode, 400)
      }
      assert.equal((await app.inject({ method: 'POST', url: activateUrl, headers: make.bearer(user.tokens.access_token), payload: { code: newCode } })).statusCode, 200)
    })

    it('when two activations race with one code, then exactly one succeeds', async (t) => {
      const ctx = await buildTestApp(t)
      const { app, make, clock } = ctx
      const user = await make.user()
      const setup = await app.inject({ method: 'POST', url: setupUrl, headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password } })
      const code = referenceTotp(parseKeyUri(setup.json().otpauth_uri).key, clock.now())
      const results = await Promise.all([1, 2].map(() => app.inject({ method: 'POST', url: activateUrl, headers: make.bearer(user.tokens.access_token), payload: { code } })))
      assert.deepEqual(results.map(r => r.statusCode).sort(), [200, 400])
      assert.equal((await ctx.database.db.select().from(mfaRecoveryCodesTable).where(eq(mfaRecoveryCodesTable.user_id, user.id))).length, 10)
    })
  })

  describe('POST /v1/users/me/mfa/recovery-codes', () => {
    it('when password and code are right, then 200 with a new set and the old set stops working', async (t) => {
      const ctx = await buildTestApp(t)
      const { app, make } = ctx
      const user = await make.user()
      const mfa = await enableMfa(ctx, user)
      const res = await app.inject({ method: 'POST', url: '/v1/users/me/mfa/recovery-codes', headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password, code: mfa.code() } })
      assert.equal(res.statusCode, 200)
      const fresh = res.json<{ recovery_codes: string[] }>().recovery_codes
      assert.equal(fresh.length, 10)
      assert.ok(fresh.every(code => !mfa.recoveryCodes.includes(code)))
      const unused = await ctx.database.db.select().from(mfaRecoveryCodesTable).where(eq(mfaRecoveryCodesTable.user_id, user.id))
      assert.equal(unused.length, 10)
      // an old code no longer confirms anything; a new one does (and, as a recovery code, only once)
      const old = await app.inject({ method: 'DELETE', url: '/v1/users/me/mfa', headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password, code: mfa.recoveryCodes[0] } })
      assert.equal(old.statusCode, 400)
      const again = await app.inject({ method: 'POST', url: '/v1/users/me/mfa/recovery-codes', headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password, code: fresh[0] } })
      assert.equal(again.statusCode, 200)
    })

    it('when the password or code is wrong, then 400; when MFA is off, then 409 mfa_not_enabled', async (t) => {
      const ctx = await buildTestApp(t)
      const { app, make } = ctx
      const off = await make.user()
      const notOn = await app.inject({ method: 'POST', url: '/v1/users/me/mfa/recovery-codes', headers: make.bearer(off.tokens.access_token), payload: { current_password: off.password, code: '123456' } })
      assert.equal(notOn.statusCode, 409)
      assert.equal(notOn.json().code, 'mfa_not_enabled')
      const user = await make.user()
      const mfa = await enableMfa(ctx, user)
      const wrongPassword = await app.inject({ method: 'POST', url: '/v1/users/me/mfa/recovery-codes', headers: make.bearer(user.tokens.access_token), payload: { current_password: 'not my password 1', code: mfa.code() } })
      assert.equal(wrongPassword.json().code, 'wrong_password')
      const wrongCode = await app.inject({ method: 'POST', url: '/v1/users/me/mfa/recovery-codes', headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password, code: mfa.code() === '999999' ? '999998' : '999999' } })
      assert.equal(wrongCode.statusCode, 400)
      assert.equal(wrongCode.json().errors[0].field, 'code')
    })
  })

  describe('DELETE /v1/users/me/mfa', () => {
    it('when password and TOTP code are right, then 204: MFA off, factor and recovery codes gone, audited', async (t) => {
      const ctx = await buildTestApp(t)
      const { app, make, database } = ctx
      const user = await make.user()
      const mfa = await enableMfa(ctx, user)
      const res = await app.inject({ method: 'DELETE', url: '/v1/users/me/mfa', headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password, code: mfa.code() } })
      assert.equal(res.statusCode, 204)
      assert.equal((await make.reloadUser(user.id))?.mfa_enabled, false)
      assert.equal((await database.db.select().from(mfaTotpTable).where(eq(mfaTotpTable.user_id, user.id))).length, 0)
      assert.equal((await database.db.select().from(mfaRecoveryCodesTable).where(eq(mfaRecoveryCodesTable.user_id, user.id))).length, 0)
      assert.equal((await auditOf(ctx, user.id, 'mfa.disabled')).length, 1)
      const again = await app.inject({ method: 'DELETE', url: '/v1/users/me/mfa', headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password, code: mfa.code(1) } })
      assert.equal(again.statusCode, 409)
      await make.login({ email: user.email }, user.password) // a plain password login again
    })

    it('when a recovery code is given (any case, spaces or hyphens), then it confirms, audited with how many are left', async (t) => {
      const ctx = await buildTestApp(t)
      const { app, make } = ctx
      const user = await make.user()
      const mfa = await enableMfa(ctx, user)
      const typed = ` ${(mfa.recoveryCodes[3] ?? '').toUpperCase().replaceAll('-', ' ')} `
      const res = await app.inject({ method: 'DELETE', url: '/v1/users/me/mfa', headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password, code: typed } })
      assert.equal(res.statusCode, 204)
      const [used] = await auditOf(ctx, user.id, 'mfa.recovery_code_used')
      assert.equal((used?.details as { remaining?: number }).remaining, 9)
    })

    it('when the same TOTP code is used twice, then the second use is refused (replay)', async (t) => {
      const ctx = await buildTestApp(t)
      const { app, make } = ctx
      alignClock(ctx, 5)
      const user = await make.user()
      const mfa = await enableMfa(ctx, user)
      const code = mfa.code()
      const first = await app.inject({ method: 'POST', url: '/v1/users/me/mfa/recovery-codes', headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password, code } })
      assert.equal(first.statusCode, 200)
      const replay = await app.inject({ method: 'DELETE', url: '/v1/users/me/mfa', headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password, code } })
      assert.equal(replay.statusCode, 400)
      assert.equal((await make.reloadUser(user.id))?.mfa_enabled, true)
    })
  })

  describe('DELETE /v1/admin/users/{id}/mfa', () => {
    it('when an admin resets a user\'s MFA, then 204: MFA off, recovery codes gone, every session revoked, audited; again 409', async (t) => {
      const ctx = await buildTestApp(t)
      const { app, make, database } = ctx
      const admin = await make.admin()
      const user = await make.user()
      await enableMfa(ctx, user)
      const res = await app.inject({ method: 'DELETE', url: `/v1/admin/users/${user.id}/mfa`, headers: make.bearer(admin.tokens.access_token) })
      assert.equal(res.statusCode, 204)
      assert.equal((await make.reloadUser(user.id))?.mfa_enabled, false)
      assert.equal((await database.db.select().from(mfaRecoveryCodesTable).where(eq(mfaRecoveryCodesTable.user_id, user.id))).length, 0)
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token) })).statusCode, 401)
      const [event] = await auditOf(ctx, user.id, 'mfa.reset_by_admin')
      assert.equal(event?.actor_id, admin.id)
      const again = await app.inject({ method: 'DELETE', url: `/v1/admin/users/${user.id}/mfa`, headers: make.bearer(admin.tokens.access_token) })
      assert.equal(again.statusCode, 409)
      assert.equal(again.json().code, 'mfa_not_enabled')
      await make.login({ email: user.email }, user.password)
    })

    it('when the caller is not an admin, then 403; an unknown user 404; a malformed id 400', async (t) => {
      const ctx = await buildTestApp(t)
      const { app, make } = ctx
      const user = await make.user()
      await enableMfa(ctx, user)
      assert.equal((await app.inject({ method: 'DELETE', url: `/v1/admin/users/${user.id}/mfa`, headers: make.bearer(user.tokens.access_token) })).statusCode, 403)
      assert.equal((await make.reloadUser(user.id))?.mfa_enabled, true)
      const admin = await make.admin()
      assert.equal((await app.inject({ method: 'DELETE', url: '/v1/admin/users/0193a0b0-0000-7000-8000-000000000000/mfa', headers: make.bearer(admin.tokens.access_token) })).statusCode, 404)
      assert.equal((await app.inject({ method: 'DELETE', url: '/v1/admin/users/nope/mfa', headers: make.bearer(admin.tokens.access_token) })).statusCode, 400)
      const events = await ctx.database.db.select().from(auditEventsTable).where(and(eq(auditEventsTable.user_id, user.id), like(auditEventsTable.type, 'mfa.%')))
      assert.deepEqual(events.map(e => e.type), ['mfa.enabled'])
    })
  })
})

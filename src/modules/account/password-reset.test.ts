import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { and, eq } from 'drizzle-orm'
import { APP_URL, buildMailTestApp } from '../../../test/mail-test-app.js'
import { linkIn } from '../../../test/smtp-sink.js'
import { uniqueEmail } from '../../../test/factories.js'
import { storageLabel } from '../../../test/test-env.js'
import { auditEventsTable } from '../audit/audit.table.js'
import { NOTICES } from '../mail/index.js'

const NEW_PASSWORD = 'a fresh and long passphrase 41'
const isResetMail = (to: string) => (m: { to: string[], subject: string }) => m.to.includes(to) && m.subject === 'Reset your TaskFlow password'

describe(`password reset [${storageLabel}]`, () => {
  it('when a known email asks, then 202 and a mail with a single-use link built from APP_URL (not Host) arrives', async (t) => {
    const { app, make, sink, database } = await buildMailTestApp(t)
    const user = await make.user()
    const res = await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', headers: { host: 'evil.example' }, payload: { email: user.email.toUpperCase() } })
    assert.equal(res.statusCode, 202)
    assert.deepEqual(res.json(), { message: 'If an account has this email address, a link to reset its password is on its way.' })
    const mail = await sink.waitFor(isResetMail(user.email))
    const link = linkIn(mail, 'reset-password')
    assert.ok(link.url.startsWith(`${APP_URL}/reset-password#token=`))
    assert.equal(link.token.length, 43) // 256 bits, base64url
    assert.equal(mail.header('auto-submitted'), 'auto-generated')
    assert.doesNotMatch(mail.text, /evil\.example/)
    const [event] = await database.db.select().from(auditEventsTable).where(and(eq(auditEventsTable.type, 'password.reset_requested'), eq(auditEventsTable.user_id, user.id)))
    assert.equal(event?.details.sent, true)
    assert.doesNotMatch(JSON.stringify(event), new RegExp(link.token))
  })

  it('when an unknown email asks, then the same 202, body and headers, no mail, and an audit event without a user', async (t) => {
    const { app, make, sink, database, outboxSettled } = await buildMailTestApp(t)
    const user = await make.user()
    const unknown = uniqueEmail('nobody')
    const known = await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: user.email } })
    const other = await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: unknown } })
    assert.equal(other.statusCode, known.statusCode)
    assert.equal(other.body, known.body)
    const headerNames = (h: Record<string, unknown>) => Object.keys(h).filter(k => !['date', 'x-request-id'].includes(k)).sort()
    assert.deepEqual(headerNames(other.headers), headerNames(known.headers))
    for (const name of headerNames(known.headers)) {
      if (name !== 'content-length' || known.headers[name] === other.headers[name]) assert.equal(other.headers[name], known.headers[name], name)
    }
    await outboxSettled(unknown)
    await sink.waitFor(isResetMail(user.email))
    assert.equal(sink.to(unknown).length, 0)
    const events = await database.db.select().from(auditEventsTable).where(eq(auditEventsTable.type, 'password.reset_requested'))
    const forUnknown = events.filter(e => e.user_id === null && e.details.reason === 'unknown_email')
    assert.ok(forUnknown.length >= 1)
  })

  it('when the link is used with a strong password, then 204: the password changes, every session ends, the email is verified, MFA stays, a notice is mailed, and the link is spent', async (t) => {
    const { app, make, sink } = await buildMailTestApp(t)
    const user = await make.user()
    const second = await make.login({ email: user.email }, user.password)
    await make.updateUser(user.id, { mfa_enabled: true })
    await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: user.email } })
    const { token } = linkIn(await sink.waitFor(isResetMail(user.email)), 'reset-password')

    const res = await app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, new_password: NEW_PASSWORD } })
    assert.equal(res.statusCode, 204)
    assert.equal(res.body, '')
    for (const tokens of [user.tokens, second]) {
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(tokens.access_token) })).statusCode, 401)
      assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: tokens.refresh_token } })).statusCode, 401)
    }
    const stored = await make.reloadUser(user.id)
    assert.equal(stored?.email_verified, true)
    assert.equal(stored?.mfa_enabled, true)
    assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: user.password } })).statusCode, 401)
    // The new password is right, and MFA stayed on: the login asks for the second factor.
    const withNew = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: NEW_PASSWORD } })
    assert.equal(withNew.statusCode, 403)
    assert.equal(withNew.json().code, 'mfa_required')

    const notice = await sink.waitFor(m => m.to.includes(user.email) && m.subject === NOTICES.password_reset().subject)
    assert.match(notice.text, /reset/)
    const again = await app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, new_password: 'yet another passphrase 52' } })
    assert.equal(again.statusCode, 400)
    assert.equal(again.json().code, 'reset_token_invalid')
  })

  it('when the new password is weak, then 400 and the same link still works afterwards', async (t) => {
    const { app, make, sink } = await buildMailTestApp(t)
    const user = await make.user()
    await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: user.email } })
    const { token } = linkIn(await sink.waitFor(isResetMail(user.email)), 'reset-password')
    for (const weak of ['password1', 'short', user.email.split('@')[0] + '12345']) {
      const res = await app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, new_password: weak } })
      assert.equal(res.statusCode, 400, weak)
      assert.equal(res.json().code, 'weak_password')
      assert.equal(res.json().errors[0].field, 'new_password')
    }
    assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token) })).statusCode, 200)
    assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, new_password: NEW_PASSWORD } })).statusCode, 204)
  })

  it('when a newer link is sent, then the older one stops working', async (t) => {
    const { app, make, sink, outboxSettled } = await buildMailTestApp(t)
    const user = await make.user()
    await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: user.email } })
    const first = linkIn(await sink.waitFor(isResetMail(user.email)), 'reset-password').token
    await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: user.email } })
    await outboxSettled(user.email)
    const mails = sink.to(user.email).filter(isResetMail(user.email))
    assert.equal(mails.length, 2)
    const second = linkIn(mails[1]!, 'reset-password').token
    const old = await app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token: first, new_password: NEW_PASSWORD } })
    assert.equal(old.json().code, 'reset_token_invalid')
    assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token: second, new_password: NEW_PASSWORD } })).statusCode, 204)
  })

  it('when the password is changed, then outstanding reset links die and a "password changed" notice is mailed', async (t) => {
    const { app, make, sink } = await buildMailTestApp(t)
    const user = await make.user()
    await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: user.email } })
    const { token } = linkIn(await sink.waitFor(isResetMail(user.email)), 'reset-password')
    const change = await app.inject({ method: 'PUT', url: '/v1/users/me/password', headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password, new_password: NEW_PASSWORD } })
    assert.equal(change.statusCode, 204)
    await sink.waitFor(m => m.to.includes(user.email) && m.subject === NOTICES.password_changed().subject)
    const res = await app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, new_password: 'yet another passphrase 52' } })
    assert.equal(res.json().code, 'reset_token_invalid')
  })

  it('when the link has expired, was edited, or the token is malformed, NUL-laden or too long, then 400', async (t) => {
    const { app, make, sink, clock, config } = await buildMailTestApp(t)
    const user = await make.user()
    await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: user.email } })
    const { token } = linkIn(await sink.waitFor(isResetMail(user.email)), 'reset-password')
    const edited = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')
    for (const bad of [edited, 'x', 'a'.repeat(43) + '=', 'a\u0000b'.repeat(15), token + 'A']) {
      const res = await app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token: bad, new_password: NEW_PASSWORD } })
      assert.equal(res.statusCode, 400, JSON.stringify(bad))
    }
    assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token: 'x'.repeat(513), new_password: NEW_PASSWORD } })).statusCode, 400)
    clock.advance(config.account.resetTtl + 1)
    const expired = await app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, new_password: NEW_PASSWORD } })
    assert.equal(expired.statusCode, 400)
    assert.equal(expired.json().code, 'reset_token_invalid')
    for (const payload of [{ email: 'not-an-email' }, { email: 'a\u0000@b.test' }, { email: `${'a'.repeat(260)}@b.test` }, {}, { email: 'x@y.test', extra: 1 }]) {
      assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload })).statusCode, 400, JSON.stringify(payload))
    }
  })

  it('when one account asks four times within an hour, then every answer is 202 but only three mails go out', async (t) => {
    const { app, make, sink, outboxSettled, clock } = await buildMailTestApp(t)
    const user = await make.user()
    for (let i = 0; i < 4; i++) {
      const res = await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: user.email } })
      assert.equal(res.statusCode, 202)
      await outboxSettled(user.email)
    }
    assert.equal(sink.to(user.email).filter(isResetMail(user.email)).length, 3)
    clock.advance(3601)
    await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: user.email } })
    await outboxSettled(user.email)
    assert.equal(sink.to(user.email).filter(isResetMail(user.email)).length, 4)
  })

  it('when one address sends more forgot requests than RATE_LIMIT_FORGOT_PER_IP, then 429 with Retry-After, whatever the email', async (t) => {
    const { app } = await buildMailTestApp(t, { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_FORGOT_PER_IP: '2', RATE_LIMIT_FORGOT_WINDOW: '600' })
    const remote = { remoteAddress: `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}` }
    for (let i = 0; i < 2; i++) {
      const res = await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: uniqueEmail() }, ...remote })
      assert.equal(res.statusCode, 202)
      assert.equal(res.headers['ratelimit-limit'], '2')
    }
    const limited = await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: uniqueEmail() }, ...remote })
    assert.equal(limited.statusCode, 429)
    assert.ok(Number(limited.headers['retry-after']) > 0)
  })

  it('when an admin sends a reset, then 202 and the user gets the same mail; a non-admin gets 403 and an unknown id 404', async (t) => {
    const { app, make, sink } = await buildMailTestApp(t)
    const [admin, user] = [await make.admin(), await make.user()]
    const res = await app.inject({ method: 'POST', url: `/v1/admin/users/${user.id}/password-reset`, headers: make.bearer(admin.tokens.access_token) })
    assert.equal(res.statusCode, 202)
    const { token } = linkIn(await sink.waitFor(isResetMail(user.email)), 'reset-password')
    assert.doesNotMatch(res.body, new RegExp(token))
    assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, new_password: NEW_PASSWORD } })).statusCode, 204)
    const denied = await app.inject({ method: 'POST', url: `/v1/admin/users/${admin.id}/password-reset`, headers: make.bearer(user.tokens.access_token) })
    assert.equal(denied.statusCode, 401) // the reset ended the user's sessions
    const other = await make.user()
    assert.equal((await app.inject({ method: 'POST', url: `/v1/admin/users/${admin.id}/password-reset`, headers: make.bearer(other.tokens.access_token) })).statusCode, 403)
    assert.equal((await app.inject({ method: 'POST', url: '/v1/admin/users/01900000-0000-7000-8000-000000000000/password-reset', headers: make.bearer(admin.tokens.access_token) })).statusCode, 404)
    assert.equal((await app.inject({ method: 'POST', url: `/v1/admin/users/${user.id}/password-reset` })).statusCode, 401)
  })
})

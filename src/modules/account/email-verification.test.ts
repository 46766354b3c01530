import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { and, eq } from 'drizzle-orm'
import { APP_URL, buildMailTestApp } from '../../../test/mail-test-app.js'
import { linkIn } from '../../../test/smtp-sink.js'
import { DEFAULT_PASSWORD, uniqueEmail } from '../../../test/factories.js'
import { storageLabel } from '../../../test/test-env.js'
import { auditEventsTable } from '../audit/audit.table.js'

const isVerifyMail = (to: string) => (m: { to: string[], subject: string }) => m.to.includes(to) && m.subject === 'Confirm your email address for TaskFlow'

describe(`email verification [${storageLabel}]`, () => {
  it('when an account registers, then a verification mail arrives and posting its token verifies the address once', async (t) => {
    const { app, make, sink, database } = await buildMailTestApp(t)
    const user = await make.user()
    assert.equal((await make.reloadUser(user.id))?.email_verified, false)
    const link = linkIn(await sink.waitFor(isVerifyMail(user.email)), 'verify-email')
    assert.ok(link.url.startsWith(`${APP_URL}/verify-email#token=`))
    assert.equal(link.token.length, 43)

    const res = await app.inject({ method: 'POST', url: '/v1/auth/email/verify', payload: { token: link.token } })
    assert.equal(res.statusCode, 200)
    assert.equal(res.json().email_verified, true)
    assert.equal(res.json().id, user.id)
    assert.equal(res.json().password_hash, undefined)
    assert.equal((await make.reloadUser(user.id))?.email_verified, true)
    const [event] = await database.db.select().from(auditEventsTable).where(and(eq(auditEventsTable.type, 'email.verified'), eq(auditEventsTable.user_id, user.id)))
    assert.ok(event)

    const again = await app.inject({ method: 'POST', url: '/v1/auth/email/verify', payload: { token: link.token } })
    assert.equal(again.statusCode, 400)
    assert.equal(again.json().code, 'verification_token_invalid')
  })

  it('when the token is edited, expired, malformed, NUL-laden or too long, then 400 and nothing changes', async (t) => {
    const { app, make, sink, clock, config } = await buildMailTestApp(t)
    const user = await make.user()
    const { token } = linkIn(await sink.waitFor(isVerifyMail(user.email)), 'verify-email')
    const edited = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')
    for (const bad of [edited, 'x', `${token}A`, 'a\u0000'.repeat(22), 'x'.repeat(513)]) {
      const res = await app.inject({ method: 'POST', url: '/v1/auth/email/verify', payload: { token: bad } })
      assert.equal(res.statusCode, 400, JSON.stringify(bad))
    }
    for (const payload of [{}, { token: 5 }, { token, extra: true }]) {
      assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/email/verify', payload })).statusCode, 400)
    }
    clock.advance(config.account.verificationTtl + 1)
    const expired = await app.inject({ method: 'POST', url: '/v1/auth/email/verify', payload: { token } })
    assert.equal(expired.json().code, 'verification_token_invalid')
    assert.equal((await make.reloadUser(user.id))?.email_verified, false)
  })

  it('when a resend is asked, then 202 once a minute (429 with Retry-After before), a new link that kills the old, 5 a day, 409 once verified, 401 without a token', async (t) => {
    const { app, make, sink, clock, outboxSettled } = await buildMailTestApp(t)
    const user = await make.user()
    const auth = make.bearer(user.tokens.access_token)
    const first = linkIn(await sink.waitFor(isVerifyMail(user.email)), 'verify-email').token

    const tooSoon = await app.inject({ method: 'POST', url: '/v1/auth/email/verify/resend', headers: auth })
    assert.equal(tooSoon.statusCode, 429)
    assert.ok(Number(tooSoon.headers['retry-after']) >= 1 && Number(tooSoon.headers['retry-after']) <= 60)
    assert.equal(tooSoon.headers['ratelimit-limit'], '1')

    for (let sent = 1; sent < 5; sent++) {
      clock.advance(61)
      const res = await app.inject({ method: 'POST', url: '/v1/auth/email/verify/resend', headers: auth })
      assert.equal(res.statusCode, 202, `resend ${sent}`)
      await outboxSettled(user.email)
    }
    assert.equal(sink.to(user.email).filter(isVerifyMail(user.email)).length, 5)
    clock.advance(61)
    const sixth = await app.inject({ method: 'POST', url: '/v1/auth/email/verify/resend', headers: auth })
    assert.equal(sixth.statusCode, 429)
    assert.ok(Number(sixth.headers['retry-after']) > 3600)

    const old = await app.inject({ method: 'POST', url: '/v1/auth/email/verify', payload: { token: first } })
    assert.equal(old.json().code, 'verification_token_invalid')
    const latest = sink.to(user.email).filter(isVerifyMail(user.email)).at(-1)
    assert.ok(latest)
    assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/email/verify', payload: { token: linkIn(latest, 'verify-email').token } })).statusCode, 200)
    const verified = await app.inject({ method: 'POST', url: '/v1/auth/email/verify/resend', headers: auth })
    assert.equal(verified.statusCode, 409)
    assert.equal(verified.json().code, 'already_verified')
    assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/email/verify/resend' })).statusCode, 401)
  })

  it('when REQUIRE_EMAIL_VERIFICATION is on, then register gives no tokens, login is 403 email_not_verified only after the right password, the password grant invalid_grant, and verifying opens both', async (t) => {
    const { app, make, sink } = await buildMailTestApp(t, { REQUIRE_EMAIL_VERIFICATION: 'true' })
    const email = uniqueEmail('strict')
    const reg = await app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password: DEFAULT_PASSWORD } })
    assert.equal(reg.statusCode, 201)
    assert.deepEqual(Object.keys(reg.json()), ['user'])
    assert.equal(reg.json().user.email, email)

    const wrong = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: 'not the password 77' } })
    assert.equal(wrong.statusCode, 401)
    const right = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: DEFAULT_PASSWORD } })
    assert.equal(right.statusCode, 403)
    assert.equal(right.json().code, 'email_not_verified')
    const grant = await app.inject({ method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ grant_type: 'password', username: email, password: DEFAULT_PASSWORD }).toString() })
    assert.equal(grant.statusCode, 400)
    assert.equal(grant.json().error, 'invalid_grant')

    const { token } = linkIn(await sink.waitFor(isVerifyMail(email)), 'verify-email')
    assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/email/verify', payload: { token } })).statusCode, 200)
    await make.login({ email })
    const granted = await app.inject({ method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ grant_type: 'password', username: email, password: DEFAULT_PASSWORD }).toString() })
    assert.equal(granted.statusCode, 200)
  })
})

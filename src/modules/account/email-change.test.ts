import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { and, eq } from 'drizzle-orm'
import { buildMailTestApp } from '../../../test/mail-test-app.js'
import { linkIn } from '../../../test/smtp-sink.js'
import { uniqueEmail } from '../../../test/factories.js'
import { storageLabel } from '../../../test/test-env.js'
import { auditEventsTable } from '../audit/audit.table.js'
import { NOTICES } from '../mail/index.js'

const isChangeMail = (to: string) => (m: { to: string[], subject: string }) => m.to.includes(to) && m.subject === 'Confirm your new email address for TaskFlow'

describe(`email change [${storageLabel}]`, () => {
  it('when the password is right, then 202: a link to the new address, a notice to the old; the email changes only when the link is used, and sessions stay', async (t) => {
    const { app, make, sink, database } = await buildMailTestApp(t)
    const user = await make.user()
    const newEmail = uniqueEmail('moved')
    const res = await app.inject({ method: 'POST', url: '/v1/users/me/email', headers: make.bearer(user.tokens.access_token), payload: { new_email: newEmail.toUpperCase(), current_password: user.password } })
    assert.equal(res.statusCode, 202)
    const notice = await sink.waitFor(m => m.to.includes(user.email) && m.subject === NOTICES.email_change_requested().subject)
    assert.match(notice.text, new RegExp(newEmail.replace(/[.]/g, '\\.')))
    const { token } = linkIn(await sink.waitFor(isChangeMail(newEmail)), 'verify-email')
    assert.equal((await make.reloadUser(user.id))?.email, user.email)

    const done = await app.inject({ method: 'POST', url: '/v1/auth/email/verify', payload: { token } })
    assert.equal(done.statusCode, 200)
    assert.equal(done.json().email, newEmail)
    assert.equal(done.json().email_verified, true)
    assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token) })).statusCode, 200)
    await make.login({ email: newEmail }, user.password)
    assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: user.password } })).statusCode, 401)
    const types = (await database.db.select().from(auditEventsTable).where(eq(auditEventsTable.user_id, user.id))).map(e => e.type)
    assert.ok(types.includes('email.change_requested') && types.includes('email.changed'))
    assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/email/verify', payload: { token } })).json().code, 'verification_token_invalid')
  })

  it('when the password is wrong, the address taken or malformed, or no token is sent, then 400 / 409 / 401 and nothing is queued', async (t) => {
    const { app, make, database } = await buildMailTestApp(t)
    const [user, other] = [await make.user(), await make.user()]
    const auth = make.bearer(user.tokens.access_token)
    const wrong = await app.inject({ method: 'POST', url: '/v1/users/me/email', headers: auth, payload: { new_email: uniqueEmail(), current_password: 'not my password 1' } })
    assert.equal(wrong.statusCode, 400)
    assert.equal(wrong.json().code, 'wrong_password')
    const taken = await app.inject({ method: 'POST', url: '/v1/users/me/email', headers: auth, payload: { new_email: other.email.toUpperCase(), current_password: user.password } })
    assert.equal(taken.statusCode, 409)
    assert.equal(taken.json().code, 'email_taken')
    for (const payload of [{ new_email: 'nope', current_password: user.password }, { new_email: uniqueEmail() }, { new_email: user.email, current_password: user.password }]) {
      assert.equal((await app.inject({ method: 'POST', url: '/v1/users/me/email', headers: auth, payload })).statusCode, 400, JSON.stringify(payload))
    }
    assert.equal((await app.inject({ method: 'POST', url: '/v1/users/me/email', payload: { new_email: uniqueEmail(), current_password: user.password } })).statusCode, 401)
    const requested = await database.db.select().from(auditEventsTable).where(and(eq(auditEventsTable.type, 'email.change_requested'), eq(auditEventsTable.user_id, user.id)))
    assert.equal(requested.length, 0)
  })

  it('when the new address is taken between the request and the link, then the link gets 409 and the email stays', async (t) => {
    const { app, make, sink } = await buildMailTestApp(t)
    const user = await make.user()
    const newEmail = uniqueEmail('race')
    await app.inject({ method: 'POST', url: '/v1/users/me/email', headers: make.bearer(user.tokens.access_token), payload: { new_email: newEmail, current_password: user.password } })
    const { token } = linkIn(await sink.waitFor(isChangeMail(newEmail)), 'verify-email')
    await make.register({ email: newEmail })
    const res = await app.inject({ method: 'POST', url: '/v1/auth/email/verify', payload: { token } })
    assert.equal(res.statusCode, 409)
    assert.equal(res.json().code, 'email_taken')
    assert.equal((await make.reloadUser(user.id))?.email, user.email)
  })
})

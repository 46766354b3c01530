import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTestApp } from '../../../test/build-test-app.js'
import { APP_URL, buildMailTestApp } from '../../../test/mail-test-app.js'
import { linkIn } from '../../../test/smtp-sink.js'
import { storageLabel } from '../../../test/test-env.js'
import { NOTICES } from '../mail/index.js'

describe(`security notices and mail metrics [${storageLabel}]`, () => {
  it('when a spent refresh token is presented again, then the session ends and the account is told by mail', async (t) => {
    const { app, make, sink, clock } = await buildMailTestApp(t)
    const user = await make.user()
    const first = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.tokens.refresh_token } })
    assert.equal(first.statusCode, 200)
    clock.advance(3600) // past any grace period
    const replay = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.tokens.refresh_token } })
    assert.equal(replay.statusCode, 401)
    const notice = await sink.waitFor(m => m.to.includes(user.email) && m.subject === NOTICES.refresh_reuse_detected().subject)
    assert.equal(notice.header('auto-submitted'), 'auto-generated')
    assert.doesNotMatch(notice.text, new RegExp(user.tokens.refresh_token))
  })

  it('when a reset runs end to end, then /metrics counts auth_password_reset_total by stage, mail_sent_total by template and result, and shows mail_outbox_pending', async (t) => {
    const { app, make, sink, outboxSettled } = await buildMailTestApp(t)
    const user = await make.user()
    await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: user.email } })
    const { token } = linkIn(await sink.waitFor(m => m.to.includes(user.email) && m.subject === 'Reset your TaskFlow password'), 'reset-password')
    assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, new_password: 'a fresh and long passphrase 41' } })).statusCode, 204)
    await sink.waitFor(m => m.to.includes(user.email) && m.subject === NOTICES.password_reset().subject)
    await outboxSettled(user.email) // the sender counts a mail once the server accepted it and the row says so
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
    assert.match(text, /^auth_password_reset_total\{stage="requested"\} 1$/m)
    assert.match(text, /^auth_password_reset_total\{stage="completed"\} 1$/m)
    assert.match(text, /^mail_sent_total\{template="password_reset_link",result="sent"\} 1$/m)
    assert.match(text, /^mail_sent_total\{template="password_reset",result="sent"\} 1$/m)
    assert.match(text, /^mail_outbox_pending \d+$/m)
    assert.doesNotMatch(text, new RegExp(token))
  })

  it('when two instances share the storage, then a reset asked on one is mailed exactly once and completed on the other, ending the sessions on both', async (t) => {
    const a = await buildMailTestApp(t)
    const b = await buildTestApp(t, { SMTP_URL: a.sink.url, APP_URL, MAIL_POLL_INTERVAL_MS: '50' })
    await b.app.ready()
    const user = await a.make.user()
    assert.equal((await a.app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: user.email } })).statusCode, 202)
    const { token } = linkIn(await a.sink.waitFor(m => m.to.includes(user.email) && m.subject === 'Reset your TaskFlow password'), 'reset-password')
    assert.equal((await b.app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, new_password: 'a fresh and long passphrase 41' } })).statusCode, 204)
    await a.outboxSettled(user.email)
    assert.equal(a.sink.to(user.email).filter(m => m.subject === 'Reset your TaskFlow password').length, 1)
    for (const app of [a.app, b.app]) {
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: a.make.bearer(user.tokens.access_token) })).statusCode, 401)
    }
  })
})

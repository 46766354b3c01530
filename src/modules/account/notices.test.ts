import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildMailTestApp } from '../../../test/mail-test-app.js'
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
    const { app, make, sink } = await buildMailTestApp(t)
    const user = await make.user()
    await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: user.email } })
    const { token } = linkIn(await sink.waitFor(m => m.to.includes(user.email) && m.subject === 'Reset your TaskFlow password'), 'reset-password')
    assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, new_password: 'a fresh and long passphrase 41' } })).statusCode, 204)
    await sink.waitFor(m => m.to.includes(user.email) && m.subject === NOTICES.password_reset().subject)
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
    assert.match(text, /^auth_password_reset_total\{stage="requested"\} 1$/m)
    assert.match(text, /^auth_password_reset_total\{stage="completed"\} 1$/m)
    assert.match(text, /^mail_sent_total\{template="password_reset_link",result="sent"\} 1$/m)
    assert.match(text, /^mail_sent_total\{template="password_reset",result="sent"\} 1$/m)
    assert.match(text, /^mail_outbox_pending \d+$/m)
    assert.doesNotMatch(text, new RegExp(token))
  })
})

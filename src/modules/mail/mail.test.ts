import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { describe, it, type TestContext } from 'node:test'
import { eq, inArray } from 'drizzle-orm'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { sharedStorage } from '../../../test/build-test-app.js'
import { uniqueEmail } from '../../../test/factories.js'
import { startSmtpSink } from '../../../test/smtp-sink.js'
import { storageLabel } from '../../../test/test-env.js'
import { manualClock, type ManualClock } from '../../core/clock.js'
import { newId } from '../../core/ids.js'
import { createUsersStore } from '../users/index.js'
import { backoffSeconds, createMail, DEFAULT_RETRY, mailOutboxTable, NOTICE_EVENTS, NOTICES } from './index.js'

const FROM = 'TaskFlow <no-reply@taskflow.test>'

async function newUser (email = uniqueEmail('mail')): Promise<{ id: string, email: string }> {
  const { database } = await sharedStorage()
  const now = new Date()
  return createUsersStore(database.db).create({ id: newId(), email, password_hash: 'x', created_at: now, updated_at: now })
}

/** A mail module over this run's database, with its own registry and a manual clock; stopped after the test. */
async function mailer (t: TestContext, options: { smtpUrl?: string, production?: boolean, clock?: ManualClock, lines?: string[] } = {}) {
  const { database } = await sharedStorage()
  const clock = options.clock ?? manualClock(new Date())
  const registry = new Registry()
  const lines = options.lines ?? []
  const log = pino({ level: 'info' }, new Writable({ write (chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done() } }))
  const mail = createMail({
    db: database.db,
    clock,
    log,
    registry,
    config: { smtpUrl: options.smtpUrl, from: FROM, pollIntervalMs: 20, production: options.production ?? false },
    findEmail: async (tx, userId) => (await createUsersStore(database.db).findById(userId, tx))?.email
  })
  t.after(() => mail.sender.stop())
  const row = async (id: string) => (await database.db.select().from(mailOutboxTable).where(eq(mailOutboxTable.id, id)))[0]
  const metric = async (template: string, result: string) => {
    const values = (await registry.getSingleMetric('mail_sent_total')?.get())?.values ?? []
    return values.find(v => v.labels.template === template && v.labels.result === result)?.value ?? 0
  }
  return { ...mail, clock, registry, db: database.db, row, metric, lines }
}

describe(`mail outbox and sender [${storageLabel}]`, () => {
  it('when a notice is queued, then one plain-text mail with Auto-Submitted reaches the SMTP server and the row is sent', async (t) => {
    const sink = await startSmtpSink(t)
    const m = await mailer(t, { smtpUrl: sink.url })
    const user = await newUser()
    await m.db.transaction(async (tx) => { await m.notifier.notify(tx, user.id, 'password_changed') })
    const [queued] = await m.db.select().from(mailOutboxTable).where(eq(mailOutboxTable.user_id, user.id))
    assert.equal(queued?.status, 'pending')

    await m.sender.runOnce()
    const mail = await sink.waitFor(x => x.to.includes(user.email))
    assert.equal(mail.subject, NOTICES.password_changed().subject)
    assert.equal(mail.header('auto-submitted'), 'auto-generated')
    assert.match(String(mail.parsed.from?.text), /no-reply@taskflow\.test/)
    assert.equal(mail.parsed.html, false)
    assert.match(mail.text, /password of your TaskFlow account was just changed/)
    assert.equal(mail.messageId, `<${queued?.id}@taskflow.test>`)
    const sent = await m.row(queued?.id ?? '')
    assert.equal(sent?.status, 'sent')
    assert.equal(sent?.attempts, 1)
    assert.ok(sent?.sent_at)
    assert.equal(await m.metric('password_changed', 'sent'), 1)

    await m.sender.runOnce()
    assert.equal(sink.to(user.email).length, 1, 'a sent mail is never sent again')
  })

  it('when a notice is queued in a transaction that rolls back, then no mail exists', async (t) => {
    const m = await mailer(t)
    const user = await newUser()
    await assert.rejects(m.db.transaction(async (tx) => {
      await m.notifier.notify(tx, user.id, 'password_changed')
      throw new Error('the change fails')
    }))
    assert.equal((await m.db.select().from(mailOutboxTable).where(eq(mailOutboxTable.user_id, user.id))).length, 0)
  })

  it('when the SMTP server is down, then the mail waits with back-off and goes out once the server is back', async (t) => {
    const sink = await startSmtpSink(t, { started: false })
    const m = await mailer(t, { smtpUrl: sink.url })
    const user = await newUser()
    await m.db.transaction(async (tx) => { await m.notifier.notify(tx, user.id, 'mfa_enabled') })
    const [queued] = await m.db.select().from(mailOutboxTable).where(eq(mailOutboxTable.user_id, user.id))
    const id = queued?.id ?? ''

    await m.sender.runOnce()
    let row = await m.row(id)
    assert.equal(row?.status, 'pending')
    assert.equal(row?.attempts, 1)
    assert.match(String(row?.last_error), /ECONNECTION|ECONNREFUSED/)
    assert.equal(row?.next_attempt_at.getTime(), m.clock.now().getTime() + backoffSeconds(1) * 1000)
    assert.equal(await m.metric('mfa_enabled', 'retry'), 1)

    m.clock.advance(backoffSeconds(1) - 1)
    await m.sender.runOnce()
    assert.equal((await m.row(id))?.attempts, 1, 'not retried before its time')

    m.clock.advance(1)
    await m.sender.runOnce()
    row = await m.row(id)
    assert.equal(row?.attempts, 2)
    assert.equal(row?.next_attempt_at.getTime(), m.clock.now().getTime() + backoffSeconds(2) * 1000)

    await sink.start()
    m.clock.advance(backoffSeconds(2))
    await m.sender.runOnce()
    const mail = await sink.waitFor(x => x.to.includes(user.email))
    assert.equal(mail.subject, NOTICES.mfa_enabled().subject)
    assert.equal((await m.row(id))?.status, 'sent')
    assert.equal(sink.to(user.email).length, 1)
  })

  it('when the SMTP server stays down, then the mail is retried for more than 24 hours before it is given up', async (t) => {
    const sink = await startSmtpSink(t, { started: false })
    const m = await mailer(t, { smtpUrl: sink.url })
    const user = await newUser()
    await m.db.transaction(async (tx) => { await m.notifier.notify(tx, user.id, 'mfa_disabled') })
    const [queued] = await m.db.select().from(mailOutboxTable).where(eq(mailOutboxTable.user_id, user.id))
    const id = queued?.id ?? ''
    const start = m.clock.now().getTime()
    let row = await m.row(id)
    while (row?.status === 'pending') {
      m.clock.set(new Date(Math.max(m.clock.now().getTime(), row.next_attempt_at.getTime())))
      await m.sender.runOnce()
      row = await m.row(id)
      if (m.clock.now().getTime() - start < 24 * 3600_000) assert.equal(row?.status, 'pending', 'still trying within 24 h')
    }
    assert.equal(row?.status, 'failed')
    assert.ok(m.clock.now().getTime() - start >= DEFAULT_RETRY.giveUpAfterSeconds * 1000)
    assert.ok((row?.attempts ?? 0) > 20)
    assert.equal(await m.metric('mfa_disabled', 'failed'), 1)
  })

  it('when two senders (two instances) run at once, then each of 30 mails is delivered exactly once', async (t) => {
    const sink = await startSmtpSink(t)
    const clock = manualClock(new Date())
    const [a, b] = [await mailer(t, { smtpUrl: sink.url, clock }), await mailer(t, { smtpUrl: sink.url, clock })]
    const user = await newUser()
    const ids: string[] = []
    for (let i = 0; i < 30; i++) ids.push(await a.outbox.enqueue(a.db, { template: 'pat_created', userId: user.id, recipient: user.email, data: { name: `token ${i}` } }))
    await Promise.all([a.sender.runOnce(), b.sender.runOnce(), a.sender.runOnce(), b.sender.runOnce()])
    const rows = await a.db.select().from(mailOutboxTable).where(inArray(mailOutboxTable.id, ids))
    assert.deepEqual(rows.map(r => r.status), ids.map(() => 'sent'))
    assert.deepEqual(rows.map(r => r.attempts), ids.map(() => 1))
    const ofUser = sink.to(user.email)
    assert.equal(ofUser.length, 30)
    assert.equal(new Set(ofUser.map(x => x.messageId)).size, 30)
    assert.equal(await a.metric('pat_created', 'sent') + await b.metric('pat_created', 'sent'), 30)
  })

  it('when no SMTP_URL is set in development, then each mail is one log line with its text', async (t) => {
    const lines: string[] = []
    const m = await mailer(t, { lines })
    const user = await newUser()
    await m.db.transaction(async (tx) => { await m.notifier.notify(tx, user.id, 'email_change_requested', { new_email: 'new@example.test' }) })
    await m.sender.runOnce()
    const logged = lines.map(l => JSON.parse(l) as Record<string, unknown>).filter(l => l.code === 'mail_logged' && l.to === user.email)
    assert.equal(logged.length, 1)
    assert.match(String(logged[0]?.text), /new@example\.test/)
    assert.equal(logged[0]?.subject, NOTICES.email_change_requested().subject)
  })

  it('when no SMTP_URL is set in production, then nothing is sent or logged per mail and the start-up warns once', async (t) => {
    const lines: string[] = []
    const m = await mailer(t, { production: true, lines })
    const user = await newUser()
    await m.db.transaction(async (tx) => { await m.notifier.notify(tx, user.id, 'password_changed') })
    await m.sender.runOnce()
    const parsed = lines.map(l => JSON.parse(l) as Record<string, unknown>)
    assert.equal(parsed.filter(l => l.code === 'mail_disabled').length, 1)
    assert.equal(parsed.filter(l => l.code === 'mail_logged').length, 0)
    const [row] = await m.db.select().from(mailOutboxTable).where(eq(mailOutboxTable.user_id, user.id))
    assert.equal(row?.status, 'dropped')
  })

  it('when the sender is started and then stopped, then stop resolves and nothing more is sent', async (t) => {
    const sink = await startSmtpSink(t)
    const m = await mailer(t, { smtpUrl: sink.url })
    const user = await newUser()
    m.sender.start()
    await m.db.transaction(async (tx) => { await m.notifier.notify(tx, user.id, 'identity_linked', { provider: 'GitHub' }) })
    const mail = await sink.waitFor(x => x.to.includes(user.email))
    assert.match(mail.text, /GitHub/)
    await m.sender.stop()
    await m.db.transaction(async (tx) => { await m.notifier.notify(tx, user.id, 'identity_unlinked', { provider: 'GitHub' }) })
    await new Promise(resolve => setTimeout(resolve, 200))
    assert.equal(sink.to(user.email).length, 1)
  })

  it('when the gauge is read, then mail_outbox_pending counts the waiting mails', async (t) => {
    const m = await mailer(t)
    const user = await newUser()
    const before = (await m.registry.getSingleMetric('mail_outbox_pending')?.get())?.values[0]?.value ?? 0
    await m.outbox.enqueue(m.db, { template: 'password_changed', userId: user.id, recipient: user.email })
    const after = (await m.registry.getSingleMetric('mail_outbox_pending')?.get())?.values[0]?.value ?? 0
    assert.equal(after, before + 1)
  })

  it('every notice event has a subject and a text that names no secret', () => {
    for (const event of NOTICE_EVENTS) {
      const { subject, text } = NOTICES[event]({ new_email: 'a@b.test', remaining: 3, name: 'ci', provider: 'Google' })
      assert.ok(subject.length > 5 && !/[\r\n]/.test(subject), event)
      assert.ok(text.length > 40, event)
    }
    assert.equal(NOTICES.pat_created({ name: 'evil\r\nBcc: x@y.z' }).text.includes('\r\nBcc'), false)
  })

  it('back-off doubles from 30 s and is capped at one hour', () => {
    assert.deepEqual([1, 2, 3, 4, 7, 8, 50].map(n => backoffSeconds(n)), [30, 60, 120, 240, 1920, 3600, 3600])
  })
})

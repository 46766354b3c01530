import type { TestContext } from 'node:test'
import { and, eq } from 'drizzle-orm'
import { mailOutboxTable } from '../src/modules/mail/index.js'
import { buildTestApp, type TestApp } from './build-test-app.js'
import { startSmtpSink, type SmtpSink } from './smtp-sink.js'

export const APP_URL = 'https://app.taskflow.test'

/** A test app whose mail goes to a real SMTP sink (polled every 50 ms), with links under APP_URL. */
export async function buildMailTestApp (t: TestContext, env: Record<string, string> = {}): Promise<TestApp & { sink: SmtpSink, outboxSettled: (recipient: string) => Promise<void> }> {
  const sink = await startSmtpSink(t)
  const testApp = await buildTestApp(t, { SMTP_URL: sink.url, APP_URL, MAIL_POLL_INTERVAL_MS: '50', ...env })
  await testApp.app.ready()
  /** Resolves once no mail to `recipient` waits in the outbox (sent, skipped or failed). */
  async function outboxSettled (recipient: string): Promise<void> {
    const deadline = Date.now() + 10_000
    for (;;) {
      const pending = await testApp.database.db.select({ id: mailOutboxTable.id }).from(mailOutboxTable)
        .where(and(eq(mailOutboxTable.recipient, recipient.toLowerCase()), eq(mailOutboxTable.status, 'pending')))
      if (pending.length === 0) return
      if (Date.now() > deadline) throw new Error(`mail to ${recipient} still pending`)
      await new Promise(resolve => setTimeout(resolve, 25))
    }
  }
  return { ...testApp, sink, outboxSettled }
}

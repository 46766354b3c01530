import type { FastifyBaseLogger } from 'fastify'
import type { Registry } from 'prom-client'
import type { Clock } from '../../core/clock.js'
import type { Db } from '../../core/db.js'
import { createMailSender, type RetryPolicy } from './mail-sender.js'
import { createNotifier } from './notify.js'
import { createOutbox } from './outbox.js'
import { createMailTransport, type MailTransport } from './transport.js'

export type { Notifier, NoticeEvent } from './notify.js'
export type { Outbox, EnqueueInput } from './outbox.js'
export type { MailSender, Preparer, Prepared, RetryPolicy } from './mail-sender.js'
export type { MailTransport, OutgoingMail } from './transport.js'
export { backoffSeconds, DEFAULT_RETRY } from './mail-sender.js'
export { LINK_MAILS, NOTICES, NOTICE_EVENTS, type LinkTemplate, type MailData, type RenderedMail } from './templates.js'
export { mailOutboxTable, type OutboxRow } from './outbox.table.js'

export interface MailDeps {
  db: Db
  clock: Clock
  log: FastifyBaseLogger
  registry: Registry
  config: { smtpUrl: string | undefined, from: string, pollIntervalMs: number, production: boolean }
  /** The account's current address (users port). */
  findEmail: (tx: Db, userId: string) => Promise<string | undefined>
  /** Tests pass their own; otherwise built from the configuration. */
  transport?: MailTransport
  retry?: RetryPolicy
  housekeeping?: Array<(db: Db, now: Date) => Promise<void>>
}

/**
 * The mail module: the durable outbox (write mail in your transaction), the background sender (start
 * it, stop it on close) and the Notifier port for security notices. See docs/mail.md.
 */
export function createMail (deps: MailDeps) {
  const transport = deps.transport ?? createMailTransport({ smtpUrl: deps.config.smtpUrl, from: deps.config.from, production: deps.config.production, log: deps.log })
  const sender = createMailSender({
    db: deps.db,
    clock: deps.clock,
    transport,
    log: deps.log,
    registry: deps.registry,
    pollIntervalMs: deps.config.pollIntervalMs,
    ...(deps.retry ? { retry: deps.retry } : {}),
    ...(deps.housekeeping ? { housekeeping: deps.housekeeping } : {})
  })
  const outbox = createOutbox({ clock: deps.clock, wake: sender.wake })
  const notifier = createNotifier({ outbox, findEmail: deps.findEmail })
  return { transport, sender, outbox, notifier }
}
export type Mail = ReturnType<typeof createMail>

import { and, asc, count, eq, inArray, lt, lte, ne, sql } from 'drizzle-orm'
import type { FastifyBaseLogger } from 'fastify'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Clock } from '../../core/clock.js'
import type { Db } from '../../core/db.js'
import { mailOutboxTable, type OutboxRow, type OutboxStatus } from './outbox.table.js'
import { NOTICES, type NoticeEvent } from './templates.js'
import { MailSendError, type MailTransport } from './transport.js'

/** What a template's preparer decides for one outbox row: a mail to send, or a reason to send nothing. */
export type Prepared = { to: string, subject: string, text: string } | { skip: string }

/**
 * Turns an outbox row into a mail at send time, inside a short transaction (`tx`) that commits before
 * the mail goes out. Link mails mint their single-use token here, so no token ever sits in the outbox.
 */
export type Preparer = (tx: Db, row: OutboxRow, now: Date) => Promise<Prepared>

export interface RetryPolicy {
  /** First retry after this many seconds; each further one waits twice as long. */
  baseSeconds: number
  /** Longest wait between two attempts, in seconds. */
  maxSeconds: number
  /** A mail still undelivered this many seconds after it was queued is given up ('failed'). */
  giveUpAfterSeconds: number
}

/** 30 s, 1 min, 2 min … then hourly, for 48 hours: API.md asks for at least 24. */
export const DEFAULT_RETRY: RetryPolicy = { baseSeconds: 30, maxSeconds: 3600, giveUpAfterSeconds: 48 * 3600 }

/** Rows claimed per statement. */
const BATCH = 20
/** A claimed row is not due again before this (seconds): longer than the transport's own timeouts. */
const LEASE_SECONDS = 120
/** Finished mails are kept this long, to read what went out (seconds). */
const KEEP_FINISHED_SECONDS = 7 * 86400

export interface MailSenderOptions {
  db: Db
  clock: Clock
  transport: MailTransport
  log: FastifyBaseLogger
  registry: Registry
  pollIntervalMs: number
  retry?: RetryPolicy
  /** Extra clean-ups run with the sender's hourly housekeeping (e.g. spent mail tokens). */
  housekeeping?: Array<(db: Db, now: Date) => Promise<void>>
}

const addSeconds = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000)

/** Wait before the next attempt after `attempts` failed ones (exponential back-off, capped), in seconds. */
export function backoffSeconds (attempts: number, policy: RetryPolicy = DEFAULT_RETRY): number {
  return Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** Math.max(0, Math.min(attempts - 1, 30)))
}

/**
 * The background mail sender. Each pass claims due rows with one `UPDATE … WHERE id IN (SELECT … FOR
 * UPDATE SKIP LOCKED)` that also pushes them `LEASE_SECONDS` into the future, so concurrent senders on
 * any number of instances never claim the same row, and no transaction stays open while SMTP talks.
 * A mail is delivered once; only a crash between the server's acceptance and the `sent` update can
 * send it again after the lease (with the same Message-ID). Failures retry with exponential back-off
 * (DEFAULT_RETRY) until `giveUpAfterSeconds`; a permanent refusal (5xx) fails at once.
 * Metrics: `mail_sent_total{template,result}` (result: sent, retry, failed, skipped, dropped) and the
 * `mail_outbox_pending` gauge, read from the database at each scrape.
 */
export function createMailSender ({ db, clock, transport, log, registry, pollIntervalMs, retry = DEFAULT_RETRY, housekeeping = [] }: MailSenderOptions) {
  const preparers = new Map<string, Preparer>()
  const cleanups = [...housekeeping]
  const sentTotal = new Counter({ name: 'mail_sent_total', help: 'Mails handled by the sender, by template and result', labelNames: ['template', 'result'] as const, registers: [registry] })
  const t = mailOutboxTable
  // eslint-disable-next-line no-new -- the gauge is registered and read through the registry
  new Gauge({
    name: 'mail_outbox_pending',
    help: 'Mails waiting in the outbox (all instances)',
    registers: [registry],
    async collect () {
      try {
        const [row] = await db.select({ n: count() }).from(t).where(eq(t.status, 'pending'))
        this.set(Number(row?.n ?? 0))
      } catch {} // a scrape never fails because the database is away
    }
  })

  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  let again = false
  /** Set by stop(): no pass starts or continues after it. */
  let stopped = false
  let lastHousekeeping = 0
  let failingSince: number | undefined

  async function claim (now: Date): Promise<OutboxRow[]> {
    const due = db.select({ id: t.id }).from(t)
      .where(and(eq(t.status, 'pending'), lte(t.next_attempt_at, now)))
      .orderBy(asc(t.next_attempt_at)).limit(BATCH).for('update', { skipLocked: true })
    return db.update(t).set({ attempts: sql`${t.attempts} + 1`, next_attempt_at: addSeconds(now, LEASE_SECONDS) })
      .where(inArray(t.id, due)).returning()
  }

  /** Hands claimed rows back at once (the sender is stopping before it got to them). */
  async function release (rows: OutboxRow[]): Promise<void> {
    await db.update(t).set({ attempts: sql`${t.attempts} - 1`, next_attempt_at: clock.now() })
      .where(and(inArray(t.id, rows.map(r => r.id)), eq(t.status, 'pending')))
  }

  async function finish (row: OutboxRow, status: OutboxStatus, note: string | null): Promise<void> {
    const now = clock.now()
    await db.update(t).set({ status, last_error: note, ...(status === 'sent' ? { sent_at: now } : {}) })
      .where(and(eq(t.id, row.id), eq(t.status, 'pending')))
    sentTotal.inc({ template: row.template, result: status })
  }

  async function failed (row: OutboxRow, message: string, permanent: boolean): Promise<void> {
    const now = clock.now()
    const age = (now.getTime() - row.created_at.getTime()) / 1000
    if (permanent || age >= retry.giveUpAfterSeconds) {
      log.error({ code: 'mail_failed', mailId: row.id, template: row.template, attempts: row.attempts, error: message }, 'mail given up')
      await finish(row, 'failed', message)
      return
    }
    const next = addSeconds(now, backoffSeconds(row.attempts, retry))
    log.warn({ code: 'mail_retry', mailId: row.id, template: row.template, attempts: row.attempts, error: message, nextAttemptAt: next.toISOString() }, 'mail not delivered; will retry')
    await db.update(t).set({ next_attempt_at: next, last_error: message }).where(and(eq(t.id, row.id), eq(t.status, 'pending')))
    sentTotal.inc({ template: row.template, result: 'retry' })
  }

  function renderNotice (row: OutboxRow): Prepared {
    const render = NOTICES[row.template as NoticeEvent] as (typeof NOTICES)[NoticeEvent] | undefined
    if (!render) return { skip: 'unknown_template' }
    return { to: row.recipient, ...render(row.data) }
  }

  async function deliver (row: OutboxRow): Promise<void> {
    let prepared: Prepared
    try {
      const preparer = preparers.get(row.template)
      prepared = preparer ? await db.transaction(async (tx) => preparer(tx, row, clock.now())) : renderNotice(row)
    } catch (err) {
      log.warn({ code: 'mail_prepare_failed', mailId: row.id, template: row.template, err }, 'mail could not be prepared')
      await failed(row, 'prepare_failed', false)
      return
    }
    if ('skip' in prepared) return finish(row, 'skipped', prepared.skip)
    if (transport.kind === 'none') return finish(row, 'dropped', 'SMTP_URL is not set')
    try {
      await transport.send({ id: row.id, ...prepared })
    } catch (err) {
      const permanent = err instanceof MailSendError && err.permanent
      await failed(row, err instanceof MailSendError ? err.message : 'send_failed', permanent)
      return
    }
    await finish(row, 'sent', null)
  }

  async function houseKeep (now: Date): Promise<void> {
    if (now.getTime() - lastHousekeeping < 3600_000) return
    lastHousekeeping = now.getTime()
    await db.delete(t).where(and(ne(t.status, 'pending'), lt(t.created_at, addSeconds(now, -KEEP_FINISHED_SECONDS))))
    for (const job of cleanups) await job(db, now)
  }

  async function pass (): Promise<void> {
    do {
      again = false
      for (;;) {
        if (stopped) return
        const rows = await claim(clock.now())
        for (const [i, row] of rows.entries()) {
          if (stopped) { await release(rows.slice(i)); return }
          await deliver(row)
        }
        if (rows.length < BATCH) break
      }
      await houseKeep(clock.now())
    } while (again) // a stop returns from inside the loop
  }

  /** Runs one pass now (or joins the running one, and makes it look again once it ends). */
  function tick (): Promise<void> {
    if (running) { again = true; return running }
    running = pass()
      .then(() => {
        if (failingSince !== undefined) log.info({ code: 'mail_sender_recovered' }, 'mail sender works again')
        failingSince = undefined
      })
      .catch((err: unknown) => {
        // The database is away (or closing): log once per outage, try again at the next poll.
        if (failingSince === undefined) log.warn({ code: 'mail_sender_failed', err }, 'mail sender pass failed; retrying')
        failingSince ??= Date.now()
      })
      .finally(() => { running = undefined })
    return running
  }

  /** Starts a pass without waiting for it (a pass never rejects: its failures are logged). */
  const poke = (): void => { tick().catch(() => {}) }

  return {
    /** Which template is prepared by whom; templates without one are notices (NOTICES). */
    use (template: string, preparer: Preparer): void { preparers.set(template, preparer) },
    /** Adds a clean-up to the hourly housekeeping (e.g. spent mail tokens). */
    addHousekeeping (job: (db: Db, now: Date) => Promise<void>): void { cleanups.push(job) },
    start (): void {
      if (stopped || timer) return
      timer = setInterval(poke, pollIntervalMs)
      timer.unref()
      poke()
    },
    /** Looks for due mail now instead of at the next poll (after a commit that queued one). */
    wake (): void { if (timer) poke() },
    /** One pass, awaited (tests and the CLI). */
    runOnce: () => tick(),
    /** Stops polling, waits for the mail in hand, closes the transport. */
    async stop (): Promise<void> {
      stopped = true
      if (timer) clearInterval(timer)
      timer = undefined
      await running
      transport.close()
    }
  }
}
export type MailSender = ReturnType<typeof createMailSender>

import type { TestContext } from 'node:test'
import { simpleParser, type ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'

/** One message as the sink received it: envelope, parsed headers and text. */
export interface CapturedMail {
  /** Envelope recipients (RCPT TO), lower-cased. */
  to: string[]
  /** Envelope sender (MAIL FROM). */
  from: string
  subject: string
  text: string
  messageId: string | undefined
  header: (name: string) => string | undefined
  parsed: ParsedMail
}

export interface SmtpSink {
  /** Fixed once first started, so the sink can stop and start again on the same address (outage tests). */
  readonly port: number
  /** `smtp://127.0.0.1:<port>`: the SMTP_URL to give the app. */
  readonly url: string
  readonly messages: CapturedMail[]
  /** Resolves with the first captured (or later arriving) message that matches; rejects after `timeoutMs`. */
  waitFor: (match: (mail: CapturedMail) => boolean, timeoutMs?: number) => Promise<CapturedMail>
  /** Every message to `address` so far. */
  to: (address: string) => CapturedMail[]
  stop: () => Promise<void>
  start: () => Promise<void>
}

/**
 * A real SMTP server (`smtp-server`) on 127.0.0.1, port 0, without STARTTLS or AUTH: the mail sink of
 * the tests. Messages are parsed with `mailparser`. Stopped after the test.
 */
export async function startSmtpSink (t: TestContext, options: { started?: boolean } = {}): Promise<SmtpSink> {
  const messages: CapturedMail[] = []
  const waiters = new Set<{ match: (mail: CapturedMail) => boolean, resolve: (mail: CapturedMail) => void }>()
  let server: SMTPServer | undefined
  let port = 0

  const make = () => new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    disableReverseLookup: true,
    onData (stream, session, callback) {
      simpleParser(stream).then((parsed) => {
        const mail: CapturedMail = {
          to: session.envelope.rcptTo.map(r => r.address.toLowerCase()),
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          subject: parsed.subject ?? '',
          text: parsed.text ?? '',
          messageId: parsed.messageId,
          header: (name) => {
            const value = parsed.headers.get(name.toLowerCase())
            return value === undefined ? undefined : String(value)
          },
          parsed
        }
        messages.push(mail)
        for (const waiter of waiters) {
          if (waiter.match(mail)) { waiters.delete(waiter); waiter.resolve(mail) }
        }
        callback()
      }, (err: Error) => { callback(err) })
    }
  })

  async function start (): Promise<void> {
    if (server) return
    const s = make()
    s.on('error', () => {})
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject)
      s.listen(port, '127.0.0.1', () => { resolve() })
    })
    const address = s.server.address()
    if (address && typeof address === 'object') port = address.port
    server = s
  }

  async function stop (): Promise<void> {
    const s = server
    server = undefined
    if (s) await new Promise<void>(resolve => { s.close(() => { resolve() }) })
  }

  await start()
  if (options.started === false) await stop()
  t.after(stop)

  return {
    get port () { return port },
    get url () { return `smtp://127.0.0.1:${port}` },
    messages,
    to: (address) => messages.filter(m => m.to.includes(address.toLowerCase())),
    waitFor (match, timeoutMs = 10_000) {
      const found = messages.find(match)
      if (found) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (mail: CapturedMail) => { clearTimeout(timer); resolve(mail) } }
        const timer = setTimeout(() => { waiters.delete(waiter); reject(new Error(`no matching mail within ${timeoutMs} ms (${messages.length} captured)`)) }, timeoutMs)
        waiters.add(waiter)
      })
    },
    stop,
    start
  }
}

/** The single-use link `<appUrl>/<page>#token=…` in a mail, and its token. */
export function linkIn (mail: CapturedMail, page: 'reset-password' | 'verify-email'): { url: string, token: string } {
  const match = new RegExp(`(https?://\\S+/${page}#token=([A-Za-z0-9_-]+))`).exec(mail.text)
  if (!match?.[1] || !match[2]) throw new Error(`no ${page} link in mail "${mail.subject}"`)
  return { url: match[1], token: match[2] }
}

import type { FastifyBaseLogger } from 'fastify'
import { createTransport as createNodemailer } from 'nodemailer'

/** One mail as a transport sends it. `id` is the outbox row id (also the Message-ID's local part). */
export interface OutgoingMail { id: string, to: string, subject: string, text: string }

/**
 * Where mail goes: `smtp` (SMTP_URL), `log` (development without SMTP_URL: one log line per mail,
 * links included) or `none` (production without SMTP_URL: nothing is sent).
 */
export interface MailTransport {
  readonly kind: 'smtp' | 'log' | 'none'
  /** Resolves once the server accepted the mail; rejects with a {@link MailSendError} otherwise. */
  send: (mail: OutgoingMail) => Promise<void>
  close: () => void
}

/** A failed delivery. `permanent`: the server refused this mail for good (5xx on the envelope or data). */
export class MailSendError extends Error {
  constructor (message: string, readonly permanent: boolean, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'MailSendError'
  }
}

interface NodemailerError { code?: unknown, responseCode?: unknown, permanent?: unknown, command?: unknown, message?: unknown }

/** A short, secret-free description of a delivery failure, for the outbox row and the log. */
function describe (err: unknown): { message: string, permanent: boolean } {
  const e = (err && typeof err === 'object' ? err : {}) as NodemailerError
  const code = typeof e.code === 'string' ? e.code : 'ERROR'
  const response = typeof e.responseCode === 'number' ? ` ${e.responseCode}` : ''
  const command = typeof e.command === 'string' ? ` at ${e.command.replace(/\s.*$/, '')}` : ''
  // The system error behind a socket failure (ECONNREFUSED, ETIMEDOUT…), never the server's free text.
  const system = typeof e.message === 'string' ? /\b(E[A-Z]{3,})\b/.exec(e.message)?.[1] : undefined
  // A 5xx refusal of this mail is final; a refused login (EAUTH) is a configuration problem worth retrying.
  const permanent = e.permanent === true && code !== 'EAUTH' && code !== 'ECONNECTION' && code !== 'ETLS'
  return { message: `${code}${response}${command}${system && system !== code ? ` (${system})` : ''}`, permanent }
}

function hostOf (address: string): string {
  const match = /@([^>\s]+)>?\s*$/.exec(address)
  return match?.[1] ?? 'taskflow.invalid'
}

export interface TransportOptions {
  smtpUrl: string | undefined
  from: string
  production: boolean
  log: FastifyBaseLogger
}

/**
 * Builds the transport named by the configuration (API.md "Mail"). SMTP goes through nodemailer:
 * `smtp://` upgrades with STARTTLS whenever the server offers it (RFC 3207), `smtps://` is implicit
 * TLS (RFC 8314, port 465). Every mail is plain text with `Auto-Submitted: auto-generated` (RFC 3834)
 * and a Message-ID made from its outbox id, so a resend after a crash is recognisably the same mail.
 */
export function createMailTransport ({ smtpUrl, from, production, log }: TransportOptions): MailTransport {
  const headers = { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' }
  const messageId = (id: string) => `<${id}@${hostOf(from)}>`
  if (smtpUrl) {
    const transporter = createNodemailer({
      url: smtpUrl,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
      disableFileAccess: true,
      disableUrlAccess: true
    })
    return {
      kind: 'smtp',
      async send (mail) {
        try {
          await transporter.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, headers, messageId: messageId(mail.id) })
        } catch (err) {
          const { message, permanent } = describe(err)
          throw new MailSendError(message, permanent, { cause: err })
        }
      },
      close: () => { transporter.close() }
    }
  }
  if (production) {
    log.warn({ code: 'mail_disabled' }, 'SMTP_URL is not set: no mail will be sent (password reset and email verification cannot work)')
    return { kind: 'none', async send () {}, close () {} }
  }
  return {
    kind: 'log',
    async send (mail) {
      log.info({ code: 'mail_logged', mail_id: mail.id, to: mail.to, subject: mail.subject, text: mail.text }, 'mail logged, not sent (development: SMTP_URL is not set)')
    },
    close () {}
  }
}

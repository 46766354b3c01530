/** Events that mail the account a notice (API.md, "Notices"). The port shared by issues 10, 11 and 13. */
export type NoticeEvent =
  | 'password_changed' | 'password_reset' | 'email_change_requested' | 'mfa_enabled' | 'mfa_disabled'
  | 'mfa_reset_by_admin' | 'recovery_code_used' | 'refresh_reuse_detected' | 'pat_created'
  | 'identity_linked' | 'identity_unlinked'

export const NOTICE_EVENTS: readonly NoticeEvent[] = [
  'password_changed', 'password_reset', 'email_change_requested', 'mfa_enabled', 'mfa_disabled',
  'mfa_reset_by_admin', 'recovery_code_used', 'refresh_reuse_detected', 'pat_created', 'identity_linked', 'identity_unlinked'
]

/** Mails that carry a single-use link; the link is made when the mail is sent. */
export type LinkTemplate = 'password_reset_link' | 'email_verification' | 'email_change'

export type MailData = Record<string, string | number | boolean | null>

/** A plain-text mail, ready for a transport. */
export interface RenderedMail { subject: string, text: string }

const SIGNATURE = [
  '',
  '-- ',
  'TaskFlow. This message was sent automatically; replies are not read.'
].join('\n')

const NOT_YOU = 'If this was not you, reset your password at once and review your sessions and personal access tokens.'

/** One line of user-supplied or stored text inside a mail: no line breaks, bounded length. */
function field (data: MailData | undefined, key: string, fallback: string): string {
  const value = data?.[key]
  if (value === undefined || value === null || value === '') return fallback
  return String(value).replace(/[\r\n\u2028\u2029]+/g, ' ').slice(0, 200)
}

function mail (subject: string, ...lines: string[]): RenderedMail {
  return { subject, text: `Hello,\n\n${lines.join('\n\n')}\n${SIGNATURE}\n` }
}

/** The text of every notice (NoticeEvent); `data` holds the few non-secret details a notice names. */
export const NOTICES: Record<NoticeEvent, (data?: MailData) => RenderedMail> = {
  password_changed: () => mail('Your TaskFlow password was changed',
    'The password of your TaskFlow account was just changed. Your other sessions were signed out.', NOT_YOU),
  password_reset: () => mail('Your TaskFlow password was reset',
    'The password of your TaskFlow account was just reset with a link sent to this address. Every session and personal access token of the account was signed out.',
    'If this was not you, request a new reset link at once and check who can read this mailbox.'),
  email_change_requested: (data) => mail('A change of your TaskFlow email address was requested',
    `Someone signed in to your TaskFlow account asked to change its email address to ${field(data, 'new_email', 'a new address')}. Nothing changes until the link sent to that address is used.`,
    NOT_YOU),
  mfa_enabled: () => mail('Two-step verification is on',
    'Two-step verification (an authenticator app) was turned on for your TaskFlow account. Your other sessions were signed out.', NOT_YOU),
  mfa_disabled: () => mail('Two-step verification is off',
    'Two-step verification was turned off for your TaskFlow account.', NOT_YOU),
  mfa_reset_by_admin: () => mail('Two-step verification was reset by an administrator',
    'An administrator turned off two-step verification for your TaskFlow account (for example after a lost phone), and signed out every session. You can set it up again after signing in.',
    NOT_YOU),
  recovery_code_used: (data) => mail('A recovery code was used',
    `A recovery code was used to sign in to your TaskFlow account. Recovery codes left: ${field(data, 'remaining', 'unknown')}.`, NOT_YOU),
  refresh_reuse_detected: () => mail('A session of yours was ended for safety',
    'A sign-in token of your TaskFlow account was used twice, which can mean it was copied. We ended that session; sign in again where you need to.',
    NOT_YOU),
  pat_created: (data) => mail('A personal access token was created',
    `A personal access token named "${field(data, 'name', 'unnamed')}" was created for your TaskFlow account.`, NOT_YOU),
  identity_linked: (data) => mail('A sign-in method was linked',
    `Your ${field(data, 'provider', 'external')} account was linked to your TaskFlow account: it can now be used to sign in.`, NOT_YOU),
  identity_unlinked: (data) => mail('A sign-in method was removed',
    `Your ${field(data, 'provider', 'external')} account was unlinked from your TaskFlow account.`, NOT_YOU)
}

function duration (seconds: number): string {
  if (seconds % 86400 === 0) return seconds === 86400 ? '24 hours' : `${seconds / 86400} days`
  if (seconds % 3600 === 0) return seconds === 3600 ? '1 hour' : `${seconds / 3600} hours`
  return `${Math.round(seconds / 60)} minutes`
}

/** The mails with a single-use link; `link` is built from APP_URL only, `ttlSeconds` is how long it works. */
export const LINK_MAILS: Record<LinkTemplate, (link: string, ttlSeconds: number) => RenderedMail> = {
  password_reset_link: (link, ttl) => mail('Reset your TaskFlow password',
    `Someone (hopefully you) asked to reset the password of the TaskFlow account with this address. To choose a new password, open this link and press the button on the page:\n\n${link}`,
    `The link works once, for ${duration(ttl)}. If you did not ask for it, ignore this mail: your password stays as it is.`),
  email_verification: (link, ttl) => mail('Confirm your email address for TaskFlow',
    `Please confirm that this address belongs to your TaskFlow account: open this link and press the button on the page.\n\n${link}`,
    `The link works once, for ${duration(ttl)}. If you did not create a TaskFlow account, ignore this mail.`),
  email_change: (link, ttl) => mail('Confirm your new email address for TaskFlow',
    `Someone (hopefully you) asked to use this address for their TaskFlow account. To confirm it, open this link and press the button on the page:\n\n${link}`,
    `The link works once, for ${duration(ttl)}. Until it is used, the account keeps its old address. If you did not ask for this, ignore this mail.`)
}

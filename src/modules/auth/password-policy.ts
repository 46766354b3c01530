import { dictionary } from '@zxcvbn-ts/language-common'
import type { FieldError } from '../../core/errors.js'
import { textProblem } from '../../core/http/validation.js'

/** Longest accepted password, in code points (API.md; NIST SP 800-63B §3.1.1.2 asks for at least 64). */
export const MAX_PASSWORD_LENGTH = 128

/**
 * The form the policy compares (API.md, Identity and tokens): NFKC, then case-folded (full folding
 * through upper then lower case, so `ß` matches `ss`), then NFKC again as Unicode's NFKC_Casefold
 * recommends (UAX #15, UTS #39). Full-width `ｔａｓｋｆｌｏｗ` becomes `taskflow`.
 */
export function foldForComparison (text: string): string {
  return text.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC')
}

let common: Set<string> | undefined
/**
 * The common and breached passwords we refuse: the 49k-entry `passwords-common` list of
 * @zxcvbn-ts/language-common (MIT), in foldForComparison form. Loaded once, on first use.
 */
export function commonPasswords (): ReadonlySet<string> {
  common ??= new Set(dictionary['passwords-common'].map(foldForComparison))
  return common
}

/** PASSWORD_MIN_LENGTH (code points) and PASSWORD_REQUIRE_CHARACTER_CLASSES. */
export interface PolicyOptions { minLength: number, requireCharacterClasses: boolean }
/** Account words a password must not contain (ASVS 5.0 §6.2.11): the username and the email's local part. */
export interface PasswordContext { email?: string | undefined, username?: string | null | undefined }

/**
 * The password policy of API.md (ASVS 5.0 §6.2; NIST SP 800-63B §5.1.1.2): well-formed Unicode (an
 * unpaired surrogate is refused, never replaced), length in NFC code points, and, compared in
 * foldForComparison form, not a common password and not containing the username, the email's local
 * part (4+ characters) or "taskflow". Composition rules only when configured. Returns the first
 * failure, phrased for the `password` field.
 */
export function checkPassword (password: string, context: PasswordContext, options: PolicyOptions, field = 'password'): FieldError | null {
  const fail = (message: string): FieldError => ({ field, message })
  const malformed = textProblem(password)
  if (malformed) return fail(malformed)
  const length = [...password.normalize('NFC')].length
  if (length < options.minLength) return fail(`must be at least ${options.minLength} characters`)
  if (length > MAX_PASSWORD_LENGTH) return fail(`must be at most ${MAX_PASSWORD_LENGTH} characters`)
  const folded = foldForComparison(password)
  if (commonPasswords().has(folded)) return fail('is too common; choose a less guessable password')
  if (folded.includes('taskflow')) return fail('must not contain the word "taskflow"')
  const username = context.username ? foldForComparison(context.username) : undefined
  if (username && folded.includes(username)) return fail('must not contain your username')
  const local = context.email?.split('@')[0]
  const foldedLocal = local ? foldForComparison(local) : undefined
  if (foldedLocal && [...local ?? ''].length >= 4 && folded.includes(foldedLocal)) return fail('must not contain your email address')
  if (options.requireCharacterClasses) {
    if (!/\p{L}/u.test(password)) return fail('must contain a letter')
    if (!/\p{Nd}/u.test(password)) return fail('must contain a digit')
    if (!/[^\p{L}\p{Nd}]/u.test(password)) return fail('must contain a symbol')
  }
  return null
}

import { dictionary } from '@zxcvbn-ts/language-common'
import type { FieldError } from '../../core/errors.js'

/** Longest accepted password, in code points (API.md; NIST SP 800-63B §3.1.1.2 asks for at least 64). */
export const MAX_PASSWORD_LENGTH = 128

let common: Set<string> | undefined
/**
 * The common and breached passwords we refuse: the 49k-entry `passwords-common` list of
 * @zxcvbn-ts/language-common (MIT), matched case-insensitively. Loaded once, on first use.
 */
export function commonPasswords (): ReadonlySet<string> {
  common ??= new Set(dictionary['passwords-common'].map(p => p.toLowerCase()))
  return common
}

/** PASSWORD_MIN_LENGTH (code points) and PASSWORD_REQUIRE_CHARACTER_CLASSES. */
export interface PolicyOptions { minLength: number, requireCharacterClasses: boolean }
/** Account words a password must not contain (ASVS 5.0 §6.2.11): the username and the email's local part. */
export interface PasswordContext { email?: string | undefined, username?: string | null | undefined }

/**
 * The password policy of API.md (ASVS 5.0 §6.2): length in code points, not a common password,
 * not containing the username, the email's local part (4+ characters) or "taskflow". Composition
 * rules only when configured. Returns the first failure, phrased for the `password` field.
 */
export function checkPassword (password: string, context: PasswordContext, options: PolicyOptions, field = 'password'): FieldError | null {
  const fail = (message: string): FieldError => ({ field, message })
  const length = [...password].length
  if (length < options.minLength) return fail(`must be at least ${options.minLength} characters`)
  if (length > MAX_PASSWORD_LENGTH) return fail(`must be at most ${MAX_PASSWORD_LENGTH} characters`)
  const lower = password.toLowerCase()
  if (commonPasswords().has(lower)) return fail('is too common; choose a less guessable password')
  if (lower.includes('taskflow')) return fail('must not contain the word "taskflow"')
  const username = context.username?.toLowerCase()
  if (username && lower.includes(username)) return fail('must not contain your username')
  const local = context.email?.split('@')[0]?.toLowerCase()
  if (local && local.length >= 4 && lower.includes(local)) return fail('must not contain your email address')
  if (options.requireCharacterClasses) {
    if (!/\p{L}/u.test(password)) return fail('must contain a letter')
    if (!/\p{Nd}/u.test(password)) return fail('must contain a digit')
    if (!/[^\p{L}\p{Nd}]/u.test(password)) return fail('must contain a symbol')
  }
  return null
}

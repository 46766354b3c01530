import { HOTP, Secret } from 'otpauth'

/** RFC 6238 parameters of every TaskFlow factor (API.md "Multi-factor authentication"). */
export const TOTP = Object.freeze({ algorithm: 'SHA1', digits: 6, period: 30, window: 1, secretBytes: 20 })

export type HmacAlgorithm = 'SHA1' | 'SHA256' | 'SHA512'

/** A new 160-bit TOTP secret from the CSPRNG (RFC 4226 §4 R6 recommends 160 bits). */
export function newTotpSecret (): Uint8Array {
  return new Secret({ size: TOTP.secretBytes }).bytes
}

/** The secret as RFC 4648 base32 without padding: what people type into an authenticator. */
export function secretBase32 (secret: Uint8Array): string {
  return new Secret({ buffer: Uint8Array.from(secret).buffer }).base32
}

/** The RFC 6238 §4.2 time step T = floor((unix seconds - T0) / X), T0 = 0, X = `period` seconds. */
export function timeStep (at: Date, period: number = TOTP.period): number {
  return Math.floor(at.getTime() / 1000 / period)
}

/**
 * The RFC 4226 HOTP value of `secret` at `counter` (otpauth, HMAC from node:crypto), as a zero-padded
 * decimal string of `digits` digits. TOTP (RFC 6238) is this at counter = timeStep(time).
 */
export function hotp (secret: Uint8Array, counter: number, options: { digits?: number, algorithm?: HmacAlgorithm } = {}): string {
  return HOTP.generate({
    secret: new Secret({ buffer: Uint8Array.from(secret).buffer }),
    counter,
    digits: options.digits ?? TOTP.digits,
    algorithm: options.algorithm ?? TOTP.algorithm
  })
}

/** The TOTP code of `secret` at time `at` (RFC 6238 §4). */
export function totpAt (secret: Uint8Array, at: Date, options: { digits?: number, algorithm?: HmacAlgorithm, period?: number } = {}): string {
  return hotp(secret, timeStep(at, options.period), options)
}

/**
 * The time step whose code `code` is, among the previous, current and next step at `at` (RFC 6238
 * §5.2: one step of network delay either way), or null when it matches none. Compares in constant
 * time (otpauth). Replay protection is the caller's: accept a step only once, and only after the
 * last accepted one.
 */
export function matchTotp (secret: Uint8Array, code: string, at: Date, options: { digits?: number, algorithm?: HmacAlgorithm, period?: number } = {}): number | null {
  const digits = options.digits ?? TOTP.digits
  if (code.length !== digits || !/^[0-9]+$/.test(code)) return null
  const step = timeStep(at, options.period)
  const delta = HOTP.validate({
    token: code,
    secret: new Secret({ buffer: Uint8Array.from(secret).buffer }),
    counter: step,
    window: TOTP.window,
    digits,
    algorithm: options.algorithm ?? TOTP.algorithm
  })
  return delta === null ? null : step + delta
}

/**
 * The Key URI an authenticator app reads (usually from a QR code the client draws), exactly as API.md
 * gives it: `otpauth://totp/<issuer>:<account>?secret=…&issuer=<issuer>&algorithm=SHA1&digits=6&period=30`,
 * the label parts and the issuer parameter percent-encoded.
 */
export function otpauthUri ({ issuer, account, secret }: { issuer: string, account: string, secret: Uint8Array }): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`
  return `otpauth://totp/${label}?secret=${secretBase32(secret)}&issuer=${encodeURIComponent(issuer)}&algorithm=${TOTP.algorithm}&digits=${TOTP.digits}&period=${TOTP.period}`
}

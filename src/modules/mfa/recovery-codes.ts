import { Secret } from 'otpauth'

/** How many recovery codes a set has (API.md). */
export const RECOVERY_CODE_COUNT = 10
/**
 * 15 random bytes = 120 bits, written as 24 base32 characters in six groups of four
 * (`abcd-efgh-ijkl-mnop-qrst-uvwx`). The contract asks at least 80 bits; 112 or more is what ASVS
 * v5.0.0 6.5.2 needs before a lookup secret may be stored under a fast hash instead of a salted
 * password hash (ours is keyed, too), so that the lookup can be one indexed query.
 */
const RECOVERY_CODE_BYTES = 15
const NORMALISED = /^[a-z2-7]{24}$/

/** The keyed-hash purpose of recovery codes (core/encryption.ts keyedHash). */
export const RECOVERY_CODE_PURPOSE = 'mfa-recovery-code'

/** A new recovery code: 120 bits from the CSPRNG, grouped for reading. */
export function newRecoveryCode (): string {
  const base32 = new Secret({ size: RECOVERY_CODE_BYTES }).base32.toLowerCase()
  return base32.match(/.{4}/g)?.join('-') ?? base32
}

/**
 * The comparable form of a typed recovery code: case, spaces and hyphens ignored. Returns undefined
 * for anything that cannot be a recovery code (so it costs no lookup).
 */
export function normaliseRecoveryCode (typed: string): string | undefined {
  const normalised = typed.replace(/[\s-]+/g, '').toLowerCase()
  return NORMALISED.test(normalised) ? normalised : undefined
}

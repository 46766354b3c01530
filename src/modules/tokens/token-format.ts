import { randomBytes } from 'node:crypto'
import { crc32 } from 'node:zlib'

/**
 * The personal access token format, after GitHub's (github.blog, "Behind GitHub's new authentication
 * token formats", 2021): a recognisable prefix, the secret, and a checksum of the secret.
 *
 *   tfp_ <43 base62 characters: 256 random bits> <6 base62 characters: CRC32 of the random part>
 *
 * The prefix lets secret scanners and people recognise a leaked token; the checksum lets the server
 * refuse a mistyped or made-up token before any lookup (it is no secret and no MAC: anyone can compute
 * it, so it only filters typos and noise). The token is stored only as its SHA-256 hash.
 */
export const PAT_PREFIX = 'tfp_'
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
/** 62^43 > 2^256: 43 uniformly drawn base62 characters carry at least 256 bits. */
const RANDOM_CHARS = 43
const CHECKSUM_CHARS = 6
export const PAT_LENGTH = PAT_PREFIX.length + RANDOM_CHARS + CHECKSUM_CHARS
/** What lists show to recognise a token: `tfp_` and the first 8 random characters (about 48 bits of 256). */
export const DISPLAY_PREFIX_LENGTH = 12
const SHAPE = new RegExp(`^${PAT_PREFIX}[0-9A-Za-z]{${RANDOM_CHARS + CHECKSUM_CHARS}}$`)

/** CRC32 (ISO-HDLC, as zlib) of `text`, in base62, left-padded to 6 characters (62^6 > 2^32). */
function checksum (text: string): string {
  let n = crc32(text)
  let out = ''
  for (let i = 0; i < CHECKSUM_CHARS; i++) {
    out = ALPHABET[n % 62] + out
    n = Math.floor(n / 62)
  }
  return out
}

/** `count` base62 characters, each uniform (rejection sampling: bytes ≥ 248 are drawn again). */
function randomBase62 (count: number): string {
  let out = ''
  while (out.length < count) {
    for (const byte of randomBytes(count * 2)) {
      if (byte < 248 && out.length < count) out += ALPHABET[byte % 62]
    }
  }
  return out
}

/** A new token from the CSPRNG (node:crypto): `tfp_` + 256 random bits in base62 + a CRC32 checksum. */
export function newPersonalAccessToken (): string {
  const random = randomBase62(RANDOM_CHARS)
  return PAT_PREFIX + random + checksum(random)
}

/** True when `token` claims to be a personal access token (by its prefix), whether valid or not. */
export function looksLikePersonalAccessToken (token: string): boolean {
  return token.startsWith(PAT_PREFIX)
}

/** True when `token` has the exact shape and its checksum matches: worth a lookup. Constant work, no I/O. */
export function isWellFormedPersonalAccessToken (token: string): boolean {
  if (token.length !== PAT_LENGTH || !SHAPE.test(token)) return false
  const random = token.slice(PAT_PREFIX.length, PAT_PREFIX.length + RANDOM_CHARS)
  return token.slice(PAT_PREFIX.length + RANDOM_CHARS) === checksum(random)
}

/** The part lists show (never enough to use the token). */
export const displayPrefix = (token: string): string => token.slice(0, DISPLAY_PREFIX_LENGTH)

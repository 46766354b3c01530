import { createHmac } from 'node:crypto'

/**
 * A second, independent TOTP implementation: what an authenticator app does with an otpauth URI.
 * Written from RFC 4648 §6 (base32), RFC 4226 §5.3 (HOTP, dynamic truncation) and RFC 6238 §4 (TOTP)
 * for the tests only, sharing no code with the server (which uses the otpauth package).
 */
export function base32Decode (text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  const clean = text.replace(/=+$/, '').toUpperCase()
  const out: number[] = []
  let bits = 0
  let value = 0
  for (const char of clean) {
    const index = alphabet.indexOf(char)
    if (index < 0) throw new Error(`not base32: ${char}`)
    value = (value << 5) | index
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Buffer.from(out)
}

/** RFC 4226 §5.3: HMAC over the 8-byte big-endian counter, dynamic truncation, modulo 10^digits. */
export function referenceHotp (key: Buffer, counter: number, digits = 6, algorithm: 'sha1' | 'sha256' | 'sha512' = 'sha1'): string {
  const message = Buffer.alloc(8)
  message.writeBigUInt64BE(BigInt(counter))
  const mac = createHmac(algorithm, key).update(message).digest()
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f
  const binary = (((mac[offset] ?? 0) & 0x7f) << 24) | ((mac[offset + 1] ?? 0) << 16) | ((mac[offset + 2] ?? 0) << 8) | (mac[offset + 3] ?? 0)
  return String(binary % 10 ** digits).padStart(digits, '0')
}

/** RFC 6238 §4: T = floor(unix time / period). */
export function referenceTotp (key: Buffer, at: Date, options: { digits?: number, period?: number, algorithm?: 'sha1' | 'sha256' | 'sha512' } = {}): string {
  const counter = Math.floor(at.getTime() / 1000 / (options.period ?? 30))
  return referenceHotp(key, counter, options.digits ?? 6, options.algorithm ?? 'sha1')
}

export interface KeyUri { type: string, issuer: string, account: string, labelIssuer: string, key: Buffer, algorithm: string, digits: number, period: number }

/** Parses an otpauth:// Key URI (Google Authenticator's format) as an authenticator app would. */
export function parseKeyUri (uri: string): KeyUri {
  const url = new URL(uri)
  if (url.protocol !== 'otpauth:') throw new Error('not an otpauth URI')
  const label = decodeURIComponent(url.pathname.replace(/^\/+/, ''))
  const colon = label.indexOf(':')
  const secret = url.searchParams.get('secret')
  if (!secret) throw new Error('no secret')
  return {
    type: url.host,
    labelIssuer: colon >= 0 ? label.slice(0, colon) : '',
    account: colon >= 0 ? label.slice(colon + 1) : label,
    issuer: url.searchParams.get('issuer') ?? '',
    key: base32Decode(secret),
    algorithm: url.searchParams.get('algorithm') ?? 'SHA1',
    digits: Number(url.searchParams.get('digits') ?? 6),
    period: Number(url.searchParams.get('period') ?? 30)
  }
}

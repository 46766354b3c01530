import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { base32Decode, referenceHotp, referenceTotp } from '../../../test/authenticator.js'
import { newRecoveryCode, normaliseRecoveryCode } from './recovery-codes.js'
import { hotp, matchTotp, newTotpSecret, otpauthUri, secretBase32, timeStep, totpAt, TOTP, type HmacAlgorithm } from './totp.js'

const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'ascii'))

/** RFC 4226 Appendix D: HOTP of the ASCII secret "12345678901234567890", counters 0…9. */
const RFC4226 = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489']

/** RFC 6238 Appendix B: 8-digit TOTP, T0 = 0, X = 30, with the seed of each algorithm. */
const SEEDS: Record<HmacAlgorithm, Uint8Array> = {
  SHA1: ascii('12345678901234567890'),
  SHA256: ascii('12345678901234567890123456789012'),
  SHA512: ascii('1234567890123456789012345678901234567890123456789012345678901234')
}
const RFC6238: Array<[number, HmacAlgorithm, string]> = [
  [59, 'SHA1', '94287082'], [59, 'SHA256', '46119246'], [59, 'SHA512', '90693936'],
  [1111111109, 'SHA1', '07081804'], [1111111109, 'SHA256', '68084774'], [1111111109, 'SHA512', '25091201'],
  [1111111111, 'SHA1', '14050471'], [1111111111, 'SHA256', '67062674'], [1111111111, 'SHA512', '99943326'],
  [1234567890, 'SHA1', '89005924'], [1234567890, 'SHA256', '91819424'], [1234567890, 'SHA512', '93441116'],
  [2000000000, 'SHA1', '69279037'], [2000000000, 'SHA256', '90698825'], [2000000000, 'SHA512', '38618901'],
  [20000000000, 'SHA1', '65353130'], [20000000000, 'SHA256', '77737706'], [20000000000, 'SHA512', '47863826']
]

describe('TOTP (the server\'s code path: otpauth)', () => {
  it('when given the RFC 4226 Appendix D vectors, then hotp() produces every value', () => {
    RFC4226.forEach((expected, counter) => assert.equal(hotp(SEEDS.SHA1, counter), expected, `counter ${counter}`))
  })

  it('when given the RFC 6238 Appendix B vectors, then totpAt() produces and matchTotp() accepts every value at its step', () => {
    for (const [seconds, algorithm, expected] of RFC6238) {
      const at = new Date(seconds * 1000)
      assert.equal(totpAt(SEEDS[algorithm], at, { digits: 8, algorithm }), expected, `${algorithm} at ${seconds}`)
      assert.equal(matchTotp(SEEDS[algorithm], expected, at, { digits: 8, algorithm }), Math.floor(seconds / 30))
    }
  })

  it('when the server\'s own parameters are used (SHA-1, 6 digits), then its codes are the vectors\' last 6 digits', () => {
    for (const [seconds, algorithm, expected] of RFC6238.filter(v => v[1] === 'SHA1')) {
      const at = new Date(seconds * 1000)
      assert.equal(totpAt(SEEDS[algorithm], at), expected.slice(2))
      assert.equal(matchTotp(SEEDS[algorithm], expected.slice(2), at), timeStep(at))
    }
  })

  it('when a code is one step early or late, then it is accepted with its own step; two steps away, refused', () => {
    const secret = newTotpSecret()
    const now = new Date(1_800_000_015_000)
    const step = timeStep(now)
    for (const offset of [-1, 0, 1]) {
      const code = hotp(secret, step + offset)
      assert.equal(matchTotp(secret, code, now), step + offset, `offset ${offset}`)
    }
    for (const offset of [-2, 2]) {
      const code = hotp(secret, step + offset)
      if ([-1, 0, 1].some(o => hotp(secret, step + o) === code)) continue // a 1-in-10^6 collision
      assert.equal(matchTotp(secret, code, now), null, `offset ${offset}`)
    }
  })

  it('when the code is not exactly six digits, then it matches nothing', () => {
    const secret = newTotpSecret()
    const code = totpAt(secret, new Date())
    for (const bad of [code.slice(1), `${code}0`, ` ${code}`, code.replace(/./, 'a'), '']) assert.equal(matchTotp(secret, bad, new Date()), null)
  })

  it('when a secret is made, then it has 160 bits, encodes as 32 base32 characters, and the URI follows API.md', () => {
    const secret = newTotpSecret()
    assert.equal(secret.length, 20)
    assert.equal(TOTP.secretBytes * 8, 160)
    assert.notDeepEqual(newTotpSecret(), secret)
    const text = secretBase32(secret)
    assert.match(text, /^[A-Z2-7]{32}$/)
    assert.ok(base32Decode(text).equals(Buffer.from(secret)))
    assert.equal(otpauthUri({ issuer: 'TaskFlow', account: 'ada@example.com', secret }),
      `otpauth://totp/TaskFlow:ada%40example.com?secret=${text}&issuer=TaskFlow&algorithm=SHA1&digits=6&period=30`)
  })

  it('when the test\'s independent implementation is checked against the same vectors, then it agrees (so tests that use it prove something)', () => {
    RFC4226.forEach((expected, counter) => assert.equal(referenceHotp(Buffer.from(SEEDS.SHA1), counter), expected))
    for (const [seconds, algorithm, expected] of RFC6238) {
      assert.equal(referenceTotp(Buffer.from(SEEDS[algorithm]), new Date(seconds * 1000), { digits: 8, algorithm: algorithm.toLowerCase() as 'sha1' }), expected)
    }
  })
})

describe('recovery codes', () => {
  it('when made, then each has 120 bits in six groups, and they differ', () => {
    const codes = Array.from({ length: 50 }, newRecoveryCode)
    assert.equal(new Set(codes).size, 50)
    for (const code of codes) assert.match(code, /^[a-z2-7]{4}(-[a-z2-7]{4}){5}$/)
  })

  it('when typed with other case, spaces or hyphens, then they normalise to one form; anything else is not a code', () => {
    const code = newRecoveryCode()
    const plain = code.replaceAll('-', '')
    for (const typed of [code, code.toUpperCase(), plain, ` ${code.replaceAll('-', ' ')} `, code.replaceAll('-', '--')]) {
      assert.equal(normaliseRecoveryCode(typed), plain, typed)
    }
    for (const bad of ['', '123456', `${plain}a`, plain.slice(1), `${plain.slice(1)}1`, `${plain.slice(1)}!`]) assert.equal(normaliseRecoveryCode(bad), undefined, bad)
  })
})

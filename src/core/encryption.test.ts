import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { sharedStorage } from '../../test/build-test-app.js'
import { storageLabel } from '../../test/test-env.js'
import { systemClock } from './clock.js'
import { createEncryption, DecryptionError, loadEncryption } from './encryption.js'
import { generatedDataKeyTable } from './encryption.table.js'

const key = () => randomBytes(32)
const silent = { warn: () => {}, info: () => {} }

/** Flips one bit of the base64url text at `index` (a different but valid base64url character). */
function flip (text: string, index: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const at = alphabet.indexOf(text[index] ?? 'A')
  return text.slice(0, index) + alphabet[(at ^ 1) % 64] + text.slice(index + 1)
}

describe('encryption (AES-256-GCM envelopes)', () => {
  it('when a value is encrypted, then it decrypts with the same context, and the envelope names the key', () => {
    const enc = createEncryption({ current: key() })
    const envelope = enc.encrypt('JBSWY3DPEHPK3PXP', 'mfa_totp:u1')
    assert.match(envelope, /^v1\.[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/)
    assert.equal(envelope.split('.')[1], enc.keyId)
    assert.ok(!envelope.includes('JBSWY3DPEHPK3PXP'))
    assert.equal(enc.decrypt(envelope, 'mfa_totp:u1').toString('utf8'), 'JBSWY3DPEHPK3PXP')
    assert.ok(enc.isCurrent(envelope))
  })

  it('when the same value is encrypted twice, then the nonces and ciphertexts differ', () => {
    const enc = createEncryption({ current: key() })
    const a = enc.encrypt('same', 'c')
    const b = enc.encrypt('same', 'c')
    assert.notEqual(a.split('.')[2], b.split('.')[2])
    assert.notEqual(a, b)
  })

  it('when any part of the envelope is changed, truncated or extended, then decryption fails with DecryptionError', () => {
    const enc = createEncryption({ current: key() })
    const envelope = enc.encrypt('a secret worth keeping', 'ctx')
    const [version = '', kid = '', nonce = '', body = ''] = envelope.split('.')
    const tampered = [
      `v2.${kid}.${nonce}.${body}`,
      `${version}.${flip(kid, 0)}.${nonce}.${body}`,
      `${version}.${kid}.${flip(nonce, 3)}.${body}`,
      `${version}.${kid}.${nonce}.${flip(body, 0)}`, // ciphertext
      `${version}.${kid}.${nonce}.${flip(body, body.length - 2)}`, // tag
      `${version}.${kid}.${nonce}.${body.slice(0, -4)}`,
      `${version}.${kid}.${nonce}.${body}AAAA`,
      `${version}.${kid}.${nonce}`,
      '',
      'not an envelope'
    ]
    for (const bad of tampered) assert.throws(() => enc.decrypt(bad, 'ctx'), DecryptionError, bad)
  })

  it('when the context differs (another row or purpose), then decryption fails', () => {
    const enc = createEncryption({ current: key() })
    const envelope = enc.encrypt('secret', 'mfa_totp:alice')
    assert.throws(() => enc.decrypt(envelope, 'mfa_totp:mallory'), DecryptionError)
  })

  it('when the key is another one, then decryption fails; after a rotation the old key still reads its ciphertexts', () => {
    const oldKey = key()
    const before = createEncryption({ current: oldKey })
    const envelope = before.encrypt('kept across rotation', 'ctx')
    assert.throws(() => createEncryption({ current: key() }).decrypt(envelope, 'ctx'), DecryptionError)

    const rotated = createEncryption({ current: key(), previous: [oldKey] })
    assert.equal(rotated.decrypt(envelope, 'ctx').toString(), 'kept across rotation')
    assert.equal(rotated.isCurrent(envelope), false)
    const fresh = rotated.encrypt('new', 'ctx')
    assert.equal(fresh.split('.')[1], rotated.keyId)
    assert.notEqual(rotated.keyId, before.keyId)
  })

  it('when a value is hashed with a key, then the hash is stable, keyed, purpose-bound and found across a rotation', () => {
    const k = key()
    const a = createEncryption({ current: k })
    assert.equal(a.keyedHash('abcd', 'recovery'), createEncryption({ current: k }).keyedHash('abcd', 'recovery'))
    assert.notEqual(a.keyedHash('abcd', 'recovery'), a.keyedHash('abcd', 'other'))
    assert.notEqual(a.keyedHash('abcd', 'recovery'), createEncryption({ current: key() }).keyedHash('abcd', 'recovery'))
    const rotated = createEncryption({ current: key(), previous: [k] })
    assert.ok(rotated.keyedHashes('abcd', 'recovery').includes(a.keyedHash('abcd', 'recovery')))
  })

  it('when a key is not 32 bytes, then it is refused', () => {
    assert.throws(() => createEncryption({ current: randomBytes(16) }), RangeError)
  })
})

describe(`loadEncryption [${storageLabel}]`, () => {
  it('when DATA_ENCRYPTION_KEY is unset, then two instances on one database generate and use one key, and the log warns', async () => {
    const { database } = await sharedStorage()
    const warnings: string[] = []
    const log = { warn: (_: object, msg: string) => { warnings.push(msg) }, info: () => {} }
    const [a, b] = await Promise.all([
      loadEncryption({ db: database.db, clock: systemClock, key: undefined, production: false, log }),
      loadEncryption({ db: database.db, clock: systemClock, key: undefined, production: false, log })
    ])
    assert.equal(a.keyId, b.keyId)
    assert.equal(b.decrypt(a.encrypt('shared', 'ctx'), 'ctx').toString(), 'shared')
    assert.equal(warnings.length, 2)
    assert.match(warnings[0] ?? '', /protects nothing/)
    assert.equal((await database.db.select().from(generatedDataKeyTable)).length, 1)
  })

  it('when DATA_ENCRYPTION_KEY is set, then it encrypts, and a generated key left in the database only decrypts', async () => {
    const { database } = await sharedStorage()
    const dev = await loadEncryption({ db: database.db, clock: systemClock, key: undefined, production: false, log: silent })
    const old = dev.encrypt('from development', 'ctx')
    const configured = key()
    const enc = await loadEncryption({ db: database.db, clock: systemClock, key: configured, production: true, log: silent })
    assert.equal(enc.keyId, createEncryption({ current: configured }).keyId)
    assert.equal(enc.decrypt(old, 'ctx').toString(), 'from development')
    assert.equal(enc.isCurrent(enc.encrypt('x', 'ctx')), true)
  })

  it('when production runs without a key, then it refuses to start', async () => {
    const { database } = await sharedStorage()
    await assert.rejects(loadEncryption({ db: database.db, clock: systemClock, key: undefined, production: true, log: silent }), /required/)
  })
})

import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto'
import { sql } from 'drizzle-orm'
import type { Clock } from './clock.js'
import { rawRows, type Db } from './db.js'
import { generatedDataKeyTable } from './encryption.table.js'

/**
 * Secrets at rest (ASVS v5.0.0 11.3.2 / 11.3.3, NIST SP 800-38D): AES-256-GCM from node:crypto with
 * a fresh 96-bit random nonce per encryption and a 128-bit tag. Each ciphertext is one string,
 *
 *   v1.<key id>.<nonce>.<ciphertext ‖ tag>        (base64url parts)
 *
 * so a key can be rotated later: new values are written under the current key, and any key of the
 * ring still decrypts what it wrote. The key id is derived from the key (HKDF), never configured, so
 * every instance with the same key names it the same way. A `context` string (for example
 * `mfa_totp:<user id>`) is bound as additional authenticated data: a ciphertext copied to another row
 * or purpose does not decrypt.
 *
 * The data key itself is never used directly: HKDF-SHA256 (RFC 5869) derives one sub-key for
 * encryption and one per keyed-hash purpose (e.g. recovery codes), so the uses cannot interfere.
 */
const VERSION = 'v1'
const NONCE_BYTES = 12
const TAG_BYTES = 16
const ENVELOPE = /^v1\.([A-Za-z0-9_-]{12})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22,})$/

/** A ciphertext that is malformed, was changed, belongs to another context, or whose key is unknown. */
export class DecryptionError extends Error {
  override name = 'DecryptionError'
}

interface RingKey { readonly id: string, readonly encryption: Buffer, readonly root: Buffer }

function derive (root: Buffer, info: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), `taskflow/${info}`, length))
}

function ringKey (root: Buffer): RingKey {
  if (root.length !== 32) throw new RangeError('a data key is 32 bytes')
  return { id: derive(root, 'key-id', 9).toString('base64url'), encryption: derive(root, 'aes-256-gcm/v1'), root }
}

export interface DataKeyring {
  /** The key new ciphertexts and hashes are made with (32 bytes). */
  readonly current: Buffer
  /** Older keys (32 bytes each), kept only to read what they wrote. */
  readonly previous?: readonly Buffer[]
}

/**
 * The encryption service over a key ring. Pure and synchronous: no I/O.
 * Throws RangeError when a key is not 32 bytes.
 */
export function createEncryption ({ current, previous = [] }: DataKeyring) {
  const active = ringKey(current)
  const ring = new Map<string, RingKey>([[active.id, active]])
  for (const key of previous) {
    const k = ringKey(key)
    if (!ring.has(k.id)) ring.set(k.id, k)
  }

  return {
    /** The id of the current key, as written into new ciphertexts (12 base64url characters). */
    keyId: active.id,

    /** Encrypts `plaintext` under the current key, bound to `context`; returns the envelope string. */
    encrypt (plaintext: string | Uint8Array, context: string): string {
      const nonce = randomBytes(NONCE_BYTES)
      const cipher = createCipheriv('aes-256-gcm', active.encryption, nonce, { authTagLength: TAG_BYTES })
      cipher.setAAD(Buffer.from(`${VERSION}.${active.id}.${context}`, 'utf8'))
      const body = Buffer.concat([cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext), cipher.final(), cipher.getAuthTag()])
      return `${VERSION}.${active.id}.${nonce.toString('base64url')}.${body.toString('base64url')}`
    },

    /**
     * Decrypts an envelope made by `encrypt` with any key of the ring and the same `context`.
     * Throws DecryptionError when it is malformed, tampered with, of another context or of an unknown key.
     */
    decrypt (envelope: string, context: string): Buffer {
      const match = ENVELOPE.exec(envelope)
      if (!match) throw new DecryptionError('malformed ciphertext')
      const [, kid = '', nonceText = '', bodyText = ''] = match
      const key = ring.get(kid)
      if (!key) throw new DecryptionError('ciphertext of an unknown key')
      const nonce = Buffer.from(nonceText, 'base64url')
      const body = Buffer.from(bodyText, 'base64url')
      if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) throw new DecryptionError('malformed ciphertext')
      try {
        const decipher = createDecipheriv('aes-256-gcm', key.encryption, nonce, { authTagLength: TAG_BYTES })
        decipher.setAAD(Buffer.from(`${VERSION}.${kid}.${context}`, 'utf8'))
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES))
        return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()])
      } catch {
        throw new DecryptionError('ciphertext failed authentication')
      }
    },

    /** True when `envelope` was written under the current key (false: re-encrypt it when convenient). */
    isCurrent: (envelope: string): boolean => ENVELOPE.exec(envelope)?.[1] === active.id,

    /**
     * A keyed hash (HMAC-SHA256 under a sub-key derived for `purpose`) of a high-entropy value, for
     * looking secrets up without storing them (recovery codes). Returns `<key id>.<mac>` under the
     * current key; `keyedHashes` gives it under every key of the ring, for lookups across a rotation.
     */
    keyedHash: (value: string, purpose: string): string => hmac(active, value, purpose),
    keyedHashes: (value: string, purpose: string): string[] => [...ring.values()].map(k => hmac(k, value, purpose))
  }

  function hmac (key: RingKey, value: string, purpose: string): string {
    return `${key.id}.${createHmac('sha256', derive(key.root, `hmac/${purpose}`)).update(value, 'utf8').digest('base64url')}`
  }
}
export type Encryption = ReturnType<typeof createEncryption>

export interface LoadEncryptionOptions {
  db: Db
  clock: Clock
  /** DATA_ENCRYPTION_KEY, decoded; undefined outside production means "generate one". */
  key: Buffer | undefined
  production: boolean
  log: { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void }
}

/**
 * The data-encryption service of this process. With DATA_ENCRYPTION_KEY set, that key encrypts.
 * Without it (refused in production by config), a key is generated once and kept in the database
 * itself, in `generated_data_key`: every instance that shares the database (PGlite under DATA_DIR, or
 * PostgreSQL) then finds the same key, where a file per instance would silently give two instances two
 * keys and make each unable to read the other's secrets. A key stored beside the data protects
 * nothing, and the start-up log says so. A generated key left in the database once a real key is
 * configured is kept as a decrypt-only key, so secrets written during development stay readable.
 */
export async function loadEncryption ({ db, clock, key, production, log }: LoadEncryptionOptions): Promise<Encryption> {
  if (key) {
    const [stored] = await db.select({ key: generatedDataKeyTable.key }).from(generatedDataKeyTable).limit(1)
    if (stored) log.info({ code: 'generated_data_key_present' }, 'a generated development data key is still in the database: it only decrypts older secrets')
    return createEncryption({ current: key, previous: stored ? [Buffer.from(stored.key, 'base64url')] : [] })
  }
  if (production) throw new Error('DATA_ENCRYPTION_KEY is required when NODE_ENV=production')
  // Instances that start together agree: the first insert wins, every one reads the winner.
  await db.insert(generatedDataKeyTable).values({ id: 1, key: randomBytes(32).toString('base64url'), created_at: clock.now() }).onConflictDoNothing()
  const [row] = await rawRows<{ key: string }>(db, sql`select key from ${generatedDataKeyTable} where id = 1`)
  if (!row) throw new Error('generated data key missing')
  log.warn({ code: 'data_key_generated' }, 'DATA_ENCRYPTION_KEY is not set: secrets at rest are encrypted with a key generated and kept in the database, which protects nothing; set DATA_ENCRYPTION_KEY (required in production)')
  return createEncryption({ current: Buffer.from(row.key, 'base64url') })
}

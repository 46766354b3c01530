import { createSecretKey } from 'node:crypto'
import { asc, eq, sql } from 'drizzle-orm'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK, type KeyObject } from 'jose'
import type { Db } from '../../core/db.js'
import type { Clock } from '../../core/clock.js'
import { LOCKS } from '../../core/locks.js'
import { DecryptionError, type Encryption } from '../../core/encryption.js'
import { signingKeysTable, type SigningKeyRow } from './signing-keys.table.js'

export type VerificationKey = CryptoKey | KeyObject | Uint8Array
type Key = VerificationKey

/** The public half of an Ed25519 key, as published. */
export interface PublicJwk { kty: string, crv: string, x: string, kid: string, alg: string, use: string }

/**
 * A key's place in its life (API.md "Signing keys"): `published` (in the JWKS, not yet signing) →
 * `signing` → `retired` (in the JWKS until every token it signed has expired) → removed (deleted);
 * `revoked` keys are withdrawn at once: out of the JWKS and refused.
 */
export type KeyState = 'published' | 'signing' | 'retired' | 'revoked'

export interface KeyInfo {
  kid: string
  state: KeyState
  created_at: Date
  signs_from: Date
  /** When a newer key took over (retired keys only). */
  retired_at: Date | null
  revoked_at: Date | null
}

/** The JWKS cache lifetime (max-age of /.well-known/jwks.json), in seconds. */
export const JWKS_MAX_AGE = 300
/** How often every instance re-reads the keys, and the least time between re-reads for an unknown kid (s). */
export const KEY_RELOAD_INTERVAL = 60
/**
 * A new key signs this long after it is published: the JWKS cache lifetime plus one reload interval,
 * so every instance serves it and every client cache has had time to fetch it.
 */
export const PUBLISH_LEAD = JWKS_MAX_AGE + KEY_RELOAD_INTERVAL
/** Slack on top of the access-token lifetime before a retired key is removed: clock tolerance + reload. */
const REMOVAL_SLACK = 30 + KEY_RELOAD_INTERVAL

const seconds = (date: Date, s: number) => new Date(date.getTime() + s * 1000)

// --- storage: the one place private keys are read and written ---------------------------------

/** The encryption context (additional authenticated data) of a key's private part: its kid. */
const contextOf = (kid: string) => `signing_key:${kid}`

/**
 * How a private JWK is kept in the `private_jwk` column: `{ "sealed": "<envelope>" }`, the JWK's JSON
 * encrypted with DATA_ENCRYPTION_KEY (AES-256-GCM envelope with the key id, src/core/encryption.ts;
 * ASVS v5.0.0 11.3.2), bound to the kid so a sealed value copied to another row does not open.
 */
function sealPrivateJwk (encryption: Encryption, kid: string, jwk: JWK): Record<string, string> {
  return { sealed: encryption.encrypt(JSON.stringify(jwk), contextOf(kid)) }
}
/** True when `stored` is a private JWK kept in plain text (rows written before encryption at rest). */
const isPlain = (stored: Record<string, string>) => typeof stored.sealed !== 'string'
/**
 * The private JWK of a row. A plain row (written before encryption at rest, or by an older instance
 * during a rolling update) is read as is; the next start seals it. Throws DecryptionError when the
 * sealed value was written under a key this process does not have, or was changed.
 */
function openPrivateJwk (encryption: Encryption, kid: string, stored: Record<string, string>): JWK {
  if (isPlain(stored)) return stored as unknown as JWK
  return JSON.parse(encryption.decrypt(stored.sealed ?? '', contextOf(kid)).toString('utf8')) as JWK
}

/** Generates an Ed25519 pair and stores it; returns its kid (the RFC 7638 thumbprint). */
async function insertKey (tx: Db, encryption: Encryption, createdAt: Date, signsFrom: Date): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
  const publicJwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(publicJwk)
  await tx.insert(signingKeysTable).values({
    kid,
    alg: 'EdDSA',
    public_jwk: { ...publicJwk, kid, alg: 'EdDSA', use: 'sig' } as unknown as Record<string, string>,
    private_jwk: sealPrivateJwk(encryption, kid, await exportJWK(privateKey)),
    created_at: createdAt,
    signs_from: signsFrom
  })
  return kid
}

/** A live signing key whose private part this process cannot decrypt (another DATA_ENCRYPTION_KEY). */
export class SigningKeyUnreadableError extends Error {
  override name = 'SigningKeyUnreadableError'
  constructor (kid: string) {
    super(`signing key ${kid} cannot be decrypted with DATA_ENCRYPTION_KEY: it was written under another data key, or changed. ` +
      'Start with the key it was written under, or withdraw it with `taskflow keys revoke ' + kid + '`')
  }
}

// --- states: a pure function of the rows and the time -----------------------------------------

/**
 * Every key's state at `now`. The signing key is the newest (by signs_from) unrevoked key whose
 * signs_from has come; a key stops signing when the next one starts, and stays published for
 * `accessTtl` + slack after that. Keys past that are `removable` (not returned in `infos`).
 */
export function keyStates (rows: readonly SigningKeyRow[], now: Date, accessTtl: number): { infos: KeyInfo[], signing: string | undefined, removable: string[] } {
  const active = rows.filter(r => r.revoked_at === null)
    .sort((a, b) => a.signs_from.getTime() - b.signs_from.getTime() || a.created_at.getTime() - b.created_at.getTime())
  const started = active.filter(r => r.signs_from.getTime() <= now.getTime())
  const signing = started.at(-1)?.kid
  const infos: KeyInfo[] = []
  const removable: string[] = []
  for (const row of rows) {
    const base = { kid: row.kid, created_at: row.created_at, signs_from: row.signs_from, retired_at: null, revoked_at: row.revoked_at }
    if (row.revoked_at !== null) {
      if (seconds(row.revoked_at, accessTtl + REMOVAL_SLACK) <= now) removable.push(row.kid)
      else infos.push({ ...base, state: 'revoked' })
    } else if (row.signs_from > now) {
      infos.push({ ...base, state: 'published' })
    } else if (row.kid === signing) {
      infos.push({ ...base, state: 'signing' })
    } else {
      const successor = started[started.indexOf(row) + 1]
      const retiredAt = successor?.signs_from ?? now
      if (seconds(retiredAt, accessTtl + REMOVAL_SLACK) <= now) removable.push(row.kid)
      else infos.push({ ...base, state: 'retired', retired_at: retiredAt })
    }
  }
  return { infos: infos.sort((a, b) => a.created_at.getTime() - b.created_at.getTime()), signing, removable }
}

// --- management: one change at a time across instances (advisory lock) -----------------------

export interface SigningKeysOptions {
  db: Db
  clock: Clock
  /** ACCESS_TOKEN_TTL in seconds: how long a retired key must stay published. */
  accessTtl: number
  /** JWT_KEY_ROTATION_DAYS (0 never). */
  rotationDays: number
  /** The DATA_ENCRYPTION_KEY service the private parts are sealed with (src/core/encryption.ts). */
  encryption: Encryption
}

/**
 * The EdDSA key set in the database: list, rotate, revoke, and `maintain` (first key, automatic
 * rotation, removal of expired keys). Every change runs under one advisory lock, so instances that
 * act at once make one change. Throws KeyNotFoundError from revoke for an unknown kid.
 */
export function createSigningKeys ({ db, clock, accessTtl, rotationDays, encryption }: SigningKeysOptions) {
  const locked = <T>(work: (tx: Db) => Promise<T>) => db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCKS.signingKeys})`)
    return work(tx)
  })
  const rowsOf = (tx: Db) => tx.select().from(signingKeysTable).orderBy(asc(signingKeysTable.created_at))

  /** What maintenance would do now; nothing to do is the common case and needs no lock. */
  function plan (rows: readonly SigningKeyRow[], now: Date) {
    const { signing, removable, infos } = keyStates(rows, now, accessTtl)
    const needsSigner = signing === undefined
    const current = rows.find(r => r.kid === signing)
    const hasNext = infos.some(i => i.state === 'published')
    const rotateAt = current && rotationDays > 0 ? seconds(current.signs_from, rotationDays * 86_400) : undefined
    const needsNext = !hasNext && rotateAt !== undefined && seconds(rotateAt, -PUBLISH_LEAD) <= now
    return { needsSigner, needsNext, rotateAt, removable }
  }

  return {
    async list (): Promise<KeyInfo[]> {
      return keyStates(await rowsOf(db), clock.now(), accessTtl).infos
    },

    /**
     * Brings the key set up to date: a key that signs at once when none can (first start, or every
     * key revoked), the next key published PUBLISH_LEAD before rotation is due, removable keys
     * deleted. Returns the rows afterwards.
     */
    async maintain (rows?: readonly SigningKeyRow[]): Promise<SigningKeyRow[]> {
      const before = rows ?? await rowsOf(db)
      const first = plan(before, clock.now())
      if (!first.needsSigner && !first.needsNext && first.removable.length === 0) return [...before]
      return locked(async (tx) => {
        const now = clock.now()
        const { needsSigner, needsNext, rotateAt, removable } = plan(await rowsOf(tx), now)
        if (needsSigner) await insertKey(tx, encryption, now, now)
        else if (needsNext && rotateAt) await insertKey(tx, encryption, now, new Date(Math.max(rotateAt.getTime(), seconds(now, PUBLISH_LEAD).getTime())))
        for (const kid of removable) await tx.delete(signingKeysTable).where(eq(signingKeysTable.kid, kid))
        return rowsOf(tx)
      })
    },

    /** Publishes a new key now; it signs once PUBLISH_LEAD has passed. Returns its kid. */
    async rotate (): Promise<{ kid: string, signs_from: Date }> {
      return locked(async (tx) => {
        const now = clock.now()
        const signsFrom = seconds(now, PUBLISH_LEAD)
        return { kid: await insertKey(tx, encryption, now, signsFrom), signs_from: signsFrom }
      })
    },

    /**
     * Withdraws a key: out of the JWKS, its tokens refused on every instance within
     * KEY_RELOAD_INTERVAL. When it was the signing key, a published key (or a new one) signs at once.
     */
    async revoke (kid: string): Promise<{ kid: string, signing: string }> {
      return locked(async (tx) => {
        const now = clock.now()
        const rows = await rowsOf(tx)
        const row = rows.find(r => r.kid === kid)
        if (!row) throw new KeyNotFoundError(kid)
        if (row.revoked_at === null) await tx.update(signingKeysTable).set({ revoked_at: now }).where(eq(signingKeysTable.kid, kid))
        const after = await rowsOf(tx)
        let { signing } = keyStates(after, now, accessTtl)
        if (signing === undefined) {
          const next = after.filter(r => r.revoked_at === null && r.signs_from > now).sort((a, b) => a.signs_from.getTime() - b.signs_from.getTime())[0]
          if (next) {
            await tx.update(signingKeysTable).set({ signs_from: now }).where(eq(signingKeysTable.kid, next.kid))
            signing = next.kid
          } else {
            signing = await insertKey(tx, encryption, now, now)
          }
        }
        return { kid, signing }
      })
    },

    rowsOf: () => rowsOf(db),

    /** The private key of a row, opened with the encryption service. Throws DecryptionError. */
    openPrivate: (row: SigningKeyRow): JWK => openPrivateJwk(encryption, row.kid, row.private_jwk),

    /**
     * Start-up step: seals every private part still kept in plain text, re-seals those written under
     * an older data key (still in the ring) with the current one, and checks that every unrevoked key
     * opens. Idempotent and safe when instances start together: the changes are made under the
     * signing-keys advisory lock on rows re-read inside it. Returns how many rows it sealed.
     * Throws SigningKeyUnreadableError for an unrevoked key this process cannot decrypt.
     */
    async sealStored (): Promise<number> {
      const check = (rows: readonly SigningKeyRow[]) => {
        for (const row of rows) {
          if (row.revoked_at !== null || isPlain(row.private_jwk)) continue
          try { openPrivateJwk(encryption, row.kid, row.private_jwk) } catch (err) {
            if (err instanceof DecryptionError) throw new SigningKeyUnreadableError(row.kid)
            throw err
          }
        }
      }
      const stale = (row: SigningKeyRow) => isPlain(row.private_jwk) || !encryption.isCurrent(row.private_jwk.sealed ?? '')
      const before = await rowsOf(db)
      check(before)
      if (!before.some(stale)) return 0
      return locked(async (tx) => {
        let sealed = 0
        for (const row of await rowsOf(tx)) {
          if (!stale(row)) continue
          let jwk: JWK
          try { jwk = openPrivateJwk(encryption, row.kid, row.private_jwk) } catch (err) {
            if (err instanceof DecryptionError && row.revoked_at !== null) continue // never used again
            throw err instanceof DecryptionError ? new SigningKeyUnreadableError(row.kid) : err
          }
          await tx.update(signingKeysTable).set({ private_jwk: sealPrivateJwk(encryption, row.kid, jwk) }).where(eq(signingKeysTable.kid, row.kid))
          sealed++
        }
        return sealed
      })
    }
  }
}
export type SigningKeys = ReturnType<typeof createSigningKeys>

export class KeyNotFoundError extends Error {
  override name = 'KeyNotFoundError'
  constructor (kid: string) { super(`no signing key with kid ${kid}`) }
}

// --- the key ring every instance signs and verifies with ----------------------------------------

/** What access tokens sign and verify with. Re-reads the keys as KEY_RELOAD_INTERVAL passes on `clock`. */
export interface KeyRing {
  readonly alg: 'EdDSA' | 'HS256'
  /**
   * The key new tokens are signed with. Never waits on the database (it may be called inside a
   * transaction): a stale key set is re-read in the background.
   */
  signing: () => Promise<{ kid: string, key: Key }>
  /**
   * The keys a token with this kid may verify against (HS256: the secret, then JWT_SECRET_PREVIOUS).
   * An unknown kid re-reads the keys first, at most once per KEY_RELOAD_INTERVAL. Empty: refuse.
   */
  verificationKeys: (kid: string) => Promise<Key[]>
  /** Whether tokens of this kid are still accepted (for already-verified tokens); re-reads when stale. */
  accepts: (kid: string) => Promise<boolean>
  /** Public keys for /.well-known/jwks.json (empty under HS256). */
  jwks: () => Promise<PublicJwk[]>
}

/** The HS256 secrets as secret KeyObjects: never a public key's bytes, so no key confusion. */
function hs256Ring (secret: string, previous: string | undefined): KeyRing {
  const key = createSecretKey(Buffer.from(secret, 'utf8'))
  const keys = previous ? [key, createSecretKey(Buffer.from(previous, 'utf8'))] : [key]
  return {
    alg: 'HS256',
    signing: async () => ({ kid: 'hs256', key }),
    verificationKeys: async (kid) => (kid === 'hs256' ? keys : []),
    accepts: async (kid) => kid === 'hs256',
    jwks: async () => []
  }
}

interface Loaded {
  /** The signing key and the published ones that follow it, by signs_from: a switch needs no read. */
  signers: Array<{ kid: string, from: number, key: Key }>
  verifying: Map<string, Key>
  jwks: PublicJwk[]
  at: number
}

/** The EdDSA ring: the database's keys, re-read every KEY_RELOAD_INTERVAL (each read also maintains them). */
async function eddsaRing (keys: SigningKeys, clock: Clock, accessTtl: number): Promise<KeyRing> {
  const imported = new Map<string, { public: Key, private?: Key }>()
  let unknownReloadAt = -Infinity

  async function read (): Promise<Loaded> {
    const rows = await keys.maintain()
    const now = clock.now()
    const { infos, signing } = keyStates(rows, now, accessTtl)
    const live = infos.filter(i => i.state !== 'revoked')
    const verifying = new Map<string, Key>()
    const jwks: PublicJwk[] = []
    for (const info of live) {
      const row = rows.find(r => r.kid === info.kid)
      if (!row) continue
      let entry = imported.get(row.kid)
      if (!entry) imported.set(row.kid, entry = { public: await importJWK(row.public_jwk, 'EdDSA') })
      verifying.set(row.kid, entry.public)
      const { kty = 'OKP', crv = 'Ed25519', x = '', kid = row.kid, alg = 'EdDSA', use = 'sig' } = row.public_jwk
      jwks.push({ kty, crv, x, kid, alg, use })
    }
    const signers: Loaded['signers'] = []
    for (const info of live.filter(i => i.kid === signing || i.state === 'published').sort((a, b) => a.signs_from.getTime() - b.signs_from.getTime())) {
      const row = rows.find(r => r.kid === info.kid)
      const entry = imported.get(info.kid)
      if (!row || !entry) continue
      entry.private ??= await importJWK(keys.openPrivate(row), 'EdDSA')
      signers.push({ kid: row.kid, from: row.signs_from.getTime(), key: entry.private })
    }
    if (signers.length === 0) throw new Error('no signing key')
    for (const kid of imported.keys()) if (!verifying.has(kid)) imported.delete(kid)
    return { signers, verifying, jwks, at: now.getTime() }
  }

  let current = await read()
  let reading: Promise<Loaded> | undefined
  const reload = async (): Promise<Loaded> => {
    reading ??= read().finally(() => { reading = undefined })
    current = await reading
    return current
  }
  /** The keys as of at most KEY_RELOAD_INTERVAL ago; the one request that finds them stale re-reads. */
  const fresh = async (): Promise<Loaded> => {
    if (clock.now().getTime() - current.at < KEY_RELOAD_INTERVAL * 1000) return current
    return reload()
  }

  return {
    alg: 'EdDSA',
    signing: async () => {
      const now = clock.now().getTime()
      if (now - current.at >= KEY_RELOAD_INTERVAL * 1000) reload().catch(() => {}) // the next request sees it; a failed read retries then
      // A published key takes over at its signs_from, between reads too.
      const signer = current.signers.findLast(s => s.from <= now) ?? current.signers[0]
      if (!signer) throw new Error('no signing key')
      return signer
    },
    verificationKeys: async (kid) => {
      let loaded = await fresh()
      let key = loaded.verifying.get(kid)
      if (!key && clock.now().getTime() - unknownReloadAt >= KEY_RELOAD_INTERVAL * 1000) {
        unknownReloadAt = clock.now().getTime()
        loaded = await reload()
        key = loaded.verifying.get(kid)
      }
      return key ? [key] : []
    },
    accepts: async (kid) => (await fresh()).verifying.has(kid),
    jwks: async () => (await fresh()).jwks
  }
}

export interface KeyRingOptions {
  db: Db
  clock: Clock
  alg: 'EdDSA' | 'HS256'
  secret: string | undefined
  previousSecret?: string | undefined
  accessTtl: number
  rotationDays: number
  /** Seals the EdDSA private keys at rest (DATA_ENCRYPTION_KEY). */
  encryption: Encryption
}

/**
 * Loads the configured algorithm's keys: HS256 from the configuration, EdDSA from the database (after
 * sealing any private part still in plain text). Throws SigningKeyUnreadableError at start-up when an
 * unrevoked key was sealed under a data key this process does not have.
 */
export async function loadKeyRing (options: KeyRingOptions): Promise<KeyRing> {
  if (options.alg === 'HS256') {
    if (!options.secret) throw new Error('JWT_SECRET is required for HS256')
    return hs256Ring(options.secret, options.previousSecret)
  }
  const keys = createSigningKeys({ db: options.db, clock: options.clock, accessTtl: options.accessTtl, rotationDays: options.rotationDays, encryption: options.encryption })
  await keys.sealStored()
  return eddsaRing(keys, options.clock, options.accessTtl)
}

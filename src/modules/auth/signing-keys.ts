import { createSecretKey } from 'node:crypto'
import { asc, sql } from 'drizzle-orm'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type KeyObject } from 'jose'
import type { Db } from '../../core/db.js'
import type { Clock } from '../../core/clock.js'
import { signingKeysTable } from './signing-keys.table.js'

type Key = CryptoKey | KeyObject | Uint8Array

/** The public half of an Ed25519 key, as published. */
export interface PublicJwk { kty: string, crv: string, x: string, kid: string, alg: string, use: string }

/** The keys access tokens are signed with and verified against, and the public JWKS (RFC 7517). */
export interface KeySet {
  readonly alg: 'EdDSA' | 'HS256'
  /** The key new tokens are signed with. */
  readonly signing: { readonly kid: string, readonly key: Key }
  /** Verification keys by kid: only our own, bound to the configured algorithm. */
  readonly verifying: ReadonlyMap<string, Key>
  /** Public keys for /.well-known/jwks.json (empty under HS256). */
  readonly jwks: PublicJwk[]
}

/** The HS256 secret as a secret KeyObject: never a public key's bytes, so no key confusion. */
function hs256KeySet (secret: string): KeySet {
  const key = createSecretKey(Buffer.from(secret, 'utf8'))
  return { alg: 'HS256', signing: { kid: 'hs256', key }, verifying: new Map([['hs256', key]]), jwks: [] }
}

/**
 * Loads the EdDSA keys from the database, creating the first pair if there is none. The table lock
 * makes instances that start together on one database agree on a single key.
 */
async function eddsaKeySet (db: Db, clock: Clock): Promise<KeySet> {
  const rows = await db.transaction(async (tx) => {
    await tx.execute(sql`lock table ${signingKeysTable} in exclusive mode`)
    const existing = await tx.select().from(signingKeysTable).orderBy(asc(signingKeysTable.created_at))
    if (existing.length > 0) return existing
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const publicJwk = await exportJWK(publicKey)
    const kid = await calculateJwkThumbprint(publicJwk)
    const row = {
      kid,
      alg: 'EdDSA',
      public_jwk: { ...publicJwk, kid, alg: 'EdDSA', use: 'sig' } as unknown as Record<string, string>,
      private_jwk: await exportJWK(privateKey) as unknown as Record<string, string>,
      created_at: clock.now()
    }
    await tx.insert(signingKeysTable).values(row)
    return [row]
  })
  const newest = rows.at(-1)
  if (!newest) throw new Error('no signing key')
  const verifying = new Map<string, Key>()
  for (const row of rows) verifying.set(row.kid, await importJWK(row.public_jwk, 'EdDSA'))
  return {
    alg: 'EdDSA',
    signing: { kid: newest.kid, key: await importJWK(newest.private_jwk, 'EdDSA') },
    verifying,
    jwks: rows.map(r => {
      const { kty = 'OKP', crv = 'Ed25519', x = '', kid = r.kid, alg = 'EdDSA', use = 'sig' } = r.public_jwk
      return { kty, crv, x, kid, alg, use }
    })
  }
}

/** Loads (or, on first start, creates) the EdDSA signing key from the database; with HS256, uses JWT_SECRET as the key. Throws when HS256 has no secret. */
export async function loadKeySet (options: { db: Db, clock: Clock, alg: 'EdDSA' | 'HS256', secret: string | undefined }): Promise<KeySet> {
  if (options.alg === 'HS256') {
    if (!options.secret) throw new Error('JWT_SECRET is required for HS256')
    return hs256KeySet(options.secret)
  }
  return eddsaKeySet(options.db, options.clock)
}

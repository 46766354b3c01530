import type { Redis } from 'ioredis'
import type { Scope } from '../../core/scopes.js'

/** What a request needs to know about a live personal access token, as the cache keeps it. */
export interface CachedToken {
  id: string
  user_id: string
  role: 'user' | 'admin'
  email: string
  scopes: Scope[]
  /** Epoch milliseconds: checked on every use, so a cached entry never outlives the token. */
  expires_at: number
}

/**
 * Mirrors the database's answer to "which live token has this hash?" so a request with a personal
 * access token costs one cache round trip, as one with an access token does (the session cache).
 * The database stays the source of truth: a miss (also after a Redis flush or restart) falls back to
 * it. Revocation writes a tombstone rather than deleting, and a live entry is only ever added if
 * absent, so a request racing a revocation can never re-validate a revoked token.
 */
export interface TokenCache {
  /** The live entry, false for a revoked (or unknown) token, undefined when not cached. */
  get: (hash: string) => Promise<CachedToken | false | undefined>
  /** Records a live token, unless anything (a tombstone) is there already. */
  addLive: (hash: string, entry: CachedToken, ttlSeconds: number) => Promise<void>
  /** Records revocations; a tombstone outlives every live entry. */
  markRevoked: (hashes: readonly string[], ttlSeconds: number) => Promise<void>
}

const key = (hash: string) => `auth:pat:${hash}`
const REVOKED = '0'

function parse (value: string): CachedToken | false {
  if (value === REVOKED) return false
  return JSON.parse(value) as CachedToken
}

export function createRedisTokenCache (redis: Redis): TokenCache {
  return {
    async get (hash) {
      const value = await redis.get(key(hash))
      return value === null ? undefined : parse(value)
    },
    async addLive (hash, entry, ttlSeconds) {
      await redis.set(key(hash), JSON.stringify(entry), 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX')
    },
    async markRevoked (hashes, ttlSeconds) {
      if (hashes.length === 0) return
      const multi = redis.multi()
      for (const hash of hashes) multi.set(key(hash), REVOKED, 'EX', Math.max(1, Math.ceil(ttlSeconds)))
      await multi.exec()
    }
  }
}

/** In-process implementation for a single instance (the embedded default). Bounded in size. */
export function createMemoryTokenCache (options: { maxEntries?: number, now?: () => number } = {}): TokenCache & { clear: () => void } {
  const maxEntries = options.maxEntries ?? 100_000
  const now = options.now ?? Date.now
  const entries = new Map<string, { value: CachedToken | false, expiresAt: number }>()
  const makeRoom = () => {
    if (entries.size < maxEntries) return
    // Drop a live or expired entry first: a live entry is only a copy of the database.
    for (const [hash, entry] of entries) {
      if (entry.value !== false || entry.expiresAt <= now()) { entries.delete(hash); return }
    }
    const first = entries.keys().next()
    if (!first.done) entries.delete(first.value)
  }
  return {
    async get (hash) {
      const entry = entries.get(hash)
      if (!entry) return undefined
      if (entry.expiresAt <= now()) { entries.delete(hash); return undefined }
      return entry.value
    },
    async addLive (hash, value, ttlSeconds) {
      const entry = entries.get(hash)
      if (entry && entry.expiresAt > now()) return
      makeRoom()
      entries.set(hash, { value, expiresAt: now() + ttlSeconds * 1000 })
    },
    async markRevoked (hashes, ttlSeconds) {
      for (const hash of hashes) {
        entries.delete(hash)
        makeRoom()
        entries.set(hash, { value: false, expiresAt: now() + ttlSeconds * 1000 })
      }
    },
    clear () { entries.clear() }
  }
}

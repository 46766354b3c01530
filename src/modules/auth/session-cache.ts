import type { Redis } from 'ioredis'

/**
 * Mirrors the database's answer to "is session `sid` live?" so an authenticated request costs at most
 * one cache round trip. The database stays the source of truth: a miss (also after a Redis flush or
 * restart) falls back to it. Revocation writes a tombstone rather than deleting, and a live entry is
 * only ever added if absent, so a request racing a revocation can never re-validate a revoked session.
 */
export interface SessionCache {
  /** true = live, false = revoked, undefined = not cached. */
  get: (sid: string) => Promise<boolean | undefined>
  /** Records a live session, unless anything (a tombstone) is there already. */
  addLive: (sid: string, ttlSeconds: number) => Promise<void>
  /** Records revocations; they outlive every access token of those sessions. */
  markRevoked: (sids: readonly string[], ttlSeconds: number) => Promise<void>
  ping: () => Promise<void>
}

const key = (sid: string) => `auth:session:${sid}`

/** The shared cache: keys `<prefix>auth:session:<sid>`, live entries set only if absent, tombstones on revocation. */
export function createRedisSessionCache (redis: Redis): SessionCache {
  return {
    async get (sid) {
      const v = await redis.get(key(sid))
      return v === null ? undefined : v === '1'
    },
    async addLive (sid, ttlSeconds) {
      await redis.set(key(sid), '1', 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX')
    },
    async markRevoked (sids, ttlSeconds) {
      if (sids.length === 0) return
      const multi = redis.multi()
      for (const sid of sids) multi.set(key(sid), '0', 'EX', Math.max(1, Math.ceil(ttlSeconds)))
      await multi.exec()
    },
    async ping () { await redis.ping() }
  }
}

/** In-process implementation for a single instance (the embedded default). Bounded in size. */
export function createMemorySessionCache (options: { maxEntries?: number, now?: () => number } = {}): SessionCache & { clear: () => void } {
  const maxEntries = options.maxEntries ?? 100_000
  const now = options.now ?? Date.now
  const entries = new Map<string, { live: boolean, expiresAt: number }>()
  const evictIfFull = () => {
    if (entries.size < maxEntries) return
    // Drop the oldest live entry: a live entry is only a cache of the database; a tombstone is too, but cheaper to keep.
    for (const [sid, entry] of entries) {
      if (entry.live || entry.expiresAt <= now()) { entries.delete(sid); return }
    }
    const first = entries.keys().next()
    if (!first.done) entries.delete(first.value)
  }
  return {
    async get (sid) {
      const entry = entries.get(sid)
      if (!entry) return undefined
      if (entry.expiresAt <= now()) { entries.delete(sid); return undefined }
      return entry.live
    },
    async addLive (sid, ttlSeconds) {
      const entry = entries.get(sid)
      if (entry && entry.expiresAt > now()) return
      evictIfFull()
      entries.set(sid, { live: true, expiresAt: now() + ttlSeconds * 1000 })
    },
    async markRevoked (sids, ttlSeconds) {
      for (const sid of sids) {
        entries.delete(sid)
        evictIfFull()
        entries.set(sid, { live: false, expiresAt: now() + ttlSeconds * 1000 })
      }
    },
    async ping () {},
    clear () { entries.clear() }
  }
}

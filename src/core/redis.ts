import { Redis } from 'ioredis'

/** `url` as REDIS_URL (redis://[:password@]host:port/db); `prefix` is prepended to every key (e.g. `tf:`). */
export interface RedisOptions { url: string, prefix: string }

/**
 * A Redis client that fails fast while Redis is down (no offline queue, one retry), so callers can
 * fall back to the database instead of piling up requests. Keys are namespaced by `prefix`.
 */
export function createRedis ({ url, prefix }: RedisOptions): Redis {
  const redis = new Redis(url, {
    keyPrefix: prefix,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 1000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    // Commands issued in the same event-loop turn (concurrent requests' session checks) go out in one
    // write: a socket write per command was ~10% of an authenticated read's CPU.
    enableAutoPipelining: true
  })
  // Connection errors are reported by the commands that fail; an unhandled 'error' event would crash the process.
  redis.on('error', () => {})
  return redis
}

/** Redis at REDIS_URL did not answer at start-up; the message names the address, never the password. */
export class RedisUnreachableError extends Error {}

/** `url` with any password replaced by `****`, for messages and logs; the raw text if it is not a URL. */
export function maskRedisUrl (url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '****'
    return parsed.toString()
  } catch {
    return '(REDIS_URL, not a valid URL)'
  }
}

/**
 * Connects (lazy clients) and waits until Redis answers. Throws RedisUnreachableError naming the
 * address (password masked) and the socket's own reason (e.g. `connect ECONNREFUSED 127.0.0.1:6379`)
 * rather than ioredis's bare "Connection is closed."
 */
export async function connectRedis (redis: Redis, url: string): Promise<void> {
  let lastError: Error | undefined
  const remember = (err: Error) => { lastError = err }
  redis.on('error', remember)
  try {
    if (redis.status === 'wait') await redis.connect()
    await redis.ping()
  } catch (err) {
    const reason = lastError?.message ?? (err instanceof Error ? err.message : String(err))
    throw new RedisUnreachableError(`Redis at ${maskRedisUrl(url)} cannot be reached (${reason}); check REDIS_URL and that Redis is running`, { cause: err })
  } finally {
    redis.off('error', remember)
  }
}

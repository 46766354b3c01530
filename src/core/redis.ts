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

/** Connects (lazy clients) and waits until Redis answers; throws if it cannot be reached. */
export async function connectRedis (redis: Redis): Promise<void> {
  if (redis.status === 'wait') await redis.connect()
  await redis.ping()
}

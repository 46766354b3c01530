import { readFile } from 'node:fs/promises'
import { after, type TestContext } from 'node:test'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Redis } from 'ioredis'
import pg from 'pg'
import { buildApp } from '../src/app.js'
import { loadConfig, type Config } from '../src/config.js'
import { manualClock, type ManualClock } from '../src/core/clock.js'
import { createDb, type Database } from '../src/core/db.js'
import { runMigrations } from '../src/core/migrate.js'
import { createRedis } from '../src/core/redis.js'
import { createMemorySessionCache, createRedisSessionCache, type SessionCache } from '../src/modules/auth/index.js'
import { createMemoryTokenCache, createRedisTokenCache, type TokenCache } from '../src/modules/tokens/index.js'
import { makeFactories, type Factories } from './factories.js'
import { testEnv } from './test-env.js'

interface SharedStorage {
  database: Database
  redis: Redis | undefined
  /** This process's own PostgreSQL database (services run only), e.g. for a CLI child process. */
  databaseUrl: string | undefined
}
let shared: Promise<SharedStorage> | undefined
let dropDatabase: (() => Promise<void>) | undefined

// Registered at import time, so it belongs to the file's root: closes the shared storage once all tests ran.
after(async () => {
  if (!shared) return
  const { database, redis } = await shared
  redis?.disconnect()
  await database.close()
  await dropDatabase?.()
})

async function createOwnDatabase (adminUrl: string): Promise<string> {
  const name = `${testEnv.databasePrefix}_${process.pid}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
  dropDatabase = async () => {
    const client = new pg.Client({ connectionString: adminUrl })
    await client.connect()
    try { await client.query(`drop database if exists ${name} with (force)`) } finally { await client.end() }
  }
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/** One database (and Redis client) per test process: PGlite boots in seconds, so tests isolate by data. */
export function sharedStorage (): Promise<SharedStorage> {
  shared ??= (async () => {
    const databaseUrl = testEnv.adminDatabaseUrl ? await createOwnDatabase(testEnv.adminDatabaseUrl) : undefined
    const snapshot = !databaseUrl && testEnv.pgliteSnapshot ? new Blob([await readFile(testEnv.pgliteSnapshot)]) : undefined
    const database = await createDb({ url: databaseUrl, loadDataDir: snapshot, poolSize: 10 })
    await runMigrations(database)
    const redis = testEnv.redisUrl ? createRedis({ url: testEnv.redisUrl, prefix: testEnv.redisPrefix }) : undefined
    if (redis) await redis.connect()
    return { database, redis, databaseUrl }
  })()
  return shared
}

export interface TestApp {
  app: FastifyInstance
  config: Config
  clock: ManualClock
  database: Database
  redis: Redis | undefined
  sessionCache: SessionCache
  tokenCache: TokenCache
  /** Empties the session and token caches as a Redis FLUSHALL or restart would (only this run's keys). */
  flushCache: () => Promise<void>
  make: Factories
}

const memoryCaches = new WeakMap<TestApp, { sessions: ReturnType<typeof createMemorySessionCache>, tokens: ReturnType<typeof createMemoryTokenCache> }>()

/**
 * Builds a fresh app over the shared storage, with a manual clock; closed when the test ends. With
 * `sameCacheAs`, a second instance: on the embedded path it shares that app's in-process caches (as
 * instances share Redis), on the services path both use this run's Redis anyway.
 */
export async function buildTestApp (t: Pick<TestContext, 'after'>, env: Record<string, string> = {}, options: { logStream?: NodeJS.WritableStream, sameCacheAs?: TestApp } = {}): Promise<TestApp> {
  const { database, redis } = await sharedStorage()
  const config = loadConfig({ LOG_LEVEL: 'silent', PUBLIC_URL: 'http://127.0.0.1:3000', RATE_LIMIT_ENABLED: 'false', METRICS_DEFAULT: 'false', MAX_EVENT_LOOP_DELAY_MS: '0', ...env })
  const clock = manualClock(new Date())
  const shared = options.sameCacheAs ? memoryCaches.get(options.sameCacheAs) : undefined
  const memory = shared?.sessions ?? createMemorySessionCache()
  const tokenMemory = shared?.tokens ?? createMemoryTokenCache()
  const sessionCache = redis ? createRedisSessionCache(redis) : memory
  const tokenCache = redis ? createRedisTokenCache(redis) : tokenMemory
  const { logStream } = options
  const app = await buildApp({ config, database, redis, clock, sessionCache, tokenCache, logger: logStream !== undefined, jobs: false, ...(logStream ? { logStream } : {}) })
  t.after(() => app.close())
  const flushCache = async () => {
    if (!redis) { memory.clear(); tokenMemory.clear(); return }
    // A FLUSHALL would wipe other runs' data too: delete exactly this run's keys instead.
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${testEnv.redisPrefix}*`, 'COUNT', 500)
      cursor = next
      if (keys.length) await redis.del(...keys.map(k => k.slice(testEnv.redisPrefix.length)))
    } while (cursor !== '0')
  }
  const testApp = { app, config, clock, database, redis, sessionCache, tokenCache, flushCache, make: makeFactories(app, database) }
  memoryCaches.set(testApp, { sessions: memory, tokens: tokenMemory })
  return testApp
}

export const json = (res: LightMyRequestResponse): Record<string, unknown> => res.json<Record<string, unknown>>()

/**
 * One app for a whole `describe` (building an app compiles every schema: seconds on a loaded machine).
 * Call `start()` in `before()`; the app is closed in the suite's `after()`. Tests still own their data.
 */
export function suiteApp (env: Record<string, string> = {}): { start: () => Promise<TestApp>, app: () => TestApp } {
  let built: TestApp | undefined
  const cleanups: Array<() => unknown> = []
  after(async () => { for (const cleanup of cleanups) await cleanup() })
  return {
    start: async () => (built = await buildTestApp({ after: (fn: () => unknown) => { cleanups.push(fn) } } as Pick<TestContext, 'after'>, env)),
    app: () => { if (!built) throw new Error('suiteApp: call start() in before()'); return built }
  }
}

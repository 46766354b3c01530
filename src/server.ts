import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { buildApp } from './app.js'
import type { Config } from './config.js'
import { systemClock } from './core/clock.js'
import { createDb, type Database } from './core/db.js'
import { runMigrations } from './core/migrate.js'
import { connectRedis, createRedis } from './core/redis.js'

/** A listening server; `close()` drains requests, then closes Redis and the database. */
export interface RunningServer { app: FastifyInstance, close: () => Promise<void> }

/** Opens the database (migrating it) and Redis, builds the app and listens. Closing drains in-flight requests. */
export async function startServer (config: Config): Promise<RunningServer> {
  const database: Database = await createDb({ url: config.db.url, dataDir: config.db.dataDir })
  let redis: Redis | undefined
  try {
    await runMigrations(database)
    if (config.redis.url) {
      redis = createRedis({ url: config.redis.url, prefix: config.redis.prefix })
      await connectRedis(redis)
    }
    const app = await buildApp({ config, database, redis, clock: systemClock })
    await app.listen({ host: config.http.host, port: config.http.port })
    let closing: Promise<void> | undefined
    const close = () => {
      closing ??= (async () => {
        // app.close() stops accepting connections and waits for in-flight requests to finish.
        await app.close()
        redis?.disconnect()
        await database.close()
      })()
      return closing
    }
    return { app, close }
  } catch (err) {
    redis?.disconnect()
    await database.close()
    throw err
  }
}

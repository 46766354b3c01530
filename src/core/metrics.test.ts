import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTestApp, sharedStorage } from '../../test/build-test-app.js'
import { storageLabel, testEnv } from '../../test/test-env.js'
import { buildApp } from '../app.js'
import { loadConfig } from '../config.js'
import { systemClock } from './clock.js'
import { createRedis } from './redis.js'
import { createMetrics } from './metrics.js'
import { createPasswordHasher } from '../modules/auth/index.js'

/** The value of one series in Prometheus text, or undefined when it is absent. */
function sample (text: string, series: string): number | undefined {
  const line = text.split('\n').find(l => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('operator metrics (issue 16)', () => {
  it('when hashes queue behind a busy hasher, then password_hash_queue_depth shows them running and waiting, and 0 once done', async (t) => {
    const hasher = await createPasswordHasher({ concurrency: 1, queueLimit: 4 })
    t.after(() => hasher.close())
    const metrics = createMetrics({ defaultMetrics: false })
    metrics.watchHashQueue(hasher.depth)

    const jobs = ['violet orbit canyon', 'amber tidal marsh', 'quiet linen harbour'].map(p => hasher.hash(p))
    const during = await metrics.registry.metrics()
    await Promise.all(jobs)
    const after = await metrics.registry.metrics()

    assert.equal(sample(during, 'password_hash_queue_depth{state="running"}'), 1)
    assert.equal(sample(during, 'password_hash_queue_depth{state="waiting"}'), 2)
    assert.equal(sample(after, 'password_hash_queue_depth{state="running"}'), 0)
    assert.equal(sample(after, 'password_hash_queue_depth{state="waiting"}'), 0)
  })
})

describe(`operator metrics over HTTP [${storageLabel}]`, () => {
  it('when a spent refresh token is presented again, then auth_token_reuse_detected_total counts it (and a normal rotation does not)', async (t) => {
    const { app, make, clock } = await buildTestApp(t)
    const user = await make.user()
    const scrape = async () => (await app.inject({ method: 'GET', url: '/metrics' })).body

    const rotated = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.tokens.refresh_token } })
    assert.equal(rotated.statusCode, 200)
    assert.equal(sample(await scrape(), 'auth_token_reuse_detected_total'), 0)
    clock.advance(120) // past any reuse grace window for concurrent tabs
    const replay = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.tokens.refresh_token } })

    assert.equal(replay.statusCode, 401)
    assert.equal(sample(await scrape(), 'auth_token_reuse_detected_total'), 1)
  })

  it('when scraped, then the hash queue and every readiness probe are reported', async (t) => {
    const { app, redis } = await buildTestApp(t)
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
    assert.equal(sample(text, 'password_hash_queue_depth{state="running"}'), 0)
    assert.equal(sample(text, 'password_hash_queue_depth{state="waiting"}'), 0)
    assert.equal(sample(text, 'readiness_check_ok{check="database"}'), 1)
    assert.equal(sample(text, 'readiness_check_ok{check="redis"}'), redis ? 1 : undefined)
  })

  it('when Redis cannot be reached, then readiness_check_ok{check="redis"} is 0 while the database stays 1', async (t) => {
    const { database } = await sharedStorage()
    const redis = createRedis({ url: 'redis://127.0.0.1:1', prefix: testEnv.redisPrefix })
    t.after(() => redis.disconnect())
    const config = loadConfig({ LOG_LEVEL: 'silent', METRICS_DEFAULT: 'false', MAX_EVENT_LOOP_DELAY_MS: '0', REDIS_URL: 'redis://127.0.0.1:1' })
    const app = await buildApp({ config, database, redis, clock: systemClock, logger: false })
    t.after(() => app.close())

    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body

    assert.equal(sample(text, 'readiness_check_ok{check="redis"}'), 0)
    assert.equal(sample(text, 'readiness_check_ok{check="database"}'), 1)
  })
})

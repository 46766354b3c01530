import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { systemClock } from '../../src/core/clock.js'
import { createDb } from '../../src/core/db.js'
import { createRedis } from '../../src/core/redis.js'
import { sharedStorage } from '../build-test-app.js'
import { DEFAULT_PASSWORD, makeFactories } from '../factories.js'
import { startTcpProxy } from '../tcp-proxy.js'
import { servicesRun, storageLabel, testEnv } from '../test-env.js'

const silent = { LOG_LEVEL: 'silent', METRICS_DEFAULT: 'false', MAX_EVENT_LOOP_DELAY_MS: '0' }

describe(`resilience [${storageLabel}]`, () => {
  it('when Redis cannot be reached at all, then the service answers: sessions checked in the database, limits enforced per instance, /readyz names redis', async (t) => {
    const { database } = await sharedStorage()
    const redis = createRedis({ url: 'redis://127.0.0.1:1', prefix: testEnv.redisPrefix })
    t.after(() => redis.disconnect())
    const app = await buildApp({ config: loadConfig({ ...silent, REDIS_URL: 'redis://127.0.0.1:1' }), database, redis, clock: systemClock, logger: false })
    t.after(() => app.close())
    const make = makeFactories(app, database)
    const user = await make.user()
    assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token) })).statusCode, 200)
    assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: make.bearer(user.tokens.access_token) })).statusCode, 204)
    assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token) })).statusCode, 401, 'revocation still enforced')
    const codes = []
    for (let i = 0; i < 6; i++) codes.push((await app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: '10.9.9.9', payload: { email: user.email, password: 'wrong password here' } })).statusCode)
    assert.deepEqual(codes, [401, 401, 401, 401, 401, 429], 'limits fail safe: in-memory insurance')
    const ready = await app.inject({ method: 'GET', url: '/readyz' })
    assert.equal(ready.statusCode, 503)
    assert.equal(ready.json().checks.redis, 'unavailable')
    assert.equal(ready.json().checks.database, 'ok')
  })

  if (servicesRun) {
    it('when Redis stops mid-run and comes back with its old data, then a logout made meanwhile still holds', async (t) => {
      const { database } = await sharedStorage()
      const proxy = await startTcpProxy(Number(new URL(testEnv.redisUrl ?? '').port || 6379))
      t.after(() => proxy.stop())
      const url = `redis://127.0.0.1:${proxy.port}`
      const redis = createRedis({ url, prefix: testEnv.redisPrefix })
      t.after(() => redis.disconnect())
      await redis.connect()
      const app = await buildApp({ config: loadConfig({ ...silent, REDIS_URL: url }), database, redis, clock: systemClock, logger: false })
      t.after(() => app.close())
      const make = makeFactories(app, database)
      const user = await make.user()
      const me = () => app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token) })
      assert.equal((await me()).statusCode, 200, 'the session is now cached as live in Redis')
      await proxy.stop()
      assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: make.bearer(user.tokens.access_token) })).statusCode, 204)
      assert.equal((await me()).statusCode, 401)
      await proxy.start()
      for (let i = 0; i < 100 && redis.status !== 'ready'; i++) await new Promise(resolve => setTimeout(resolve, 100))
      await new Promise(resolve => setTimeout(resolve, 1500)) // the undelivered revocation is retried every second
      assert.equal((await me()).statusCode, 401, 'still refused once Redis is back')
      assert.equal(await redis.get(`auth:session:${JSON.parse(Buffer.from(user.tokens.access_token.split('.')[1] ?? '', 'base64url').toString()).sid}`), '0', 'the tombstone reached Redis')
    })

    it('when PostgreSQL goes away and comes back, then requests get 503 meanwhile and recover without a restart', async (t) => {
      const { databaseUrl } = await sharedStorage()
      const target = new URL(databaseUrl ?? '')
      const proxy = await startTcpProxy(Number(target.port || 5432))
      t.after(() => proxy.stop())
      target.port = String(proxy.port)
      const database = await createDb({ url: target.toString(), poolSize: 4 })
      t.after(() => database.close())
      const app = await buildApp({ config: loadConfig(silent), database, clock: systemClock, logger: false })
      t.after(() => app.close())
      const make = makeFactories(app, database)
      const user = await make.user()
      await proxy.stop()
      const down = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: DEFAULT_PASSWORD } })
      assert.equal(down.statusCode, 503, down.body)
      assert.match(String(down.headers['content-type']), /^application\/problem\+json/)
      assert.doesNotMatch(down.body, /ECONN|stack/)
      assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503)
      await proxy.start()
      const up = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: DEFAULT_PASSWORD } })
      assert.equal(up.statusCode, 200, up.body)
      assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
    })
  }
})

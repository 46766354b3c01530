import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, it } from 'node:test'
import { sharedStorage } from '../../../test/build-test-app.js'
import { createMemorySessionCache, createRedisSessionCache, type SessionCache } from './session-cache.js'

async function contract (name: string, make: () => Promise<SessionCache>) {
  describe(`session cache contract: ${name}`, () => {
    it('when nothing is cached, then get is undefined', async () => {
      const cache = await make()
      assert.equal(await cache.get(randomUUID()), undefined)
    })

    it('when a live entry is added, then it reads as live', async () => {
      const cache = await make()
      const sid = randomUUID()
      await cache.addLive(sid, 60)
      assert.equal(await cache.get(sid), true)
    })

    it('when revoked, then it reads as revoked and a later addLive cannot overwrite the tombstone', async () => {
      const cache = await make()
      const sid = randomUUID()
      await cache.addLive(sid, 60)
      await cache.markRevoked([sid], 60)
      assert.equal(await cache.get(sid), false)
      await cache.addLive(sid, 60)
      assert.equal(await cache.get(sid), false)
    })
  })
}

await contract('memory', async () => createMemorySessionCache())
if (process.env.TEST_REDIS_URL) {
  await contract('redis', async () => {
    const { redis } = await sharedStorage()
    if (!redis) throw new Error('redis expected')
    return createRedisSessionCache(redis)
  })
}

describe('memory session cache', () => {
  it('when entries expire, then they read as absent', async () => {
    let now = 0
    const cache = createMemorySessionCache({ now: () => now })
    await cache.addLive('a', 10)
    now = 11_000
    assert.equal(await cache.get('a'), undefined)
  })

  it('when full, then it stays within its bound', async () => {
    const cache = createMemorySessionCache({ maxEntries: 3 })
    for (const sid of ['a', 'b', 'c', 'd', 'e']) await cache.addLive(sid, 60)
    const present = await Promise.all(['a', 'b', 'c', 'd', 'e'].map(s => cache.get(s)))
    assert.equal(present.filter(v => v !== undefined).length, 3)
    assert.equal(await cache.get('e'), true)
  })
})

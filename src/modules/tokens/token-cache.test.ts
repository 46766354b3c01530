import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, it } from 'node:test'
import { sharedStorage } from '../../../test/build-test-app.js'
import { createMemoryTokenCache, createRedisTokenCache, type CachedToken, type TokenCache } from './token-cache.js'

const entry = (): CachedToken => ({ id: randomUUID(), user_id: randomUUID(), role: 'user', email: 'a@example.test', scopes: ['tasks:read'], expires_at: 1_900_000_000_000 })

async function contract (name: string, make: () => Promise<TokenCache>) {
  describe(`token cache contract: ${name}`, () => {
    it('when nothing is cached, then get is undefined', async () => {
      assert.equal(await (await make()).get(randomUUID()), undefined)
    })

    it('when a live entry is added, then it reads back whole', async () => {
      const cache = await make()
      const hash = randomUUID()
      const live = entry()
      await cache.addLive(hash, live, 60)
      assert.deepEqual(await cache.get(hash), live)
    })

    it('when revoked, then it reads as revoked and a later addLive (a request racing the revocation) cannot overwrite the tombstone', async () => {
      const cache = await make()
      const [hash, other] = [randomUUID(), randomUUID()]
      await cache.addLive(hash, entry(), 60)
      await cache.markRevoked([hash, other], 60)
      assert.equal(await cache.get(hash), false)
      assert.equal(await cache.get(other), false)
      await cache.addLive(hash, entry(), 60)
      assert.equal(await cache.get(hash), false)
      await cache.markRevoked([], 60)
    })
  })
}

await contract('memory', async () => createMemoryTokenCache())
if (process.env.TEST_REDIS_URL) {
  await contract('redis', async () => {
    const { redis } = await sharedStorage()
    if (!redis) throw new Error('redis expected')
    return createRedisTokenCache(redis)
  })
}

describe('memory token cache', () => {
  it('when entries expire, then they read as absent and may be added again', async () => {
    let now = 0
    const cache = createMemoryTokenCache({ now: () => now })
    await cache.addLive('a', entry(), 10)
    await cache.markRevoked(['b'], 10)
    now = 11_000
    assert.equal(await cache.get('a'), undefined)
    assert.equal(await cache.get('b'), undefined)
    await cache.addLive('b', entry(), 10)
    assert.ok(await cache.get('b'))
  })

  it('when full, then it stays within its bound, dropping live entries before tombstones', async () => {
    const cache = createMemoryTokenCache({ maxEntries: 3 })
    await cache.markRevoked(['t1', 't2'], 60)
    for (const hash of ['a', 'b', 'c']) await cache.addLive(hash, entry(), 60)
    assert.equal(await cache.get('t1'), false)
    assert.equal(await cache.get('t2'), false)
    assert.ok(await cache.get('c'))
    await cache.markRevoked(['t3', 't4'], 60)
    const kept = await Promise.all(['t1', 't2', 't3', 't4', 'c'].map(h => cache.get(h)))
    assert.equal(kept.filter(v => v !== undefined).length, 3)
    assert.equal(await cache.get('t4'), false)
  })
})

import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import Type from 'typebox'
import { buildTestApp } from '../../test/build-test-app.js'
import { storageLabel } from '../../test/test-env.js'
import { AppError } from './errors.js'
import { createIdempotencyStore } from './idempotency.js'

/** Any POST can opt in: a route of its own, whose handler the test holds and fails at will. */
async function appWithEchoRoute (t: TestContext) {
  const setup = await buildTestApp(t)
  const user = await setup.make.user()
  const { app } = await buildTestApp(t)
  let calls = 0
  let hold: Promise<void> = Promise.resolve()
  let entered: () => void = () => {}
  app.post('/v1/echo', {
    config: { idempotency: true },
    onRequest: async (req) => { req.principal = { userId: user.id, sessionId: user.id, role: 'user', email: user.email } },
    schema: { body: Type.Object({ n: Type.Integer() }, { additionalProperties: false }) }
  }, async (req, reply) => {
    calls++
    entered()
    await hold
    const { n } = req.body as { n: number }
    if (n === 409) throw new AppError('last_admin', { detail: 'a 4xx from the handler' })
    if (n === 500) throw new Error('boom')
    return reply.code(201).header('location', `/v1/echo/${calls}`).send({ n, call: calls })
  })
  const send = (n: number, key: string | null = 'k') => app.inject({ method: 'POST', url: '/v1/echo', headers: key === null ? {} : { 'idempotency-key': key }, payload: { n } })
  return {
    send,
    calls: () => calls,
    /** The next request waits inside the handler until `release` is called; `inside` resolves once it is there. */
    holdNext () {
      let release!: () => void
      hold = new Promise(resolve => { release = resolve })
      const inside = new Promise<void>(resolve => { entered = resolve })
      return { inside, release }
    }
  }
}

describe(`idempotency route option [${storageLabel}]`, () => {
  it('when a second request with the key arrives while the first runs, then 409 idempotency_key_in_progress; once done, replays', async (t) => {
    const echo = await appWithEchoRoute(t)
    const { inside, release } = echo.holdNext()
    const first = echo.send(1)
    await inside
    const during = await echo.send(1)
    assert.equal(during.statusCode, 409)
    assert.equal(during.json().code, 'idempotency_key_in_progress')
    release()
    const done = await first
    assert.equal(done.statusCode, 201)
    const replay = await echo.send(1)
    assert.equal(replay.headers['idempotent-replayed'], 'true')
    assert.equal(replay.body, done.body)
    assert.equal(replay.headers.location, '/v1/echo/1')
    assert.equal(echo.calls(), 1)
  })

  it('when the handler fails with a 4xx or a 5xx, then the key is left unused and the next request runs again', async (t) => {
    const echo = await appWithEchoRoute(t)
    assert.equal((await echo.send(409, 'a')).statusCode, 409)
    assert.equal((await echo.send(409, 'a')).statusCode, 409)
    assert.equal(echo.calls(), 2, 'the failure was not kept and replayed')
    assert.equal((await echo.send(500, 'b')).statusCode, 500)
    const ok = await echo.send(2, 'b')
    assert.equal(ok.statusCode, 201)
    assert.equal(ok.headers['idempotent-replayed'], undefined)
    assert.equal(echo.calls(), 4)
  })

  it('when no key is sent, then every request runs', async (t) => {
    const echo = await appWithEchoRoute(t)
    const send = () => echo.send(3, null).then(r => r.statusCode)
    const noKey = await Promise.all([send(), send()])
    assert.deepEqual(noKey, [201, 201])
    assert.equal(echo.calls(), 2)
  })

  it('when keys are older than 24 hours, then the clean-up removes them and only them', async (t) => {
    const { make, database, clock } = await buildTestApp(t)
    const user = await make.user()
    const store = createIdempotencyStore({ db: database.db, clock })
    assert.deepEqual(await store.take(user.id, 'old', 'f'), { taken: true })
    await store.complete(user.id, 'old', { status: 201, headers: {}, body: '{}' })
    clock.advance(3600)
    assert.deepEqual(await store.take(user.id, 'new', 'f'), { taken: true })
    await store.complete(user.id, 'new', { status: 201, headers: {}, body: '{}' })
    clock.advance(23 * 3600)
    assert.ok(await store.purgeExpired() >= 1)
    const again = await store.take(user.id, 'new', 'f')
    assert.equal(again.taken, false, 'the younger key is kept')
    assert.deepEqual(await store.take(user.id, 'old', 'f'), { taken: true }, 'the old one is gone')
  })
})

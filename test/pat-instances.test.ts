import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTestApp } from './build-test-app.js'
import { storageLabel } from './test-env.js'

/**
 * Two app instances over one database and one cache (Redis on the services run; on the embedded run
 * they share the in-process caches, standing in for it). Personal access tokens and idempotency keys
 * must behave as one service.
 */
describe(`personal access tokens across two instances [${storageLabel}]`, () => {
  it('when a token is made on A, then B accepts it; revoked on B, then A refuses it at once, also after a cache flush', async (t) => {
    const a = await buildTestApp(t)
    const b = await buildTestApp(t, {}, { sameCacheAs: a })
    const user = await a.make.user()
    const pat = await a.make.pat(user, ['profile:read', 'tasks:read'])
    const me = (app: typeof a.app) => app.inject({ method: 'GET', url: '/v1/users/me', headers: { authorization: `Bearer ${pat.token}` } })
    assert.equal((await me(b.app)).statusCode, 200, 'made on A, used on B')
    assert.equal((await me(a.app)).statusCode, 200, 'A has it cached as live')

    const login = await b.make.login({ email: user.email }, user.password)
    const revoke = await b.app.inject({ method: 'DELETE', url: `/v1/users/me/tokens/${pat.id}`, headers: { authorization: `Bearer ${login.access_token}` } })
    assert.equal(revoke.statusCode, 204)
    assert.equal((await me(a.app)).statusCode, 401, 'revoked on B, refused on A')
    assert.equal((await me(b.app)).statusCode, 401)
    await a.flushCache()
    assert.equal((await me(a.app)).statusCode, 401, 'a flushed cache does not revive it on A')
    assert.equal((await me(b.app)).statusCode, 401, 'nor on B')
  })

  it('when an admin on B deactivates the owner, then the token is refused on A', async (t) => {
    const a = await buildTestApp(t)
    const b = await buildTestApp(t, {}, { sameCacheAs: a })
    const user = await a.make.user()
    const admin = await b.make.admin()
    const pat = await a.make.pat(user, ['tasks:read'])
    const list = () => a.app.inject({ method: 'GET', url: '/v1/tasks', headers: { authorization: `Bearer ${pat.token}` } })
    assert.equal((await list()).statusCode, 200)
    assert.equal((await b.app.inject({ method: 'PATCH', url: `/v1/admin/users/${user.id}`, headers: { authorization: `Bearer ${admin.tokens.access_token}` }, payload: { is_active: false } })).statusCode, 200)
    assert.equal((await list()).statusCode, 401)
  })

  it('when the same Idempotency-Key reaches both instances at once, then one task is created', async (t) => {
    const a = await buildTestApp(t)
    const b = await buildTestApp(t, {}, { sameCacheAs: a })
    const user = await a.make.user()
    const pat = await a.make.pat(user, ['tasks:write', 'tasks:read'])
    const post = (app: typeof a.app) => app.inject({ method: 'POST', url: '/v1/tasks', headers: { authorization: `Bearer ${pat.token}`, 'idempotency-key': 'both' }, payload: { title: 'Once across instances' } })
    const results = await Promise.all([post(a.app), post(b.app), post(a.app), post(b.app)])
    assert.equal(results.filter(r => r.statusCode === 201 && r.headers['idempotent-replayed'] === undefined).length, 1, results.map(r => r.statusCode).join(','))
    const replay = await post(b.app)
    assert.equal(replay.headers['idempotent-replayed'], 'true')
    const tasks = await a.app.inject({ method: 'GET', url: '/v1/tasks', headers: { authorization: `Bearer ${pat.token}` } })
    assert.equal(tasks.json().data.length, 1)
  })
})

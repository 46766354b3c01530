import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { eq } from 'drizzle-orm'
import { buildTestApp, type TestApp } from '../../../test/build-test-app.js'
import { uniqueEmail, uniqueUsername } from '../../../test/factories.js'
import { storageLabel } from '../../../test/test-env.js'
import { usersTable } from '../users/users.table.js'

const MISSING = '01a20000-0000-7000-8000-000000000000'

/** Leaves `keep` as the only active admin of this test process's database. */
async function onlyAdmin ({ database }: TestApp, keep: string) {
  const admins = await database.db.select({ id: usersTable.id }).from(usersTable).where(eq(usersTable.role, 'admin'))
  for (const { id } of admins) if (id !== keep) await database.db.update(usersTable).set({ is_active: false }).where(eq(usersTable.id, id))
}

describe(`admin routes [${storageLabel}]`, () => {
  it('when any admin route is called without a token, then 401; by a non-admin, then 403', async (t) => {
    const { app, make } = await buildTestApp(t)
    const user = await make.user()
    const routes: Array<[string, string, Record<string, unknown>?]> = [
      ['GET', '/v1/admin/users'], ['GET', `/v1/admin/users/${user.id}`], ['PATCH', `/v1/admin/users/${user.id}`, { role: 'admin' }],
      ['DELETE', `/v1/admin/users/${user.id}`], ['GET', '/v1/admin/tasks'], ['DELETE', `/v1/admin/tasks/${MISSING}`]
    ]
    for (const [method, url, payload] of routes) {
      const anonymous = await app.inject({ method: method as 'GET', url, ...(payload ? { payload } : {}) })
      assert.equal(anonymous.statusCode, 401, `${method} ${url}`)
      const asUser = await app.inject({ method: method as 'GET', url, headers: make.bearer(user.tokens.access_token), ...(payload ? { payload } : {}) })
      assert.equal(asUser.statusCode, 403, `${method} ${url}`)
      assert.equal(asUser.json().code, 'forbidden')
    }
    assert.equal((await make.reloadUser(user.id))?.role, 'user')
  })

  // regression: #9 — the role is checked before the input (API.md Conventions, order of checks)
  it('when a plain user sends bad input to an admin route, then 403 before any validation; without a token, 401 first', async (t) => {
    const { app, make } = await buildTestApp(t)
    const [user, admin] = await Promise.all([make.user(), make.admin()])
    const cases: Array<[string, string, Record<string, unknown>?]> = [
      ['GET', '/v1/admin/users/not-a-uuid'], ['GET', '/v1/admin/users?role=superuser'], ['GET', '/v1/admin/users?limit=0&bogus=1'],
      ['PATCH', `/v1/admin/users/${user.id}`, { role: 'root' }], ['PATCH', '/v1/admin/users/not-a-uuid', { nonsense: true }],
      ['GET', '/v1/admin/audit-events?type=nope'], ['DELETE', '/v1/admin/tasks/not-a-uuid']
    ]
    for (const [method, url, payload] of cases) {
      const label = `${method} ${url}`
      const anonymous = await app.inject({ method: method as 'GET', url, ...(payload ? { payload } : {}) })
      assert.equal(anonymous.statusCode, 401, label)
      assert.equal(anonymous.json().code, 'unauthenticated', label)
      const asUser = await app.inject({ method: method as 'GET', url, headers: make.bearer(user.tokens.access_token), ...(payload ? { payload } : {}) })
      assert.equal(asUser.statusCode, 403, label)
      assert.deepEqual([asUser.json().code, asUser.json().errors], ['forbidden', undefined], label)
      const asAdmin = await app.inject({ method: method as 'GET', url, headers: make.bearer(admin.tokens.access_token), ...(payload ? { payload } : {}) })
      assert.equal(asAdmin.statusCode, 400, label)
      assert.equal(asAdmin.json().code, 'validation_failed', label)
    }
    assert.equal((await make.reloadUser(user.id))?.role, 'user')
  })

  it('when listing users, then filters by q, role and is_active, and pages by cursor', async (t) => {
    const { app, make } = await buildTestApp(t)
    const admin = await make.admin()
    const tag = uniqueUsername()
    const users = []
    for (let i = 0; i < 5; i++) users.push(await make.user({ email: uniqueEmail(`${tag}-${i}`) }))
    const inactive = users[0]
    assert.ok(inactive)
    await make.updateUser(inactive.id, { is_active: false })
    const get = async (query: string) => {
      const res = await app.inject({ method: 'GET', url: `/v1/admin/users?${query}`, headers: make.bearer(admin.tokens.access_token) })
      assert.equal(res.statusCode, 200, res.body)
      return res.json() as { data: Array<{ id: string, email: string }>, next_cursor: string | null }
    }
    assert.equal((await get(`q=${tag}`)).data.length, 5)
    assert.deepEqual((await get(`q=${tag}&is_active=false`)).data.map(u => u.id), [inactive.id])
    assert.equal((await get(`q=${tag}&is_active=true`)).data.length, 4)
    assert.ok((await get('role=admin')).data.some(u => u.id === admin.id))
    assert.equal((await get(`q=${tag}&role=admin`)).data.length, 0)
    const first = await get(`q=${tag}&limit=2`)
    assert.equal(first.data.length, 2)
    const second = await get(`q=${tag}&limit=2&cursor=${first.next_cursor}`)
    const third = await get(`q=${tag}&limit=2&cursor=${second.next_cursor}`)
    assert.equal(third.next_cursor, null)
    const all = [...first.data, ...second.data, ...third.data].map(u => u.id)
    assert.deepEqual(new Set(all), new Set(users.map(u => u.id)))
    for (const bad of ['role=root', 'is_active=maybe', 'limit=500', 'cursor=%%%', 'q=']) {
      const res = await app.inject({ method: 'GET', url: `/v1/admin/users?${bad}`, headers: make.bearer(admin.tokens.access_token) })
      assert.equal(res.statusCode, 400, bad)
    }
  })

  it('when reading a user, then 200 without secrets; missing 404; malformed id 400', async (t) => {
    const { app, make } = await buildTestApp(t)
    const admin = await make.admin()
    const user = await make.user()
    const res = await app.inject({ method: 'GET', url: `/v1/admin/users/${user.id}`, headers: make.bearer(admin.tokens.access_token) })
    assert.equal(res.statusCode, 200)
    assert.equal(res.json().email, user.email)
    assert.doesNotMatch(res.body, /password|argon2/)
    assert.equal((await app.inject({ method: 'GET', url: `/v1/admin/users/${MISSING}`, headers: make.bearer(admin.tokens.access_token) })).statusCode, 404)
    assert.equal((await app.inject({ method: 'GET', url: '/v1/admin/users/abc', headers: make.bearer(admin.tokens.access_token) })).statusCode, 400)
  })

  it('when an admin changes a user\'s role, then every session of that user ends at once, also after a cache flush', async (t) => {
    const { app, make, flushCache } = await buildTestApp(t)
    const admin = await make.admin()
    const user = await make.user()
    const second = await make.login({ email: user.email }, user.password)
    const res = await app.inject({ method: 'PATCH', url: `/v1/admin/users/${user.id}`, headers: make.bearer(admin.tokens.access_token), payload: { role: 'admin' } })
    assert.equal(res.statusCode, 200)
    assert.equal(res.json().role, 'admin')
    await flushCache()
    for (const token of [user.tokens.access_token, second.access_token]) {
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(token) })).statusCode, 401)
    }
    assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: second.refresh_token } })).statusCode, 401)
    const relogin = await make.login({ email: user.email }, user.password)
    assert.equal(relogin.user.email, user.email)
    const adminCall = await app.inject({ method: 'GET', url: '/v1/admin/users', headers: make.bearer(relogin.access_token) })
    assert.equal(adminCall.statusCode, 200, 'the new role comes with the next login')
  })

  it('when an admin deactivates a user, then their sessions end and login is 403; reactivation lets them back', async (t) => {
    const { app, make } = await buildTestApp(t)
    const admin = await make.admin()
    const user = await make.user()
    const off = await app.inject({ method: 'PATCH', url: `/v1/admin/users/${user.id}`, headers: make.bearer(admin.tokens.access_token), payload: { is_active: false } })
    assert.equal(off.statusCode, 200)
    assert.equal(off.json().is_active, false)
    assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token) })).statusCode, 401)
    const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: user.password } })
    assert.equal(login.statusCode, 403)
    const on = await app.inject({ method: 'PATCH', url: `/v1/admin/users/${user.id}`, headers: make.bearer(admin.tokens.access_token), payload: { is_active: true } })
    assert.equal(on.statusCode, 200)
    await make.login({ email: user.email }, user.password)
  })

  it('when a PATCH body is empty, unknown or mistyped, then 400 and nothing changes', async (t) => {
    const { app, make } = await buildTestApp(t)
    const admin = await make.admin()
    const user = await make.user()
    for (const payload of [{}, { role: 'root' }, { is_active: 'no' }, { email: 'x@y.z' }, { password_hash: 'x' }]) {
      const res = await app.inject({ method: 'PATCH', url: `/v1/admin/users/${user.id}`, headers: make.bearer(admin.tokens.access_token), payload })
      assert.equal(res.statusCode, 400, JSON.stringify(payload))
    }
    assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token) })).statusCode, 200)
    assert.equal((await app.inject({ method: 'PATCH', url: `/v1/admin/users/${MISSING}`, headers: make.bearer(admin.tokens.access_token), payload: { role: 'user' } })).statusCode, 404)
  })

  it('when the change would leave no active admin (demote, deactivate or delete the last one), then 409 and nothing changes', async (t) => {
    const ctx = await buildTestApp(t)
    const { app, make } = ctx
    const admin = await make.admin()
    await onlyAdmin(ctx, admin.id)
    const auth = make.bearer(admin.tokens.access_token)
    for (const [method, payload] of [['PATCH', { role: 'user' }], ['PATCH', { is_active: false }], ['DELETE', undefined]] as const) {
      const res = await app.inject({ method, url: `/v1/admin/users/${admin.id}`, headers: auth, ...(payload ? { payload } : {}) })
      assert.equal(res.statusCode, 409, `${method} ${JSON.stringify(payload)}`)
      assert.equal(res.json().code, 'last_admin')
    }
    const stored = await make.reloadUser(admin.id)
    assert.deepEqual([stored?.role, stored?.is_active], ['admin', true])
    assert.equal((await app.inject({ method: 'GET', url: '/v1/admin/users', headers: auth })).statusCode, 200)
  })

  it('when two admins demote each other at once, then exactly one succeeds and an active admin remains', async (t) => {
    const ctx = await buildTestApp(t)
    const { app, make } = ctx
    const a = await make.admin()
    const b = await make.admin()
    await onlyAdmin(ctx, a.id)
    await make.updateUser(b.id, { is_active: true })
    const results = await Promise.all([
      app.inject({ method: 'PATCH', url: `/v1/admin/users/${b.id}`, headers: make.bearer(a.tokens.access_token), payload: { role: 'user' } }),
      app.inject({ method: 'PATCH', url: `/v1/admin/users/${a.id}`, headers: make.bearer(b.tokens.access_token), payload: { role: 'user' } })
    ])
    const codes = results.map(r => r.statusCode)
    assert.equal(codes.filter(c => c === 200).length, 1, String(codes))
    assert.ok(codes.every(c => c === 200 || c === 409 || c === 401), String(codes))
    const roles = await Promise.all([a.id, b.id].map(async id => (await make.reloadUser(id))?.role))
    assert.deepEqual(roles.sort(), ['admin', 'user'])
  })

  it('when an admin deletes a user, then 204: the user, their sessions and tasks are gone', async (t) => {
    const { app, make } = await buildTestApp(t)
    const admin = await make.admin()
    const user = await make.user()
    const task = await make.task(user.tokens.access_token)
    const res = await app.inject({ method: 'DELETE', url: `/v1/admin/users/${user.id}`, headers: make.bearer(admin.tokens.access_token) })
    assert.equal(res.statusCode, 204)
    assert.equal(await make.reloadUser(user.id), undefined)
    assert.equal(await make.reloadTask(task.id), undefined)
    assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token) })).statusCode, 401)
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/admin/users/${user.id}`, headers: make.bearer(admin.tokens.access_token) })).statusCode, 404)
  })

  it('when an admin lists tasks, then anyone\'s come back, filtered by owner_id and the task filters', async (t) => {
    const { app, make } = await buildTestApp(t)
    const admin = await make.admin()
    const [alice, bob] = await Promise.all([make.user(), make.user()])
    const a1 = await make.task(alice.tokens.access_token, { title: 'alpha', tags: ['x'] })
    const a2 = await make.task(alice.tokens.access_token, { title: 'beta', status: 'done' })
    const b1 = await make.task(bob.tokens.access_token, { title: 'gamma', tags: ['x'] })
    const ids = async (query: string) => {
      const res = await app.inject({ method: 'GET', url: `/v1/admin/tasks?${query}`, headers: make.bearer(admin.tokens.access_token) })
      assert.equal(res.statusCode, 200, res.body)
      return (res.json().data as Array<{ id: string }>).map(x => x.id).sort()
    }
    assert.deepEqual(await ids(`owner_id=${alice.id}`), [a1.id, a2.id].sort())
    assert.deepEqual(await ids(`owner_id=${alice.id}&status=done`), [a2.id])
    assert.deepEqual(await ids(`owner_id=${bob.id}&tag=x`), [b1.id])
    const all = await ids('limit=100')
    assert.ok([a1.id, a2.id, b1.id].every(id => all.includes(id)))
    const bad = await app.inject({ method: 'GET', url: '/v1/admin/tasks?owner_id=nope', headers: make.bearer(admin.tokens.access_token) })
    assert.equal(bad.statusCode, 400)
  })

  it('when an admin deletes anyone\'s task, then 204 and it is gone; a missing one is 404', async (t) => {
    const { app, make } = await buildTestApp(t)
    const admin = await make.admin()
    const user = await make.user()
    const task = await make.task(user.tokens.access_token)
    const res = await app.inject({ method: 'DELETE', url: `/v1/admin/tasks/${task.id}`, headers: make.bearer(admin.tokens.access_token) })
    assert.equal(res.statusCode, 204)
    assert.equal(await make.reloadTask(task.id), undefined)
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/admin/tasks/${task.id}`, headers: make.bearer(admin.tokens.access_token) })).statusCode, 404)
  })

  it('when an admin uses the owner routes on another user\'s task, then 403 like anyone else', async (t) => {
    const { app, make } = await buildTestApp(t)
    const admin = await make.admin()
    const user = await make.user()
    const task = await make.task(user.tokens.access_token)
    const res = await app.inject({ method: 'GET', url: `/v1/tasks/${task.id}`, headers: make.bearer(admin.tokens.access_token) })
    assert.equal(res.statusCode, 403)
  })
})

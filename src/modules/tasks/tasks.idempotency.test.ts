import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { eq } from 'drizzle-orm'
import { buildTestApp } from '../../../test/build-test-app.js'
import { storageLabel } from '../../../test/test-env.js'
import { requestFingerprint } from '../../core/idempotency.js'
import { idempotencyKeysTable } from '../../core/idempotency.table.js'
import { tasksTable } from './tasks.table.js'

const countTasks = async (db: Awaited<ReturnType<typeof buildTestApp>>['database']['db'], ownerId: string) =>
  (await db.select({ id: tasksTable.id }).from(tasksTable).where(eq(tasksTable.owner_id, ownerId))).length

describe(`POST /v1/tasks with Idempotency-Key [${storageLabel}]`, () => {
  it('when the same key and body come again, then the kept 201 is replayed (status, body, Location, ETag, Idempotent-Replayed) and no second task exists', async (t) => {
    const { app, make, database } = await buildTestApp(t)
    const user = await make.user()
    const headers = { ...make.bearer(user.tokens.access_token), 'idempotency-key': 'order-7731' }
    const first = await app.inject({ method: 'POST', url: '/v1/tasks', headers, payload: { title: 'Pay invoice', tags: ['money'], priority: 'high' } })
    assert.equal(first.statusCode, 201)
    assert.equal(first.headers['idempotent-replayed'], undefined)
    const again = await app.inject({ method: 'POST', url: '/v1/tasks', headers, payload: { priority: 'high', tags: ['money'], title: 'Pay invoice' } })
    assert.equal(again.statusCode, 201)
    assert.equal(again.headers['idempotent-replayed'], 'true')
    assert.equal(again.body, first.body)
    assert.equal(again.headers.location, first.headers.location)
    assert.equal(again.headers.etag, first.headers.etag)
    assert.match(String(again.headers['content-type']), /^application\/json/)
    assert.equal(again.headers['cache-control'], 'no-store')
    assert.equal(await countTasks(database.db, user.id), 1)
  })

  it('when the key is sent as a quoted string, then it is the same key as the bare one', async (t) => {
    const { app, make, database } = await buildTestApp(t)
    const user = await make.user()
    const payload = { title: 'Quoted' }
    const first = await app.inject({ method: 'POST', url: '/v1/tasks', headers: { ...make.bearer(user.tokens.access_token), 'idempotency-key': 'a "b" c' }, payload })
    assert.equal(first.statusCode, 201)
    const quoted = await app.inject({ method: 'POST', url: '/v1/tasks', headers: { ...make.bearer(user.tokens.access_token), 'idempotency-key': '"a \\"b\\" c"' }, payload })
    assert.equal(quoted.headers['idempotent-replayed'], 'true')
    assert.equal(await countTasks(database.db, user.id), 1)
  })

  it('when the same key comes with a different body, then 422 idempotency_key_reused and nothing is created', async (t) => {
    const { app, make, database } = await buildTestApp(t)
    const user = await make.user()
    const headers = { ...make.bearer(user.tokens.access_token), 'idempotency-key': 'k-1' }
    assert.equal((await app.inject({ method: 'POST', url: '/v1/tasks', headers, payload: { title: 'One' } })).statusCode, 201)
    const other = await app.inject({ method: 'POST', url: '/v1/tasks', headers, payload: { title: 'Two' } })
    assert.equal(other.statusCode, 422)
    assert.equal(other.json().code, 'idempotency_key_reused')
    assert.match(String(other.headers['content-type']), /^application\/problem\+json/)
    assert.equal(await countTasks(database.db, user.id), 1)
  })

  it('when another user sends the same key, then it is theirs: a task of their own', async (t) => {
    const { app, make, database } = await buildTestApp(t)
    const [a, b] = await Promise.all([make.user(), make.user()])
    const payload = { title: 'Same' }
    const ra = await app.inject({ method: 'POST', url: '/v1/tasks', headers: { ...make.bearer(a.tokens.access_token), 'idempotency-key': 'shared' }, payload })
    const rb = await app.inject({ method: 'POST', url: '/v1/tasks', headers: { ...make.bearer(b.tokens.access_token), 'idempotency-key': 'shared' }, payload })
    assert.equal(rb.statusCode, 201)
    assert.equal(rb.headers['idempotent-replayed'], undefined)
    assert.notEqual(rb.json().id, ra.json().id)
    assert.equal(rb.json().owner_id, b.id)
    assert.equal(await countTasks(database.db, b.id), 1)
  })

  it('when the header is malformed (empty, too long, not printable ASCII, repeated, badly quoted), then 400 and nothing is created', async (t) => {
    const { app, make, database } = await buildTestApp(t)
    const user = await make.user()
    const auth = make.bearer(user.tokens.access_token)
    const bad: Array<Record<string, string | string[]>> = [
      { 'idempotency-key': '' }, { 'idempotency-key': 'x'.repeat(256) }, { 'idempotency-key': '"' + 'x'.repeat(256) + '"' },
      { 'idempotency-key': 'caf\u00e9' }, { 'idempotency-key': 'tab\there' }, { 'idempotency-key': '"unterminated' },
      { 'idempotency-key': '""' }, { 'idempotency-key': '"a"b"' }, { 'idempotency-key': '"back\\slash"' }, { 'idempotency-key': ['one', 'two'] }
    ]
    for (const header of bad) {
      const res = await app.inject({ method: 'POST', url: '/v1/tasks', headers: { ...auth, ...header }, payload: { title: 'Never' } })
      assert.equal(res.statusCode, 400, JSON.stringify(header))
      assert.equal(res.json().errors?.[0]?.field, 'Idempotency-Key', JSON.stringify(header))
    }
    assert.equal((await app.inject({ method: 'POST', url: '/v1/tasks', headers: { ...auth, 'idempotency-key': 'x'.repeat(255) }, payload: { title: 'Longest key' } })).statusCode, 201)
    assert.equal((await app.inject({ method: 'POST', url: '/v1/tasks', headers: { ...auth, 'idempotency-key': ' ~!#$%&\'()*+,-./:;<=>?@[\\]^_`{|}' }, payload: { title: 'Punctuation' } })).statusCode, 201)
    assert.equal(await countTasks(database.db, user.id), 2)
  })

  it('when the first request fails (invalid body), then the key stays unused: the next request with it runs', async (t) => {
    const { app, make, database } = await buildTestApp(t)
    const user = await make.user()
    const headers = { ...make.bearer(user.tokens.access_token), 'idempotency-key': 'retry-me' }
    assert.equal((await app.inject({ method: 'POST', url: '/v1/tasks', headers, payload: { title: '' } })).statusCode, 400)
    const ok = await app.inject({ method: 'POST', url: '/v1/tasks', headers, payload: { title: 'Fixed' } })
    assert.equal(ok.statusCode, 201)
    assert.equal(ok.headers['idempotent-replayed'], undefined)
    assert.equal(await countTasks(database.db, user.id), 1)
  })

  it('when the key is older than 24 hours, then it is forgotten: the same request creates a new task', async (t) => {
    const { app, make, database, clock } = await buildTestApp(t)
    const user = await make.user()
    const payload = { title: 'Daily' }
    const send = async () => {
      const fresh = await make.login({ email: user.email }, user.password)
      return app.inject({ method: 'POST', url: '/v1/tasks', headers: { ...make.bearer(fresh.access_token), 'idempotency-key': 'daily' }, payload })
    }
    const first = await send()
    clock.advance(24 * 3600 - 1)
    assert.equal((await send()).headers['idempotent-replayed'], 'true')
    clock.advance(1)
    const later = await send()
    assert.equal(later.statusCode, 201)
    assert.equal(later.headers['idempotent-replayed'], undefined)
    assert.notEqual(later.json().id, first.json().id)
    assert.equal(await countTasks(database.db, user.id), 2)
  })

  it('when the key is held by a request on another instance, then 409 idempotency_key_in_progress; an abandoned one (that instance died) is taken over after the lock timeout', async (t) => {
    const { app, make, database, clock } = await buildTestApp(t)
    const user = await make.user()
    const now = clock.now()
    // What a first request on another instance leaves while it runs.
    const fingerprint = requestFingerprint('POST', '/v1/tasks', { title: 'Wait' })
    await database.db.insert(idempotencyKeysTable).values({ user_id: user.id, key: 'busy', fingerprint, state: 'in_progress', locked_at: now, created_at: now, expires_at: new Date(now.getTime() + 86_400_000) })
    const headers = { ...make.bearer(user.tokens.access_token), 'idempotency-key': 'busy' }
    const busy = await app.inject({ method: 'POST', url: '/v1/tasks', headers, payload: { title: 'Wait' } })
    assert.equal(busy.statusCode, 409)
    assert.equal(busy.json().code, 'idempotency_key_in_progress')
    clock.advance(119)
    assert.equal((await app.inject({ method: 'POST', url: '/v1/tasks', headers, payload: { title: 'Wait' } })).statusCode, 409)
    clock.advance(1)
    const taken = await app.inject({ method: 'POST', url: '/v1/tasks', headers, payload: { title: 'Wait' } })
    assert.equal(taken.statusCode, 201)
    assert.equal(await countTasks(database.db, user.id), 1)
  })

  it('when many requests with one key race, then exactly one task is created; the others are replays or 409', async (t) => {
    const { app, make, database } = await buildTestApp(t)
    const user = await make.user()
    const pat = await make.pat(user, ['tasks:write'])
    for (const token of [user.tokens.access_token, pat.token]) {
      const key = `race-${token.slice(0, 4)}`
      const results = await Promise.all(Array.from({ length: 12 }, () =>
        app.inject({ method: 'POST', url: '/v1/tasks', headers: { ...make.bearer(token), 'idempotency-key': key }, payload: { title: 'Once' } })))
      const fresh = results.filter(r => r.statusCode === 201 && r.headers['idempotent-replayed'] === undefined)
      assert.equal(fresh.length, 1, results.map(r => r.statusCode).join(','))
      for (const r of results) {
        assert.ok(r.statusCode === 201 || (r.statusCode === 409 && r.json().code === 'idempotency_key_in_progress'), `${r.statusCode} ${r.body}`)
        if (r.statusCode === 201) assert.equal(r.json().id, fresh[0]?.json().id)
      }
    }
    assert.equal(await countTasks(database.db, user.id), 2)
  })

  it('when the OpenAPI document is read, then POST /v1/tasks documents the header and its 409 and 422', async (t) => {
    const { app } = await buildTestApp(t)
    await app.ready()
    const op = (app.swagger() as unknown as { paths: Record<string, Record<string, { parameters?: Array<{ name: string, in: string }>, responses: Record<string, unknown> }>> }).paths['/v1/tasks']?.post
    assert.ok(op?.parameters?.some(p => p.in === 'header' && p.name === 'idempotency-key'))
    assert.ok(op?.responses['409'] && op.responses['422'])
  })
})

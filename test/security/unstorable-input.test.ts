// regression: #9 §1 — inputs that passed validation and then failed in PostgreSQL (500).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { count } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import { tasksTable } from '../../src/modules/tasks/tasks.table.js'
import { usersTable } from '../../src/modules/users/users.table.js'
import { buildTestApp, type TestApp } from '../build-test-app.js'
import { DEFAULT_PASSWORD, uniqueEmail, uniqueUsername } from '../factories.js'
import { storageLabel } from '../test-env.js'

function assertProblem (res: LightMyRequestResponse, field: string, label: string, code = 'validation_failed') {
  assert.equal(res.statusCode, 400, `${label}: ${res.body}`)
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, label)
  const body = res.json<{ code: string, errors?: Array<{ field: string }> }>()
  assert.equal(body.code, code, label)
  assert.ok(body.errors?.some(e => e.field === field), `${label}: names ${field} in ${res.body}`)
}

async function counts ({ database }: TestApp) {
  const [tasks] = await database.db.select({ n: count() }).from(tasksTable)
  const [users] = await database.db.select({ n: count() }).from(usersTable)
  return { tasks: tasks?.n, users: users?.n }
}

const OUT_OF_RANGE = ['0000-01-01T00:00:00Z', '0001-01-01T00:30:00+01:00', '9999-12-31T23:59:59-01:00', '+100000-01-01T00:00:00Z', '10000-01-01T00:00:00Z']
const LEAP_SECOND = '2016-12-31T23:59:60Z'

describe(`text and timestamps PostgreSQL cannot store [${storageLabel}]`, () => {
  it('when a U+0000 is in any text field, query parameter or login name, then 400 naming it and nothing changes', async (t) => {
    const app = await buildTestApp(t)
    const user = await app.make.user({ username: uniqueUsername() })
    const auth = app.make.bearer(user.tokens.access_token)
    const task = await app.make.task(user.tokens.access_token, { title: 'Kept' })
    const before = await counts(app)
    const inject = app.app.inject.bind(app.app)
    const cases: Array<[string, Promise<LightMyRequestResponse>, string]> = [
      ['title', inject({ method: 'POST', url: '/v1/tasks', headers: auth, payload: { title: 'a\u0000b' } }), 'title'],
      ['description', inject({ method: 'POST', url: '/v1/tasks', headers: auth, payload: { title: 'x', description: 'a\u0000b' } }), 'description'],
      ['tags', inject({ method: 'POST', url: '/v1/tasks', headers: auth, payload: { title: 'x', tags: ['ok', 'a\u0000b'] } }), 'tags.1'],
      ['PATCH title', inject({ method: 'PATCH', url: `/v1/tasks/${task.id}`, headers: auth, payload: { title: 'a\u0000b' } }), 'title'],
      ['PUT tags', inject({ method: 'PUT', url: `/v1/tasks/${task.id}`, headers: auth, payload: { title: 'x', tags: ['\u0000'] } }), 'tags.0'],
      ['?q', inject({ method: 'GET', url: '/v1/tasks?q=%00', headers: auth }), 'q'],
      ['?tag', inject({ method: 'GET', url: '/v1/tasks?tag=a%00b', headers: auth }), 'tag'],
      ['register name', inject({ method: 'POST', url: '/v1/auth/register', payload: { email: uniqueEmail(), password: DEFAULT_PASSWORD, name: 'Ada\u0000' } }), 'name'],
      ['PATCH me name', inject({ method: 'PATCH', url: '/v1/users/me', headers: auth, payload: { name: 'a\u0000b' } }), 'name'],
      ['login username', inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'a\u0000b', password: 'whatever it is 1' } }), 'username'],
      ['login email', inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'a\u0000@example.com', password: 'whatever it is 1' } }), 'email'],
      ['login password', inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: `${user.password}\u0000` } }), 'password']
    ]
    for (const [label, response, field] of cases) assertProblem(await response, field, label)

    const token = await inject({
      method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=password&username=a%00b&password=whatever+it+is+1'
    })
    assert.equal(token.statusCode, 400, token.body)
    assert.equal(token.json().error, 'invalid_request')
    assert.match(token.json().error_description, /username/)

    assert.deepEqual(await counts(app), before)
    assert.equal((await app.make.reloadTask(task.id))?.title, 'Kept')
    assert.equal((await app.make.reloadUser(user.id))?.name, null)
  })

  it('when text holds an unpaired surrogate, then 400 naming the field; a paired one (an emoji) is stored', async (t) => {
    const { app, make } = await buildTestApp(t)
    const user = await make.user()
    const auth = make.bearer(user.tokens.access_token)
    assertProblem(await app.inject({ method: 'POST', url: '/v1/tasks', headers: auth, payload: { title: 'a\uD800b' } }), 'title', 'lone high')
    assertProblem(await app.inject({ method: 'POST', url: '/v1/tasks', headers: auth, payload: { title: 'x', tags: ['\uDC00'] } }), 'tags.0', 'lone low')
    const ok = await app.inject({ method: 'POST', url: '/v1/tasks', headers: auth, payload: { title: 'party \uD83C\uDF89' } })
    assert.equal(ok.statusCode, 201, ok.body)
    assert.equal(ok.json().title, 'party 🎉')
  })

  it('when due_at or a due filter is a leap second or outside 0001–9999 UTC, then 400 naming it and nothing changes', async (t) => {
    const app = await buildTestApp(t)
    const user = await app.make.user()
    const auth = app.make.bearer(user.tokens.access_token)
    const task = await app.make.task(user.tokens.access_token, { due_at: '2030-01-01T00:00:00.000Z' })
    const before = await counts(app)
    for (const value of [LEAP_SECOND, ...OUT_OF_RANGE, '2016-02-30T00:00:00Z', '2016-01-01T10:00:00+24:00']) {
      const inject = app.app.inject.bind(app.app)
      assertProblem(await inject({ method: 'POST', url: '/v1/tasks', headers: auth, payload: { title: 'x', due_at: value } }), 'due_at', `POST ${value}`)
      assertProblem(await inject({ method: 'PUT', url: `/v1/tasks/${task.id}`, headers: auth, payload: { title: 'x', due_at: value } }), 'due_at', `PUT ${value}`)
      assertProblem(await inject({ method: 'PATCH', url: `/v1/tasks/${task.id}`, headers: auth, payload: { due_at: value } }), 'due_at', `PATCH ${value}`)
      for (const filter of ['due_before', 'due_after']) {
        assertProblem(await inject({ method: 'GET', url: `/v1/tasks?${filter}=${encodeURIComponent(value)}`, headers: auth }), filter, `${filter} ${value}`)
      }
    }
    assert.deepEqual(await counts(app), before)
    assert.equal((await app.make.reloadTask(task.id))?.due_at?.toISOString(), '2030-01-01T00:00:00.000Z')
  })

  it('when timestamps sit exactly on the bounds, in any offset, then they are stored and read back in UTC', async (t) => {
    const { app, make } = await buildTestApp(t)
    const user = await make.user()
    const auth = make.bearer(user.tokens.access_token)
    const cases: Array<[string, string]> = [
      ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
      ['0001-01-01T01:30:00+01:30', '0001-01-01T00:00:00.000Z'],
      ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
      ['9999-12-31T22:59:59.9999-01:00', '9999-12-31T23:59:59.999Z'],
      ['2016-12-31T23:59:59.291+00:00', '2016-12-31T23:59:59.291Z'],
      ['2024-02-29t12:00:00z', '2024-02-29T12:00:00.000Z']
    ]
    for (const [value, utc] of cases) {
      const res = await app.inject({ method: 'POST', url: '/v1/tasks', headers: auth, payload: { title: 'bounds', due_at: value } })
      assert.equal(res.statusCode, 201, `${value}: ${res.body}`)
      assert.equal(res.json().due_at, utc, value)
      const list = await app.inject({ method: 'GET', url: `/v1/tasks?due_before=${encodeURIComponent(value)}&due_after=0001-01-01T00:00:00Z`, headers: auth })
      assert.equal(list.statusCode, 200, `${value}: ${list.body}`)
    }
  })
})

/** A cursor in the format of the past (unauthenticated base64url JSON), as someone could craft one. */
const handMade = (position: unknown[]) => Buffer.from(JSON.stringify(position)).toString('base64url')

/** The same bytes with one bit changed at `at` (of the decoded cursor). */
function flipped (cursor: string, at: number): string {
  const raw = Buffer.from(cursor, 'base64url')
  const i = Math.min(at, raw.length - 1)
  raw[i] = (raw[i] ?? 0) ^ 1
  return raw.toString('base64url')
}

const FORGED_KEYS: unknown[][] = [
  ['-'.repeat(36)], ['0123456789abcdef0123456789abcdef0123'], [99999], [1e300], ['a\u0000b'], ['0000-01-01T00:00:00.000Z'], ['+100000-01-01T00:00:00.000Z']
]

describe(`cursors the server did not issue [${storageLabel}]`, () => {
  it('when a /v1/tasks cursor is forged, edited, or from another sort, filter or user, then 400 invalid_cursor for every sort', async (t) => {
    const { app, make } = await buildTestApp(t)
    const [user, other] = await Promise.all([make.user(), make.user()])
    const auth = make.bearer(user.tokens.access_token)
    for (let i = 0; i < 3; i++) {
      await make.task(user.tokens.access_token, { title: `T${i}`, priority: 'high', due_at: `2030-01-0${i + 1}T00:00:00Z`, tags: ['w'] })
      await make.task(other.tokens.access_token, { title: `T${i}` })
    }
    const id = '01a20000-0000-7000-8000-000000000001'
    for (const sort of ['created_at', '-created_at', 'updated_at', '-updated_at', 'due_at', '-due_at', 'priority', '-priority', 'title', '-title']) {
      const first = await app.inject({ method: 'GET', url: `/v1/tasks?sort=${sort}&limit=1`, headers: auth })
      const cursor = first.json<{ next_cursor: string }>().next_cursor
      assert.ok(cursor, sort)
      const ok = await app.inject({ method: 'GET', url: `/v1/tasks?sort=${sort}&limit=1&cursor=${cursor}`, headers: auth })
      assert.equal(ok.statusCode, 200, `${sort}: the issued cursor works`)

      const bad = [
        ...FORGED_KEYS.map(key => handMade([sort, ...key, id])),
        ...FORGED_KEYS.map(key => handMade([...key, id])),
        flipped(cursor, 0), flipped(cursor, 20), flipped(cursor, 1000), `${cursor}AA`, cursor.slice(0, -2)
      ]
      for (const candidate of bad) {
        const res = await app.inject({ method: 'GET', url: `/v1/tasks?sort=${sort}&limit=1&cursor=${candidate}`, headers: auth })
        assertProblem(res, 'cursor', `${sort} ${candidate}`, 'invalid_cursor')
      }
      const otherSort = sort.startsWith('-') ? sort.slice(1) : `-${sort}`
      for (const url of [`/v1/tasks?sort=${otherSort}&cursor=${cursor}`, `/v1/tasks?sort=${sort}&tag=w&cursor=${cursor}`, `/v1/tasks?sort=${sort}&q=T&cursor=${cursor}`]) {
        assertProblem(await app.inject({ method: 'GET', url, headers: auth }), 'cursor', url, 'invalid_cursor')
      }
      const foreign = await app.inject({ method: 'GET', url: `/v1/tasks?sort=${sort}&limit=1&cursor=${cursor}`, headers: make.bearer(other.tokens.access_token) })
      assertProblem(foreign, 'cursor', `${sort} another user`, 'invalid_cursor')
    }
  })

  it('when an admin list cursor is forged, edited, or from another list or filter, then 400 invalid_cursor', async (t) => {
    const { app, make } = await buildTestApp(t)
    const admin = await make.admin()
    const auth = make.bearer(admin.tokens.access_token)
    for (let i = 0; i < 3; i++) await make.user()
    const users = await app.inject({ method: 'GET', url: '/v1/admin/users?limit=1', headers: auth })
    const usersCursor = users.json<{ next_cursor: string }>().next_cursor
    const events = await app.inject({ method: 'GET', url: '/v1/admin/audit-events?limit=1', headers: auth })
    const eventsCursor = events.json<{ next_cursor: string }>().next_cursor
    assert.ok(usersCursor && eventsCursor)
    assert.equal((await app.inject({ method: 'GET', url: `/v1/admin/users?limit=1&cursor=${usersCursor}`, headers: auth })).statusCode, 200)
    assert.equal((await app.inject({ method: 'GET', url: `/v1/admin/audit-events?limit=1&cursor=${eventsCursor}`, headers: auth })).statusCode, 200)

    const forged = [...FORGED_KEYS.map(key => handMade(key)), flipped(usersCursor, 3), flipped(eventsCursor, 30)]
    for (const [path, own, foreign, filter] of [
      ['/v1/admin/users', usersCursor, eventsCursor, 'role=user'],
      ['/v1/admin/audit-events', eventsCursor, usersCursor, 'type=register']
    ] as const) {
      for (const candidate of [...forged, foreign]) {
        assertProblem(await app.inject({ method: 'GET', url: `${path}?cursor=${candidate}`, headers: auth }), 'cursor', `${path} ${candidate}`, 'invalid_cursor')
      }
      assertProblem(await app.inject({ method: 'GET', url: `${path}?${filter}&cursor=${own}`, headers: auth }), 'cursor', `${path} with another filter`, 'invalid_cursor')
    }
    const tasksCursor = await app.inject({ method: 'GET', url: `/v1/admin/tasks?cursor=${usersCursor}`, headers: auth })
    assertProblem(tasksCursor, 'cursor', 'admin tasks with a users cursor', 'invalid_cursor')
  })

  it('when two apps share a database, then a cursor one issued pages on the other', async (t) => {
    const first = await buildTestApp(t)
    const second = await buildTestApp(t)
    const user = await first.make.user()
    for (let i = 0; i < 2; i++) await first.make.task(user.tokens.access_token)
    const page = await first.app.inject({ method: 'GET', url: '/v1/tasks?limit=1', headers: first.make.bearer(user.tokens.access_token) })
    const next = await second.app.inject({ method: 'GET', url: `/v1/tasks?limit=1&cursor=${page.json().next_cursor}`, headers: first.make.bearer(user.tokens.access_token) })
    assert.equal(next.statusCode, 200, next.body)
    assert.equal(next.json().data.length, 1)
  })
})

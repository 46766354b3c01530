import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTestApp } from '../../../test/build-test-app.js'
import type { TaskJson } from '../../../test/factories.js'
import { storageLabel } from '../../../test/test-env.js'

const MISSING = '01a20000-0000-7000-8000-000000000000'

describe(`tasks routes [${storageLabel}]`, () => {
  describe('POST /v1/tasks', () => {
    it('when the body is valid, then 201 with defaults, Location and ETag, owned by the caller', async (t) => {
      const { app, make, config } = await buildTestApp(t)
      const user = await make.user()
      const res = await app.inject({ method: 'POST', url: '/v1/tasks', headers: make.bearer(user.tokens.access_token), payload: { title: 'Write report', tags: ['work', 'work', 'q4'] } })
      assert.equal(res.statusCode, 201)
      const task = res.json()
      assert.equal(res.headers.location, `${config.http.publicUrl}/v1/tasks/${task.id}`)
      assert.equal(res.headers.etag, '"1"')
      assert.deepEqual({ ...task, id: undefined, created_at: undefined, updated_at: undefined }, {
        id: undefined, title: 'Write report', description: null, status: 'todo', priority: 'medium', due_at: null, tags: ['work', 'q4'], owner_id: user.id, created_at: undefined, updated_at: undefined, completed_at: null
      })
    })

    it('when created as done, then completed_at is set', async (t) => {
      const { make } = await buildTestApp(t)
      const user = await make.user()
      const task = await make.task(user.tokens.access_token, { status: 'done', due_at: '2026-12-01T10:00:00.000Z' })
      assert.ok(task.completed_at)
      assert.equal(task.due_at, '2026-12-01T10:00:00.000Z')
    })

    it('when the body names owner_id or is otherwise invalid, then 400 and nothing is created', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const other = await make.user()
      const bad: Array<[Record<string, unknown>, string]> = [
        [{ title: 'x', owner_id: other.id }, 'owner_id'],
        [{ title: '' }, 'title'],
        [{ title: 'x'.repeat(201) }, 'title'],
        [{ title: 'x', description: 'd'.repeat(10_001) }, 'description'],
        [{ title: 'x', status: 'blocked' }, 'status'],
        [{ title: 'x', priority: 'critical' }, 'priority'],
        [{ title: 'x', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags'],
        [{ title: 'x', tags: [''] }, 'tags.0'],
        [{ title: 'x', tags: ['y'.repeat(33)] }, 'tags.0'],
        [{ title: 'x', due_at: 'tomorrow' }, 'due_at'],
        [{ title: 'x', id: MISSING }, 'id'],
        [{ title: 'x', created_at: '2020-01-01T00:00:00Z' }, 'created_at'],
        [{ title: 7 }, 'title']
      ]
      for (const [payload, field] of bad) {
        const res = await app.inject({ method: 'POST', url: '/v1/tasks', headers: make.bearer(user.tokens.access_token), payload })
        assert.equal(res.statusCode, 400, JSON.stringify(payload))
        assert.ok(res.json().errors.some((e: { field: string }) => e.field === field), `${JSON.stringify(payload)} → ${res.body}`)
      }
      // A nullable field says what is wrong with the value, not which of its schema's branches failed.
      for (const [dueAt, message] of [['tomorrow', 'must match format "date-time"'], [5, 'must be string']] as const) {
        const res = await app.inject({ method: 'POST', url: '/v1/tasks', headers: make.bearer(user.tokens.access_token), payload: { title: 'x', due_at: dueAt } })
        assert.deepEqual(res.json().errors, [{ field: 'due_at', message }])
      }
      const list = await app.inject({ method: 'GET', url: '/v1/tasks', headers: make.bearer(user.tokens.access_token) })
      assert.deepEqual(list.json().data, [])
    })

    it('when no token is sent, then 401', async (t) => {
      const { app } = await buildTestApp(t)
      assert.equal((await app.inject({ method: 'POST', url: '/v1/tasks', payload: { title: 'x' } })).statusCode, 401)
    })

    it('when the title looks like SQL, then it is stored literally', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const title = "x'); drop table tasks; -- %_\\"
      const task = await make.task(user.tokens.access_token, { title })
      const read = await app.inject({ method: 'GET', url: `/v1/tasks/${task.id}`, headers: make.bearer(user.tokens.access_token) })
      assert.equal(read.json().title, title)
    })
  })

  describe('GET, PUT, PATCH, DELETE /v1/tasks/{id}', () => {
    it('when reading your task, then 200 with its ETag; another user\'s is 403, a missing one 404, a bad id 400', async (t) => {
      const { app, make } = await buildTestApp(t)
      const [owner, intruder] = await Promise.all([make.user(), make.user()])
      const task = await make.task(owner.tokens.access_token)
      const mine = await app.inject({ method: 'GET', url: `/v1/tasks/${task.id}`, headers: make.bearer(owner.tokens.access_token) })
      assert.equal(mine.statusCode, 200)
      assert.equal(mine.headers.etag, '"1"')
      const foreign = await app.inject({ method: 'GET', url: `/v1/tasks/${task.id}`, headers: make.bearer(intruder.tokens.access_token) })
      assert.equal(foreign.statusCode, 403)
      assert.equal(foreign.json().code, 'task_forbidden')
      assert.equal((await app.inject({ method: 'GET', url: `/v1/tasks/${MISSING}`, headers: make.bearer(owner.tokens.access_token) })).statusCode, 404)
      for (const bad of ['not-a-uuid', '1', "1' or '1'='1"]) {
        const res = await app.inject({ method: 'GET', url: `/v1/tasks/${encodeURIComponent(bad)}`, headers: make.bearer(owner.tokens.access_token) })
        assert.equal(res.statusCode, 400, bad)
      }
    })

    it('when another user tries to change or delete a task, then 403 on every method and it is unchanged', async (t) => {
      const { app, make } = await buildTestApp(t)
      const [owner, intruder] = await Promise.all([make.user(), make.user()])
      const task = await make.task(owner.tokens.access_token, { title: 'Mine' })
      for (const [method, payload] of [['PUT', { title: 'Hijacked' }], ['PATCH', { title: 'Hijacked' }], ['DELETE', undefined]] as const) {
        const res = await app.inject({ method, url: `/v1/tasks/${task.id}`, headers: make.bearer(intruder.tokens.access_token), ...(payload ? { payload } : {}) })
        assert.equal(res.statusCode, 403, method)
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/)
      }
      assert.equal((await make.reloadTask(task.id))?.title, 'Mine')
    })

    it('when PUT replaces a task, then omitted optional fields return to their defaults', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const task = await make.task(user.tokens.access_token, { description: 'd', status: 'done', priority: 'high', due_at: '2026-12-01T00:00:00.000Z', tags: ['a'] })
      const res = await app.inject({ method: 'PUT', url: `/v1/tasks/${task.id}`, headers: make.bearer(user.tokens.access_token), payload: { title: 'Replaced' } })
      assert.equal(res.statusCode, 200)
      const body = res.json()
      assert.deepEqual([body.title, body.description, body.status, body.priority, body.due_at, body.tags, body.completed_at], ['Replaced', null, 'todo', 'medium', null, [], null])
      assert.equal(res.headers.etag, '"2"')
      assert.equal((await app.inject({ method: 'PUT', url: `/v1/tasks/${task.id}`, headers: make.bearer(user.tokens.access_token), payload: { description: 'no title' } })).statusCode, 400)
    })

    it('when PATCH changes status, then completed_at follows it; other fields stay', async (t) => {
      const { app, make, clock } = await buildTestApp(t)
      const user = await make.user()
      const task = await make.task(user.tokens.access_token, { description: 'keep me', tags: ['x'] })
      const patch = (payload: Record<string, unknown>) => app.inject({ method: 'PATCH', url: `/v1/tasks/${task.id}`, headers: make.bearer(user.tokens.access_token), payload })
      clock.advance(10)
      const done = (await patch({ status: 'done' })).json()
      assert.equal(done.status, 'done')
      assert.equal(done.completed_at, done.updated_at)
      assert.equal(done.description, 'keep me')
      assert.deepEqual(done.tags, ['x'])
      clock.advance(10)
      const stillDone = (await patch({ title: 'renamed', status: 'done' })).json()
      assert.equal(stillDone.completed_at, done.completed_at, 'staying done keeps the first completion time')
      const reopened = (await patch({ status: 'in_progress', description: null })).json()
      assert.equal(reopened.completed_at, null)
      assert.equal(reopened.description, null)
      assert.equal((await patch({})).statusCode, 400, 'an empty patch is refused')
      assert.equal((await patch({ owner_id: user.id })).statusCode, 400)
      assert.equal((await patch({ title: null })).statusCode, 400)
    })

    it('when If-Match is stale, then PUT, PATCH and DELETE answer 412 and change nothing; a fresh one succeeds', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const task = await make.task(user.tokens.access_token, { title: 'v1' })
      const auth = make.bearer(user.tokens.access_token)
      await app.inject({ method: 'PATCH', url: `/v1/tasks/${task.id}`, headers: auth, payload: { title: 'v2' } })
      for (const [method, payload] of [['PUT', { title: 'stale' }], ['PATCH', { title: 'stale' }], ['DELETE', undefined]] as const) {
        const res = await app.inject({ method, url: `/v1/tasks/${task.id}`, headers: { ...auth, 'if-match': '"1"' }, ...(payload ? { payload } : {}) })
        assert.equal(res.statusCode, 412, method)
        assert.equal(res.json().code, 'precondition_failed')
      }
      assert.equal((await make.reloadTask(task.id))?.title, 'v2')
      const weak = await app.inject({ method: 'PATCH', url: `/v1/tasks/${task.id}`, headers: { ...auth, 'if-match': 'W/"2"' }, payload: { title: 'weak' } })
      assert.equal(weak.statusCode, 412, 'weak tags never match If-Match')
      const fresh = await app.inject({ method: 'PATCH', url: `/v1/tasks/${task.id}`, headers: { ...auth, 'if-match': '"2"' }, payload: { title: 'v3' } })
      assert.equal(fresh.statusCode, 200)
      assert.equal(fresh.headers.etag, '"3"')
      const any = await app.inject({ method: 'DELETE', url: `/v1/tasks/${task.id}`, headers: { ...auth, 'if-match': '*' } })
      assert.equal(any.statusCode, 204)
    })

    it('when two PATCHes race with the same If-Match, then exactly one wins and the other gets 412', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const task = await make.task(user.tokens.access_token)
      const headers = { ...make.bearer(user.tokens.access_token), 'if-match': '"1"' }
      const results = await Promise.all(['first', 'second', 'third'].map(title =>
        app.inject({ method: 'PATCH', url: `/v1/tasks/${task.id}`, headers, payload: { title } })))
      assert.deepEqual(results.map(r => r.statusCode).sort(), [200, 412, 412])
      const winner = results.find(r => r.statusCode === 200)?.json().title
      assert.equal((await make.reloadTask(task.id))?.title, winner)
    })

    it('when deleting your task, then 204 and it is gone; again it is 404', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const task = await make.task(user.tokens.access_token)
      const auth = make.bearer(user.tokens.access_token)
      assert.equal((await app.inject({ method: 'DELETE', url: `/v1/tasks/${task.id}`, headers: auth })).statusCode, 204)
      assert.equal(await make.reloadTask(task.id), undefined)
      assert.equal((await app.inject({ method: 'DELETE', url: `/v1/tasks/${task.id}`, headers: auth })).statusCode, 404)
    })

    it('when the owner deletes their account, then their tasks are gone', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const task = await make.task(user.tokens.access_token)
      await app.inject({ method: 'DELETE', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token), payload: { password: user.password } })
      assert.equal(await make.reloadTask(task.id), undefined)
    })
  })

  describe('GET /v1/tasks', () => {
    it('when filtering, then only the caller\'s matching tasks come back', async (t) => {
      const { app, make } = await buildTestApp(t)
      const [user, other] = await Promise.all([make.user(), make.user()])
      const token = user.tokens.access_token
      await make.task(other.tokens.access_token, { title: 'report of someone else', tags: ['work'] })
      const a = await make.task(token, { title: 'Quarterly REPORT', status: 'in_progress', priority: 'high', tags: ['work', 'q4'], due_at: '2026-12-01T00:00:00.000Z' })
      const b = await make.task(token, { title: 'groceries', description: 'milk, report card', priority: 'low', tags: ['home'], due_at: '2026-12-10T00:00:00.000Z' })
      const c = await make.task(token, { title: '100% done_ok', status: 'done', tags: ['work'] })
      const ids = async (query: string) => {
        const res = await app.inject({ method: 'GET', url: `/v1/tasks?${query}`, headers: make.bearer(token) })
        assert.equal(res.statusCode, 200, `${query}: ${res.body}`)
        return (res.json().data as TaskJson[]).map(x => x.id).sort()
      }
      assert.deepEqual(await ids(''), [a.id, b.id, c.id].sort())
      assert.deepEqual(await ids('status=in_progress'), [a.id])
      assert.deepEqual(await ids('priority=low'), [b.id])
      assert.deepEqual(await ids('tag=work'), [a.id, c.id].sort())
      assert.deepEqual(await ids('tag=wor'), [])
      assert.deepEqual(await ids('q=report'), [a.id, b.id].sort())
      assert.deepEqual(await ids('q=%25'), [c.id], '% is literal')
      assert.deepEqual(await ids('q=_'), [c.id], '_ is literal')
      assert.deepEqual(await ids('q=%27%20or%201%3D1--'), [])
      assert.deepEqual(await ids('due_before=2026-12-05T00:00:00Z'), [a.id])
      assert.deepEqual(await ids('due_after=2026-12-05T00:00:00Z'), [b.id])
      assert.deepEqual(await ids('due_after=2026-11-01T00:00:00Z&due_before=2027-01-01T00:00:00Z&tag=work'), [a.id])
    })

    it('when a filter, sort, limit or cursor is invalid or repeated, then 400', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      for (const query of ['status=blocked', 'priority=x', 'sort=owner_id', 'sort=created_at;drop%20table%20tasks', 'limit=0', 'limit=101', 'limit=abc',
        'due_before=yesterday', 'cursor=!!!', 'cursor=eyJmb28iOjF9', 'status=todo&status=done', 'owner_id=' + user.id, 'unknown=1']) {
        const res = await app.inject({ method: 'GET', url: `/v1/tasks?${query}`, headers: make.bearer(user.tokens.access_token) })
        assert.equal(res.statusCode, 400, query)
      }
    })

    it('when a cursor from one sort order is used with another, then 400', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      for (let i = 0; i < 3; i++) await make.task(user.tokens.access_token)
      const first = await app.inject({ method: 'GET', url: '/v1/tasks?limit=1&sort=title', headers: make.bearer(user.tokens.access_token) })
      const cursor = first.json().next_cursor
      assert.ok(cursor)
      const res = await app.inject({ method: 'GET', url: `/v1/tasks?limit=1&sort=-created_at&cursor=${cursor}`, headers: make.bearer(user.tokens.access_token) })
      assert.equal(res.statusCode, 400)
      assert.equal(res.json().errors[0].field, 'cursor')
    })

    it('when walking 250 tasks page by page in every sort order while tasks are inserted, then no row is skipped or repeated', async (t) => {
      const { app, make, clock } = await buildTestApp(t)
      const user = await make.user()
      const token = user.tokens.access_token
      const priorities = ['low', 'medium', 'high', 'urgent']
      const original: TaskJson[] = []
      for (let i = 0; i < 250; i++) {
        if (i % 3 === 0) clock.advance(1) // some share created_at: ties break by id
        original.push(await make.task(token, {
          title: `t${String(i % 60).padStart(4, '0')}`,
          priority: priorities[i % 4],
          due_at: i % 5 === 0 ? null : new Date(Date.UTC(2027, 0, 1 + (i % 17))).toISOString()
        }))
      }
      const rank: Record<string, number> = { low: 0, medium: 1, high: 2, urgent: 3 }
      const keyOf = (task: TaskJson, sort: string): string | number | null =>
        sort === 'priority' ? (rank[task.priority] ?? -1) : sort === 'title' ? task.title : (task[sort as 'created_at' | 'updated_at' | 'due_at'])
      const inOrder = (a: TaskJson, b: TaskJson, sort: string, desc: boolean): boolean => {
        const ka = keyOf(a, sort)
        const kb = keyOf(b, sort)
        if (ka === null || kb === null) {
          if (ka !== null) return true // dated before undated, both directions
          if (kb !== null) return false
        } else if (ka !== kb) return desc ? ka > kb : ka < kb
        return desc ? a.id > b.id : a.id < b.id
      }

      let inserted = 0
      for (const sort of ['created_at', 'updated_at', 'due_at', 'priority', 'title']) {
        for (const desc of [false, true]) {
          const order = `${desc ? '-' : ''}${sort}`
          const seen: TaskJson[] = []
          let cursor: string | null = null
          do {
            const url: string = `/v1/tasks?sort=${order}&limit=37${cursor ? `&cursor=${cursor}` : ''}`
            const res = await app.inject({ method: 'GET', url, headers: make.bearer(token) })
            assert.equal(res.statusCode, 200, res.body)
            const page = res.json() as { data: TaskJson[], next_cursor: string | null }
            seen.push(...page.data)
            cursor = page.next_cursor
            // a concurrent writer inserts between pages
            await make.task(token, { title: `u${String(inserted++).padStart(4, '0')}`, priority: priorities[inserted % 4], due_at: inserted % 2 ? null : '2027-01-05T00:00:00.000Z' })
          } while (cursor)
          const ids = seen.map(x => x.id)
          assert.equal(new Set(ids).size, ids.length, `${order}: no row repeated`)
          const seenIds = new Set(ids)
          assert.ok(original.every(task => seenIds.has(task.id)), `${order}: no original row skipped`)
          for (let i = 1; i < seen.length; i++) {
            const [prev, next] = [seen[i - 1], seen[i]]
            assert.ok(prev && next && inOrder(prev, next, sort, desc), `${order}: rows ${i - 1} and ${i} out of order`)
          }
        }
      }
    })
  })
})

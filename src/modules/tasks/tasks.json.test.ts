// regression: #15 — the task listings' JSON is built by PostgreSQL (tasks.json.ts) instead of Drizzle's
// row mapping and the TaskView serializer. These tests hold it to the serializer's bytes: each listed
// task must read exactly as GET /v1/tasks/{id} (Drizzle's mapping + fast-json-stringify) writes it,
// and each next_cursor must be the one the mapped rows gave.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sql } from 'drizzle-orm'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildTestApp } from '../../../test/build-test-app.js'
import type { TaskJson } from '../../../test/factories.js'
import { storageLabel } from '../../../test/test-env.js'
import { nextPageUrl } from '../../core/http/page-links.js'
import { createCursors } from '../../core/pagination.js'
import { loadServerSecret } from '../../core/server-secrets.js'
import { TASK_JSON_FIELDS } from './tasks.json.js'
import { tasksRepository } from './tasks.repository.js'
import { SORT_KEYS, TaskView } from './tasks.schemas.js'
import { TASK_PRIORITIES, TASK_STATUSES } from './tasks.table.js'

const CONTROL = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).slice(1).join('')
const TITLES = [
  'plain',
  'quote " backslash \\ slash / both \\"',
  `controls ${CONTROL} end`,
  '\u007f DEL \u0080 C1 \u009f \u00a0 nbsp \u00ad soft hyphen',
  '\u2028 line separator \u2029 paragraph separator \ufeff BOM \ufffd replacement',
  'emoji 😀 clef 𝄞 combining e\u0301 flags 🇫🇷 zwj 👩‍💻',
  '</script><!-- & \'single\' `back` $(x) %s %_',
  'x'.repeat(200),
  `${'long with escapes "\\\n\t'.repeat(12)}`.slice(0, 200),
  '任务 タスク 작업 مهمة \u200f עברית',
  '\\u0000 and \\n written out',
  '  padded  ',
  'null',
  '{"json":"inside"}'
]
const DESCRIPTIONS = [null, '', `line one\nline two\r\n\ttabbed ${CONTROL} "q" \\ 😀`, `${'ünïcödé "quoted" \\ '.repeat(500)}`.slice(0, 10_000)]
const TAGS = [[], ['a'], ['quote"', 'back\\slash', `ctl${CONTROL.slice(0, 20)}`, 'ünï', '😀', '\u2028'], Array.from({ length: 20 }, (_, i) => `tag-${i}`)]
const DUE = [
  null, '0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z', '2026-06-01T12:00:00+05:30', '2026-01-01T00:00:00.5Z',
  '1970-01-01T00:00:00Z', '1969-12-31T23:59:59.999Z', '0099-03-01T00:00:00Z', '1000-02-28T23:59:59.123Z', '2024-02-29T00:00:00-23:59'
]

/** A user with one task per field shape (every status, priority, title, description, tags and due date), and a few rows with microseconds. */
async function fixture (t: Parameters<typeof buildTestApp>[0]) {
  const built = await buildTestApp(t)
  const { make, database, clock } = built
  const user = await make.user()
  const token = user.tokens.access_token
  const count = Math.max(TITLES.length, DUE.length, TASK_STATUSES.length * TASK_PRIORITIES.length)
  const tasks: TaskJson[] = []
  for (let i = 0; i < count; i++) {
    if (i % 4 === 0) clock.advance(1)
    tasks.push(await make.task(token, {
      title: TITLES[i % TITLES.length],
      description: DESCRIPTIONS[i % DESCRIPTIONS.length],
      status: TASK_STATUSES[i % TASK_STATUSES.length],
      priority: TASK_PRIORITIES[Math.floor(i / TASK_STATUSES.length) % TASK_PRIORITIES.length],
      tags: TAGS[i % TAGS.length],
      due_at: DUE[i % DUE.length]
    }))
  }
  // A timestamp written by other means (SQL, a restore) can carry microseconds: both readings truncate them to milliseconds.
  const [a, b] = tasks
  assert.ok(a && b)
  await database.db.execute(sql`update tasks set completed_at = '2026-03-04 05:06:07.890123+00' where id = ${a.id}`)
  await database.db.execute(sql`update tasks set completed_at = '9999-12-31 23:59:59.999999+00' where id = ${b.id}`)
  return { ...built, user, token, tasks }
}

/** GET /v1/tasks/{id} of each task: the serializer's bytes of the mapped row. */
async function singleBodies (app: FastifyInstance, token: string, ids: string[]): Promise<Map<string, string>> {
  const bodies = new Map<string, string>()
  for (const id of ids) {
    const res = await app.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: { authorization: `Bearer ${token}` } })
    assert.equal(res.statusCode, 200, res.body)
    bodies.set(id, res.body)
  }
  return bodies
}

describe(`task listings built as JSON in the database [${storageLabel}]`, () => {
  it('when TASK_JSON_FIELDS is compared with TaskView, then it names the same fields in the same order', () => {
    assert.deepEqual(TASK_JSON_FIELDS.map(([name]) => name), Object.keys(TaskView.properties))
  })

  it('when tasks hold every field shape, then every page in every sort and filter is byte for byte the serializer\'s JSON', async (t) => {
    const { app, token, tasks, user, make, config } = await fixture(t)
    const bodies = await singleBodies(app, token, tasks.map(task => task.id))
    const queries = [
      ...SORT_KEYS.flatMap(key => [`sort=${key}`, `sort=-${key}`]),
      ...TASK_STATUSES.map(s => `status=${s}`), ...TASK_PRIORITIES.map(p => `priority=${p}&sort=title`),
      'tag=quote%22', 'q=%5C', 'q=%22', 'q=%F0%9F%98%80', 'due_before=1971-01-01T00:00:00Z&sort=-due_at', 'due_after=2000-01-01T00:00:00Z&sort=due_at'
    ]
    let pages = 0
    for (const query of queries) {
      for (const limit of [1, 7, 100]) {
        let url: string | undefined = `/v1/tasks?${query}&limit=${limit}`
        while (url !== undefined) {
          const res: LightMyRequestResponse = await app.inject({ method: 'GET', url, headers: make.bearer(token) })
          assert.equal(res.statusCode, 200, `${url}: ${res.body}`)
          assert.equal(res.headers['content-type'], 'application/json; charset=utf-8')
          const page = res.json<{ data: TaskJson[], next_cursor: string | null }>()
          const expected = `{"data":[${page.data.map(task => bodies.get(task.id)).join(',')}],"next_cursor":${JSON.stringify(page.next_cursor)}}`
          assert.equal(res.body, expected, url)
          assert.equal(res.headers['content-length'], String(Buffer.byteLength(expected)))
          assert.ok(page.data.every(task => task.owner_id === user.id))
          if (page.next_cursor !== null) assert.equal(res.headers.link, `<${nextPageUrl(config.http.publicUrl, url, page.next_cursor)}>; rel="next"`)
          else assert.equal(res.headers.link, undefined)
          url = page.next_cursor === null ? undefined : `/v1/tasks?${query}&limit=${limit}&cursor=${page.next_cursor}`
          pages++
        }
      }
    }
    assert.ok(pages > 200, `${pages} pages compared`)
  })

  it('when sort keys carry microseconds, then the first page of every sort is still the serializer\'s JSON', async (t) => {
    // Only the first page: a key with microseconds is a cursor position the millisecond cursor cannot
    // name exactly (the same before and after #15; API writes carry milliseconds only).
    const { app, token, tasks, make, database } = await fixture(t)
    for (const [i, task] of tasks.slice(0, 4).entries()) {
      await database.db.execute(sql`update tasks set created_at = created_at + ${`${i}.456789 milliseconds`}::interval, updated_at = updated_at + interval '0.999 milliseconds',
        due_at = ${['0001-01-01 00:00:00.000001+00', '2026-07-08 09:10:11.999999+00', '9999-12-31 23:59:59.999999+00', '1969-12-31 23:59:59.9995+00'][i]}::timestamptz where id = ${task.id}`)
    }
    const bodies = await singleBodies(app, token, tasks.map(task => task.id))
    for (const sort of SORT_KEYS.flatMap(key => [key, `-${key}`])) {
      const res = await app.inject({ method: 'GET', url: `/v1/tasks?sort=${sort}&limit=100`, headers: make.bearer(token) })
      const page = res.json<{ data: TaskJson[], next_cursor: string | null }>()
      assert.equal(page.data.length, tasks.length)
      assert.equal(res.body, `{"data":[${page.data.map(task => bodies.get(task.id)).join(',')}],"next_cursor":null}`, sort)
    }
  })

  it('when a page has a next one, then its cursor is the one the mapped rows sealed (old cursors still open, new ones open on old servers)', async (t) => {
    const { app, token, user, make, database } = await fixture(t)
    const cursors = createCursors(await loadServerSecret(database.db, 'cursor'))
    for (const key of SORT_KEYS) {
      for (const sort of [key, `-${key}`]) {
        const res = await app.inject({ method: 'GET', url: `/v1/tasks?sort=${sort}&limit=3`, headers: make.bearer(token) })
        const page = res.json<{ data: TaskJson[], next_cursor: string | null }>()
        const last = page.data.at(-1)
        assert.ok(last)
        // The previous implementation: the key read from the row as Drizzle maps it.
        const row = await tasksRepository.findById(database.db, last.id)
        assert.ok(row)
        const value = key === 'priority' ? row.priority_rank : key === 'title' ? row.title : row[key]?.toISOString() ?? null
        assert.equal(page.next_cursor, cursors.seal({ list: 'tasks', owner: user.id, sort }, [value, row.id]), sort)
      }
    }
  })

  it('when an admin lists a user\'s tasks, then the pages are the same bytes as the owner\'s', async (t) => {
    const { app, token, user, make } = await fixture(t)
    const admin = await make.admin()
    const own = await app.inject({ method: 'GET', url: '/v1/tasks?limit=100&sort=title', headers: make.bearer(token) })
    const all = await app.inject({ method: 'GET', url: `/v1/admin/tasks?owner_id=${user.id}&limit=100&sort=title`, headers: make.bearer(admin.tokens.access_token) })
    assert.equal(all.statusCode, 200, all.body)
    assert.equal(all.headers['content-type'], 'application/json; charset=utf-8')
    assert.deepEqual(all.json<{ data: unknown[] }>().data, own.json<{ data: unknown[] }>().data)
    assert.equal(all.body.slice(0, all.body.lastIndexOf('"next_cursor"')), own.body.slice(0, own.body.lastIndexOf('"next_cursor"')))
    const paged = await app.inject({ method: 'GET', url: `/v1/admin/tasks?owner_id=${user.id}&limit=2`, headers: make.bearer(admin.tokens.access_token) })
    const next = paged.json<{ next_cursor: string | null }>().next_cursor
    assert.ok(next)
    assert.match(String(paged.headers.link), /^<http[^>]+\/v1\/admin\/tasks\?owner_id=[^>]+&limit=2&cursor=[^>]+>; rel="next"$/)
  })

  it('when the list is asked with HEAD, then it answers like GET without a body', async (t) => {
    const { app, token, make } = await fixture(t)
    const get = await app.inject({ method: 'GET', url: '/v1/tasks?limit=2', headers: make.bearer(token) })
    const head = await app.inject({ method: 'HEAD', url: '/v1/tasks?limit=2', headers: make.bearer(token) })
    assert.equal(head.statusCode, 200)
    assert.equal(head.body, '')
    assert.equal(head.headers['content-type'], get.headers['content-type'])
    assert.equal(head.headers['content-length'], get.headers['content-length'])
    assert.ok(head.headers.link)
  })
})

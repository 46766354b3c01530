// The reference rows of `npm run bench`: a bare Fastify app (no auth, no hooks, no plugins) on the same
// database as the server.
// - R0: a constant JSON body.
// - R1: the same primary-key SELECT as GET /v1/tasks/{id} (the server's own repository call).
// - R3: the first page of GET /v1/tasks?limit=100 with the default sort, for the user BENCH_LIST_OWNER.
//   Its SQL is written out here, not taken from the server's repository, so that R3 stays the same
//   while the server's listing changes; the page goes out in the API's envelope (`data`, `next_cursor`,
//   a `Link` header) through plain JSON.stringify, with no response schema.
// `npm run bench` runs this file compiled, like the server: transpiled into dist/ beside the build and
// started with the same node flags.
import { createHmac, randomBytes } from 'node:crypto'
import type { PGlite } from '@electric-sql/pglite'
import Fastify from 'fastify'
import type pg from 'pg'
import { sql } from 'drizzle-orm'
import { createDb } from '../src/core/db.js'
import { tasksRepository } from '../src/modules/tasks/tasks.repository.js'

const port = Number(process.env.PORT ?? 3000)
const database = await createDb({ url: process.env.DATABASE_URL || undefined, dataDir: process.env.DATA_DIR })
const app = Fastify({ logger: false })
const Task = {
  type: 'object',
  properties: { id: { type: 'string' }, title: { type: 'string' }, description: { type: ['string', 'null'] }, status: { type: 'string' }, priority: { type: 'string' }, due_at: { type: ['string', 'null'], format: 'date-time' }, tags: { type: 'array', items: { type: 'string' } }, owner_id: { type: 'string' }, created_at: { type: 'string', format: 'date-time' }, updated_at: { type: 'string', format: 'date-time' }, completed_at: { type: ['string', 'null'], format: 'date-time' } }
}

/** A task row of R3, in the API's field order; timestamps as the driver parses them (Date). */
interface TaskRow { id: string, title: string, description: string | null, status: string, priority: string, due_at: Date | null, tags: string[], owner_id: string, created_at: Date, updated_at: Date, completed_at: Date | null }

/** GET /v1/tasks?limit=100: the caller's tasks, newest first, ties by id; limit + 1 rows (the extra one says whether a next page exists). */
const PAGE = 100
const LIST_SQL = `select id, title, description, status, priority, due_at, tags, owner_id, created_at, updated_at, completed_at
  from tasks where owner_id = $1 order by created_at desc, id desc limit $2`
const owner = process.env.BENCH_LIST_OWNER ?? ''
const client = (database.db as unknown as { $client: pg.Pool | PGlite }).$client
// On PostgreSQL a named (server-side prepared) statement, as the server's hot lookups are.
const listRows = database.kind === 'postgres'
  ? async (): Promise<TaskRow[]> => (await (client as pg.Pool).query<TaskRow>({ name: 'r3_tasks_page', text: LIST_SQL, values: [owner, PAGE + 1] })).rows
  : async (): Promise<TaskRow[]> => (await (client as PGlite).query<TaskRow>(LIST_SQL, [owner, PAGE + 1])).rows

/** A next-page cursor as the server makes one (core/pagination.ts): HMAC-SHA-256 over the list's scope and the position, truncated to 128 bits, then the position; base64url. */
const cursorKey = randomBytes(32)
const scope = JSON.stringify([['list', 'tasks'], ['owner', owner], ['sort', '-created_at']])
function nextCursor (last: TaskRow): string {
  const payload = Buffer.from(JSON.stringify([last.created_at.toISOString(), last.id]), 'utf8')
  const mac = createHmac('sha256', cursorKey).update('taskflow-cursor-v1\0').update(scope).update('\0').update(payload).digest().subarray(0, 16)
  return Buffer.concat([mac, payload]).toString('base64url')
}

app.get('/readyz', async () => ({ status: 'ok' }))
app.get('/r0', { schema: { response: { 200: { type: 'object', properties: { hello: { type: 'string' } } } } } }, async () => ({ hello: 'world' }))
app.get<{ Params: { id: string } }>('/r1/:id', { schema: { response: { 200: Task } } }, async (req) => tasksRepository.findById(database.db, req.params.id))
app.get('/r3', async (_req, reply) => {
  const rows = await listRows()
  const data = rows.length > PAGE ? rows.slice(0, PAGE) : rows
  const last = data.at(-1)
  const next = rows.length > PAGE && last ? nextCursor(last) : null
  if (next !== null) reply.header('link', `<http://127.0.0.1:${port}/v1/tasks?limit=${PAGE}&cursor=${next}>; rel="next"`)
  return reply.type('application/json; charset=utf-8').send(JSON.stringify({ data, next_cursor: next }))
})
app.get('/any-task-id', async (_req, reply) => {
  const rows = await database.db.execute<{ id: string }>(sql`select id from tasks limit 1`)
  const list = Array.isArray(rows) ? rows : (rows as { rows: Array<{ id: string }> }).rows
  return reply.type('text/plain').send(list[0]?.id ?? '')
})
process.once('SIGTERM', () => { app.close().then(() => database.close()).then(() => process.exit(0), () => process.exit(1)) })
await app.listen({ host: '127.0.0.1', port })

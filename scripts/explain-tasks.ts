// Prints the query plans of the common task listings over a large table, so the indexes that serve
// them can be checked: `npm run explain:tasks` (PostgreSQL when DATABASE_URL is set, else in-memory
// PGlite). Seeds TASKS rows (default 100,000) for one user plus as many spread over 1,000 others,
// in a database of its own that it drops afterwards.
import { randomBytes } from 'node:crypto'
import { PGlite } from '@electric-sql/pglite'
import { pg_trgm as pgTrgm } from '@electric-sql/pglite/contrib/pg_trgm'
import { sql } from 'drizzle-orm'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import pg from 'pg'
import * as schema from '../src/db-schema.js'
import type { Database, Db } from '../src/core/db.js'
import { runMigrations } from '../src/core/migrate.js'
import { createCursors } from '../src/core/pagination.js'
import { tasksRepository, type TaskListQuery } from '../src/modules/tasks/tasks.repository.js'
import { seedTasksSql } from './seed-tasks.js'

const count = Number(process.env.TASKS ?? 100_000)
let lastQuery: { sql: string, params: unknown[] } = { sql: '', params: [] }
const logger = { logQuery: (query: string, params: unknown[]) => { lastQuery = { sql: query, params } } }

async function open (): Promise<{ database: Database, raw: (text: string, params: unknown[]) => Promise<Array<Record<string, unknown>>>, close: () => Promise<void> }> {
  const url = process.env.DATABASE_URL
  if (!url) {
    const client = await PGlite.create({ extensions: { pg_trgm: pgTrgm } })
    const db = drizzlePglite(client, { schema, logger }) as unknown as Db
    return {
      database: { db, kind: 'pglite', ping: async () => {}, close: () => client.close() },
      raw: async (text, params) => (await client.query<Record<string, unknown>>(text, params)).rows,
      close: () => client.close()
    }
  }
  const name = `taskflow_explain_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  await admin.query(`create database ${name}`)
  const target = new URL(url)
  target.pathname = `/${name}`
  const pool = new pg.Pool({ connectionString: target.toString(), max: 2 })
  const db = drizzlePg(pool, { schema, logger }) as unknown as Db
  return {
    database: { db, kind: 'postgres', ping: async () => {}, close: () => pool.end() },
    raw: async (text, params) => (await pool.query(text, params)).rows,
    close: async () => {
      await pool.end()
      await admin.query(`drop database ${name} with (force)`)
      await admin.end()
    }
  }
}

const { database, raw, close } = await open()
try {
  await runMigrations(database)
  const db = database.db
  const me = '01a20000-0000-7000-8000-000000000001'
  await db.execute(sql`insert into users (id, email, password_hash, created_at, updated_at)
    select ('01a20000-0000-7000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, 'u' || g || '@example.test', 'x', now(), now()
    from generate_series(1, 1001) g`)
  const seed = (owner: string, n: number) => sql.raw(seedTasksSql(owner, n))
  await db.execute(seed(`'${me}'::uuid`, count))
  await db.execute(seed('(\'01a20000-0000-7000-8000-\' || lpad(to_hex(2 + g % 1000), 12, \'0\'))::uuid', count))
  await db.execute(sql`analyze`)

  const cursors = createCursors(randomBytes(32))
  const cases: Array<[string, Partial<TaskListQuery>]> = [
    ['default: GET /v1/tasks (sort -created_at, limit 50)', {}],
    ['status=todo', { status: 'todo' }],
    ['sort=priority', { sort: 'priority', descending: false }],
    ['sort=-due_at', { sort: 'due_at', descending: true }],
    ['sort=title', { sort: 'title', descending: false }],
    ['tag=work', { tag: 'work' }],
    ['q=report (matches nothing)', { q: 'report' }],
    ['q=task (matches every task)', { q: 'task' }]
  ]
  console.log(`# Task listing plans: ${count.toLocaleString('en')} tasks for the caller, ${count.toLocaleString('en')} for 1,000 others (${database.kind})\n`)
  for (const [label, query] of cases) {
    await tasksRepository.list(db, { list: 'tasks', ownerId: me, sort: 'created_at', descending: true, limit: 50, ...query }, cursors)
    const plan = await raw(`explain (analyze, costs off, timing on, summary on) ${lastQuery.sql}`, lastQuery.params)
    console.log(`## ${label}\n\n\`\`\`sql\n${lastQuery.sql}\n\`\`\`\n\n\`\`\`\n${plan.map(r => Object.values(r)[0]).join('\n')}\n\`\`\`\n`)
  }
} finally {
  await close()
}

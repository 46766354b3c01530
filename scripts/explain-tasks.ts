// Prints the query plans of the common task listings over a large table, so the indexes that serve
// them can be checked: `npm run explain:tasks` (PostgreSQL when DATABASE_URL is set, else in-memory
// PGlite). Seeds TASKS rows (default 100,000) for one user plus as many spread over 1,000 others,
// in a database of its own that it drops afterwards. The listings without filters run as kept
// prepared statements (tasks.repository.ts): for those it also prints the generic plan, which
// PostgreSQL may switch to after five executions, and says whether it differs from the custom one.
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

type Rows = Array<Record<string, unknown>>
/** The storage; `session` runs statements in order on one connection and returns the last one's rows. */
async function open (): Promise<{ database: Database, raw: (text: string, params: unknown[]) => Promise<Rows>, session: (statements: string[]) => Promise<Rows>, close: () => Promise<void> }> {
  const url = process.env.DATABASE_URL
  if (!url) {
    const client = await PGlite.create({ extensions: { pg_trgm: pgTrgm } })
    const db = drizzlePglite(client, { schema, logger }) as unknown as Db
    return {
      database: { db, kind: 'pglite', ping: async () => {}, close: () => client.close() },
      raw: async (text, params) => (await client.query<Record<string, unknown>>(text, params)).rows,
      session: async (statements) => {
        let rows: Rows = []
        for (const statement of statements) rows = (await client.query<Record<string, unknown>>(statement)).rows
        return rows
      },
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
    session: async (statements) => {
      const client = await pool.connect()
      try {
        let rows: Rows = []
        for (const statement of statements) rows = (await client.query(statement)).rows
        return rows
      } finally {
        await client.query('discard all')
        client.release()
      }
    },
    close: async () => {
      await pool.end()
      await admin.query(`drop database ${name} with (force)`)
      await admin.end()
    }
  }
}

const { database, raw, session, close } = await open()

/** A query parameter as an SQL literal (PREPARE … EXECUTE takes literals). */
const literal = (value: unknown) => `'${(value instanceof Date ? value.toISOString() : String(value)).replaceAll("'", "''")}'`
/** The plan PostgreSQL uses for a kept prepared statement once it settles on a generic plan. */
async function plan (mode: 'force_custom_plan' | 'force_generic_plan', query: { sql: string, params: unknown[] }): Promise<string> {
  const rows = await session([`set plan_cache_mode = ${mode}`, `prepare listing as ${query.sql}`, `explain (costs off) execute listing(${query.params.map(literal).join(', ')})`])
  return rows.map(r => Object.values(r)[0]).join('\n')
}
/** The listing's select list (one task's JSON, tasks.json.ts) is long: shown as a name. */
const shortSql = (text: string) => text.replace(/^select .* from "tasks"/, 'select /* TASK_JSON */ from "tasks"')
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
  const unfiltered: Array<[string, { sql: string, params: unknown[] }]> = []
  for (const [label, query] of cases) {
    await tasksRepository.list(db, { list: 'tasks', ownerId: me, sort: 'created_at', descending: true, limit: 50, ...query }, cursors)
    const analyzed = await raw(`explain (analyze, costs off, timing on, summary on) ${lastQuery.sql}`, lastQuery.params)
    console.log(`## ${label}\n\n\`\`\`sql\n${shortSql(lastQuery.sql)}\n\`\`\`\n\n\`\`\`\n${analyzed.map(r => Object.values(r)[0]).join('\n')}\n\`\`\`\n`)
    if (!query.status && !query.tag && !query.q) unfiltered.push([label, lastQuery])
  }
  if (database.kind === 'postgres') {
    console.log('## Kept prepared statements: generic plans\n')
    for (const [label, query] of unfiltered) {
      const [custom, generic] = [await plan('force_custom_plan', query), await plan('force_generic_plan', query)]
      const same = custom.replace(/'[^']*'(::\w+)?|\$\d+/g, '?') === generic.replace(/'[^']*'(::\w+)?|\$\d+/g, '?')
      console.log(`### ${label}: ${same ? 'same as the custom plan' : 'DIFFERS from the custom plan'}\n\n\`\`\`\n${generic}\n\`\`\`\n`)
    }
  }
} finally {
  await close()
}

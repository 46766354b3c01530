import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { asc, eq } from 'drizzle-orm'
import type { FastifyBaseLogger } from 'fastify'
import { loadConfig } from '../src/config.js'
import { systemClock } from '../src/core/clock.js'
import { createDb } from '../src/core/db.js'
import { runMigrations } from '../src/core/migrate.js'
import { createAuditService } from '../src/modules/audit/audit.service.js'
import { auditEventsTable } from '../src/modules/audit/audit.table.js'
import { createAuditChain } from '../src/modules/audit/chain.js'
import { storageEnv } from './real-server.js'
import { runCli } from './run-cli.js'
import { storageLabel } from './test-env.js'
import { randomBytes } from 'node:crypto'
import { createCursors } from '../src/core/pagination.js'

/** Opens the same storage as the CLI (between CLI runs: the embedded directory has one owner at a time). */
async function withStorage<T> (env: Record<string, string>, job: (db: Awaited<ReturnType<typeof createDb>>['db']) => Promise<T>): Promise<T> {
  const config = loadConfig(env)
  const database = await createDb({ url: config.db.url, dataDir: config.db.dataDir, poolSize: 2 })
  try {
    await runMigrations(database)
    return await job(database.db)
  } finally {
    await database.close()
  }
}

describe(`taskflow audit verify [${storageLabel}]`, () => {
  it('when the audit log is intact, then audit verify exits 0 with the count; once a row is changed, non-zero naming it', async (t) => {
    const env = await storageEnv(t)
    const log = { error: () => {} } as unknown as FastifyBaseLogger
    await withStorage(env, async (db) => {
      const audit = createAuditService({ db, clock: systemClock, log, cursors: createCursors(randomBytes(32)) })
      for (let i = 0; i < 5; i++) await audit.note({ type: 'login.failure', details: { identifier: `cli${i}@example.com` } })
    })
    const ok = await runCli(['audit', 'verify'], env)
    assert.equal(ok.code, 0, ok.stderr)
    const checked = Number(/(\d+) events checked/.exec(ok.stdout)?.[1])
    assert.ok(checked >= 5)

    const victim = await withStorage(env, async (db) => {
      await createAuditChain({ db }).seal()
      const rows = await db.select().from(auditEventsTable).orderBy(asc(auditEventsTable.seq))
      const row = rows[Math.floor(rows.length / 2)]
      assert.ok(row)
      await db.update(auditEventsTable).set({ ip: '198.51.100.7' }).where(eq(auditEventsTable.id, row.id))
      return row.id
    })
    const bad = await runCli(['audit', 'verify'], env)
    assert.notEqual(bad.code, 0)
    assert.match(bad.stderr, new RegExp(`first bad event: ${victim}`))
  })
})

import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { sql } from 'drizzle-orm'
import { createDb, rawRows } from './db.js'

describe('createDb, embedded (PGlite)', () => {
  it('when DATA_DIR is new, then it is initialised, opens with the memory settings, and keeps its data when reopened', async (t) => {
    const dir = mkdtempSync(join(process.env.TEST_DATA_ROOT ?? tmpdir(), 'db-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))

    const first = await createDb({ dataDir: dir })
    try {
      assert.ok(existsSync(join(dir, 'PG_VERSION')), 'initdb wrote the data directory')
      const [settings] = await rawRows<{ shared_buffers: string }>(first.db, sql`show shared_buffers`)
      assert.equal(settings?.shared_buffers, '16MB')
      await first.db.execute(sql`create table kept (n int)`)
      await first.db.execute(sql`insert into kept values (42)`)
    } finally {
      await first.close()
    }

    const again = await createDb({ dataDir: dir })
    t.after(() => again.close())
    assert.deepEqual(await rawRows(again.db, sql`select n from kept`), [{ n: 42 }])
    const [settings] = await rawRows<{ shared_buffers: string }>(again.db, sql`show shared_buffers`)
    assert.equal(settings?.shared_buffers, '16MB', 'the settings apply on every start, not only at initdb')
  })

  it('when the database is in memory (tests, scripts), then it runs with the same settings', async (t) => {
    const database = await createDb({})
    t.after(() => database.close())
    const [settings] = await rawRows<{ shared_buffers: string }>(database.db, sql`show shared_buffers`)
    assert.equal(settings?.shared_buffers, '16MB')
  })
})

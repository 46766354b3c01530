import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { inArray } from 'drizzle-orm'
import type { FastifyBaseLogger } from 'fastify'
import { systemClock } from '../../core/clock.js'
import type { Db } from '../../core/db.js'
import { newId } from '../../core/ids.js'
import { createCursors } from '../../core/pagination.js'
import { sharedStorage } from '../../../test/build-test-app.js'
import { storageLabel } from '../../../test/test-env.js'
import { createAuditService } from './audit.service.js'
import { auditEventsTable } from './audit.table.js'

/** A db whose insert() calls are counted (and, with `fail`, fail). */
function countingDb (db: Db, fail = false): { db: Db, inserts: () => number } {
  let inserts = 0
  const proxy = new Proxy(db, {
    get (target, prop, receiver) {
      if (prop !== 'insert') return Reflect.get(target, prop, receiver) as unknown
      return (...args: Parameters<Db['insert']>) => {
        inserts++
        // Like a real database failure, the insert fails when it runs, not when it is built.
        if (fail) return { values: async () => { throw new Error('connection refused') } }
        return target.insert(...args)
      }
    }
  })
  return { db: proxy, inserts: () => inserts }
}

const cursors = createCursors(randomBytes(32))

function recordingLog (): { log: FastifyBaseLogger, errors: unknown[] } {
  const errors: unknown[] = []
  const log = { error: (obj: unknown) => { errors.push(obj) } } as unknown as FastifyBaseLogger
  return { log, errors }
}

describe(`audit notes [${storageLabel}]`, () => {
  it('when many notes arrive while one is being written, then they are written together and every caller resumes after its own entry', async () => {
    const { database } = await sharedStorage()
    const { db, inserts } = countingDb(database.db)
    const audit = createAuditService({ db, clock: systemClock, log: recordingLog().log, cursors })
    const userIds = Array.from({ length: 40 }, () => newId())
    await Promise.all(userIds.map(userId => audit.note({ type: 'login.failure', userId, details: { reason: 'invalid_credentials' } })))
    const rows = await database.db.select({ user_id: auditEventsTable.user_id }).from(auditEventsTable).where(inArray(auditEventsTable.user_id, userIds))
    assert.equal(rows.length, 40)
    assert.equal(inserts(), 2, 'the first note alone, then the 39 that waited for it in one insert')
  })

  it('when the database fails, then notes still resolve and the loss is logged, never thrown', async () => {
    const { database } = await sharedStorage()
    const { log, errors } = recordingLog()
    const audit = createAuditService({ db: countingDb(database.db, true).db, clock: systemClock, log, cursors })
    await Promise.all([audit.note({ type: 'logout' }), audit.note({ type: 'logout' }), audit.note({ type: 'token.refresh' })])
    assert.equal(errors.length, 2)
    assert.deepEqual(errors.map(e => (e as { count: number }).count), [1, 2])
    assert.ok(errors.every(e => (e as { code: string }).code === 'audit_write_failed'))
  })
})

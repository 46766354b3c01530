import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { eq, inArray } from 'drizzle-orm'
import { buildTestApp } from '../../test/build-test-app.js'
import { servicesRun, storageLabel } from '../../test/test-env.js'
import type { Clock } from '../core/clock.js'
import { LOCKS } from '../core/locks.js'
import { createMetrics } from '../core/metrics.js'
import { sessionCleanupRules } from '../modules/auth/index.js'
import { sessionsTable, spentRefreshTokensTable } from '../modules/auth/sessions.table.js'
import { createCleanup } from './cleanup.js'
import { sql } from 'drizzle-orm'

const DAY = 86_400

describe(`clean-up job [${storageLabel}]`, () => {
  it('when sessions ended over 30 days ago, then they go with their spent refresh tokens; newer ended and live sessions stay', async (t) => {
    const { app, make, clock, database } = await buildTestApp(t)
    const [ended, recent, live] = await Promise.all([make.user(), make.user(), make.user()])
    let token = ended.tokens.refresh_token
    for (let i = 0; i < 3; i++) {
      token = (await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: token } })).json().refresh_token
    }
    const endedSession = (await database.db.select().from(sessionsTable).where(eq(sessionsTable.user_id, ended.id)))[0]
    assert.ok(endedSession)
    assert.equal((await database.db.select().from(spentRefreshTokensTable).where(eq(spentRefreshTokensTable.session_id, endedSession.id))).length, 3)
    await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: make.bearer(ended.tokens.access_token) })
    clock.advance(2 * DAY)
    await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: live.tokens.refresh_token } }) // live stays live
    const recentLogin = await make.login({ email: recent.email })
    await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: make.bearer(recentLogin.access_token) })

    const metrics = createMetrics({ defaultMetrics: false })
    const logged: unknown[] = []
    const at = (seconds: number): Clock => ({ now: () => new Date(clock.now().getTime() + seconds * 1000) })
    const run = (seconds: number) => createCleanup({ db: database.db, clock: at(seconds), rules: sessionCleanupRules(), metrics, log: { info: (obj: unknown) => { logged.push(obj) } }, batchSize: 2 }).runOnce()

    await run(27 * DAY)
    const ids = async (userId: string) => (await database.db.select({ id: sessionsTable.id }).from(sessionsTable).where(eq(sessionsTable.user_id, userId))).map(r => r.id)
    assert.ok((await ids(ended.id)).includes(endedSession.id), 'ended 29 days ago: kept')

    const counts = await run(29 * DAY)
    assert.ok(!(await ids(ended.id)).includes(endedSession.id), 'ended 31 days ago: removed')
    assert.equal((await database.db.select().from(spentRefreshTokensTable).where(eq(spentRefreshTokensTable.session_id, endedSession.id))).length, 0)
    assert.ok((counts.sessions ?? 0) >= 1 && (counts.spent_refresh_tokens ?? 0) >= 3)
    assert.equal((await ids(recent.id)).length, 2, 'ended under 30 days ago (logged out 29 days ago; refresh token expired a day ago): kept')
    assert.equal((await ids(live.id)).length, 1)
    const metricText = await metrics.registry.metrics()
    assert.match(metricText, /cleanup_rows_deleted_total\{table="sessions"\} [1-9]/)
    assert.match(metricText, /cleanup_rows_deleted_total\{table="spent_refresh_tokens"\} [3-9]/)
    assert.ok(logged.some(l => (l as { code?: string }).code === 'cleanup'))
  })

  it('when another instance holds the clean-up lock, then this one deletes nothing and returns at once', { skip: !servicesRun && 'one connection on the embedded path: no second holder possible' }, async (t) => {
    const { make, clock, database } = await buildTestApp(t)
    const user = await make.user()
    await database.db.update(sessionsTable).set({ revoked_at: new Date(clock.now().getTime() - 40 * DAY * 1000) }).where(eq(sessionsTable.user_id, user.id))
    let release: () => void = () => {}
    const held = new Promise<void>(resolve => { release = resolve })
    let locked: () => void = () => {}
    const isLocked = new Promise<void>(resolve => { locked = resolve })
    const holder = database.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${LOCKS.cleanup})`)
      locked()
      await held
    })
    await isLocked
    const counts = await createCleanup({ db: database.db, clock, rules: sessionCleanupRules() }).runOnce()
    release()
    await holder
    assert.deepEqual(counts, {})
    assert.equal((await database.db.select().from(sessionsTable).where(inArray(sessionsTable.user_id, [user.id]))).length, 1)
  })
})

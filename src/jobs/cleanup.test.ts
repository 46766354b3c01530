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
import { randomUUID } from 'node:crypto'
import { createIdempotencyStore, idempotencyCleanupRule } from '../core/idempotency.js'
import { idempotencyKeysTable } from '../core/idempotency.table.js'
import { mfaCleanupRules } from '../modules/mfa/index.js'
import { mfaChallengesTable, mfaTotpTable } from '../modules/mfa/mfa.table.js'

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

  it('when MFA tokens are used or past their 300 s, then they go; an unused one still within its time stays', async (t) => {
    const { make, clock, database } = await buildTestApp(t)
    const user = await make.user()
    const now = clock.now()
    const at = (s: number) => new Date(now.getTime() + s * 1000)
    const challenge = (expiresIn: number, usedAt: Date | null = null) => ({
      id: randomUUID(), token_hash: randomUUID(), user_id: user.id, method: 'password', created_at: at(expiresIn - 300), expires_at: at(expiresIn), used_at: usedAt
    })
    const [expired, used, fresh] = [challenge(-1), challenge(200, at(-50)), challenge(200)]
    await database.db.insert(mfaChallengesTable).values([expired, used, fresh])
    const counts = await createCleanup({ db: database.db, clock, rules: mfaCleanupRules() }).runOnce()
    const left = (await database.db.select({ id: mfaChallengesTable.id }).from(mfaChallengesTable).where(eq(mfaChallengesTable.user_id, user.id))).map(r => r.id)
    assert.deepEqual(left, [fresh.id])
    assert.ok((counts.mfa_challenges ?? 0) >= 2)
  })

  it('when a pending TOTP set-up is past its 600 s, then it goes; a newer pending one and an active factor stay', async (t) => {
    const { make, clock, database } = await buildTestApp(t)
    const [stale, pending, active] = await Promise.all([make.user(), make.user(), make.user()])
    const now = clock.now()
    const at = (s: number) => new Date(now.getTime() + s * 1000)
    await database.db.insert(mfaTotpTable).values([
      { user_id: stale.id, secret_enc: 'v1.x', status: 'pending', pending_expires_at: at(-1), created_at: at(-601) },
      { user_id: pending.id, secret_enc: 'v1.x', status: 'pending', pending_expires_at: at(300), created_at: at(-300) },
      { user_id: active.id, secret_enc: 'v1.x', status: 'active', pending_expires_at: null, created_at: at(-90 * DAY), activated_at: at(-90 * DAY) }
    ])
    const counts = await createCleanup({ db: database.db, clock, rules: mfaCleanupRules() }).runOnce()
    const left = (await database.db.select({ user_id: mfaTotpTable.user_id }).from(mfaTotpTable).where(inArray(mfaTotpTable.user_id, [stale.id, pending.id, active.id]))).map(r => r.user_id)
    assert.deepEqual(left.sort(), [pending.id, active.id].sort())
    assert.ok((counts.mfa_totp ?? 0) >= 1)
  })

  it('when an idempotency key is over 24 hours old, then it goes; a younger one stays', async (t) => {
    const { make, clock, database } = await buildTestApp(t)
    const user = await make.user()
    const store = createIdempotencyStore({ db: database.db, clock })
    await store.take(user.id, 'old-key', 'fp')
    clock.advance(12 * 3600)
    await store.take(user.id, 'fresh-key', 'fp')
    const keys = async () => (await database.db.select({ key: idempotencyKeysTable.key }).from(idempotencyKeysTable).where(eq(idempotencyKeysTable.user_id, user.id))).map(r => r.key).sort()
    clock.advance(12 * 3600 - 1)
    await createCleanup({ db: database.db, clock, rules: [idempotencyCleanupRule()] }).runOnce()
    assert.deepEqual(await keys(), ['fresh-key', 'old-key'], 'just under 24 hours: both kept')
    clock.advance(1)
    const counts = await createCleanup({ db: database.db, clock, rules: [idempotencyCleanupRule()] }).runOnce()
    assert.deepEqual(await keys(), ['fresh-key'])
    assert.ok((counts.idempotency_keys ?? 0) >= 1)
  })
})

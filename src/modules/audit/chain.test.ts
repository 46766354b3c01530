import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { asc, eq, isNotNull, sql } from 'drizzle-orm'
import type { FastifyBaseLogger } from 'fastify'
import { buildTestApp, type TestApp } from '../../../test/build-test-app.js'
import { storageLabel } from '../../../test/test-env.js'
import { auditCommand } from '../../cli/audit.js'
import { systemClock } from '../../core/clock.js'
import { newId } from '../../core/ids.js'
import { createCleanup } from '../../jobs/cleanup.js'
import { createAuditService } from './audit.service.js'
import { auditChainTable, auditEventsTable } from './audit.table.js'
import { auditRetentionRule, chainHash, createAuditChain } from './chain.js'
import { randomBytes } from 'node:crypto'
import { createCursors } from '../../core/pagination.js'

const silent = { error: () => {} } as unknown as FastifyBaseLogger

async function verifyOverHttp (ctx: TestApp, token: string) {
  const res = await ctx.app.inject({ method: 'GET', url: '/v1/admin/audit-events/verify', headers: ctx.make.bearer(token) })
  assert.equal(res.statusCode, 200)
  return res.json<{ ok: boolean, checked: number, first_invalid_id: string | null }>()
}

/** Sealed events, in chain order. */
async function sealedEvents (ctx: TestApp) {
  await createAuditChain({ db: ctx.database.db }).seal()
  return ctx.database.db.select().from(auditEventsTable).where(isNotNull(auditEventsTable.seq)).orderBy(asc(auditEventsTable.seq))
}

describe(`audit hash chain [${storageLabel}]`, () => {
  it('when notes are group-committed concurrently and then sealed, then the chain verifies over HTTP and the CLI; a non-admin gets 403', async (t) => {
    const ctx = await buildTestApp(t)
    const audit = createAuditService({ db: ctx.database.db, clock: systemClock, log: silent, cursors: createCursors(randomBytes(32)) })
    await Promise.all(Array.from({ length: 30 }, (_, i) => audit.note({ type: 'login.failure', details: { n: i, identifier: `x${i}@example.com` } })))
    const admin = await ctx.make.admin()
    const user = await ctx.make.user()

    const result = await verifyOverHttp(ctx, admin.tokens.access_token)
    assert.deepEqual({ ok: result.ok, first_invalid_id: result.first_invalid_id }, { ok: true, first_invalid_id: null })
    const total = (await ctx.database.db.select().from(auditEventsTable)).length
    assert.equal(result.checked, total, 'every event was sealed and checked')
    const seqs = (await sealedEvents(ctx)).map(e => e.seq)
    assert.deepEqual(seqs, seqs.map((_, i) => (seqs[0] ?? 0) + i), 'consecutive sequence numbers')
    const cli = await auditCommand({ db: ctx.database.db, clock: ctx.clock, config: ctx.config }, ['verify'])
    assert.equal(cli.ok, true)
    assert.match(cli.message, new RegExp(`${total} events checked`))
    const forbidden = await ctx.app.inject({ method: 'GET', url: '/v1/admin/audit-events/verify', headers: ctx.make.bearer(user.tokens.access_token) })
    assert.equal(forbidden.statusCode, 403)
  })

  it('when a row is changed through SQL, then verification names exactly that event; restored, it passes again', async (t) => {
    const ctx = await buildTestApp(t)
    const admin = await ctx.make.admin()
    await ctx.make.user()
    const events = await sealedEvents(ctx)
    const victim = events[Math.floor(events.length / 2)]
    assert.ok(victim)
    await ctx.database.db.execute(sql`update audit_events set details = '{"identifier":"someone-else@example.com"}'::jsonb where id = ${victim.id}`)

    const result = await verifyOverHttp(ctx, admin.tokens.access_token)
    assert.equal(result.ok, false)
    assert.equal(result.first_invalid_id, victim.id)
    const cli = await auditCommand({ db: ctx.database.db, clock: ctx.clock, config: ctx.config }, ['verify'])
    assert.equal(cli.ok, false)
    assert.match(cli.message, new RegExp(victim.id))
    assert.match(cli.message, /changed/)

    await ctx.database.db.update(auditEventsTable).set({ details: victim.details }).where(eq(auditEventsTable.id, victim.id))
    assert.equal((await verifyOverHttp(ctx, admin.tokens.access_token)).ok, true)
  })

  it('when a row in the middle is deleted through SQL, then verification names the event after the gap', async (t) => {
    const ctx = await buildTestApp(t)
    const admin = await ctx.make.admin()
    await ctx.make.user()
    const events = await sealedEvents(ctx)
    const i = Math.floor(events.length / 2)
    const [victim, next] = [events[i], events[i + 1]]
    assert.ok(victim && next)
    await ctx.database.db.execute(sql`delete from audit_events where id = ${victim.id}`)

    const result = await verifyOverHttp(ctx, admin.tokens.access_token)
    assert.deepEqual({ ok: result.ok, first_invalid_id: result.first_invalid_id }, { ok: false, first_invalid_id: next.id })
    assert.match((await auditCommand({ db: ctx.database.db, clock: ctx.clock, config: ctx.config }, ['verify'])).message, /removed/)

    await ctx.database.db.insert(auditEventsTable).values(victim)
    assert.equal((await verifyOverHttp(ctx, admin.tokens.access_token)).ok, true)
  })

  it('when the newest events are deleted through SQL, then verification fails (removed at the end)', async (t) => {
    const ctx = await buildTestApp(t)
    const admin = await ctx.make.admin()
    const events = await sealedEvents(ctx)
    const last = events.at(-1)
    assert.ok(last)
    await ctx.database.db.execute(sql`delete from audit_events where id = ${last.id}`)
    const result = await verifyOverHttp(ctx, admin.tokens.access_token)
    assert.deepEqual(result, { ok: false, checked: events.length - 1, first_invalid_id: null })
    await ctx.database.db.insert(auditEventsTable).values(last)
    assert.equal((await verifyOverHttp(ctx, admin.tokens.access_token)).ok, true)
  })

  it('when a row is inserted through SQL into the middle of the chain, even with a correctly computed hash, then verification names it', async (t) => {
    const ctx = await buildTestApp(t)
    const admin = await ctx.make.admin()
    await ctx.make.user()
    const events = await sealedEvents(ctx)
    const i = Math.floor(events.length / 2)
    const [before, at] = [events[i - 1], events[i]]
    assert.ok(before && at && at.seq !== null)
    const forged = { id: newId(), type: 'login.success', created_at: at.created_at, actor_id: null, user_id: null, ip: '203.0.113.9', user_agent: null, details: {}, seq: at.seq }
    await ctx.database.db.insert(auditEventsTable).values({ ...forged, hash: chainHash(before.hash ?? '', forged) })

    const result = await verifyOverHttp(ctx, admin.tokens.access_token)
    assert.equal(result.ok, false)
    assert.ok(result.first_invalid_id === forged.id || result.first_invalid_id === at.id, 'the forged row or the one it displaced')
    assert.equal(result.first_invalid_id, forged.id > at.id ? forged.id : at.id)

    await ctx.database.db.delete(auditEventsTable).where(eq(auditEventsTable.id, forged.id))
    assert.equal((await verifyOverHttp(ctx, admin.tokens.access_token)).ok, true)
  })

  it('when retention removes the oldest events, then the anchor moves and the rest still verifies; newer events stay', async (t) => {
    const ctx = await buildTestApp(t, { AUDIT_RETENTION_DAYS: '365' })
    const admin = await ctx.make.admin()
    const old = await sealedEvents(ctx)
    ctx.clock.advance(2 * 86_400)
    const newer = await ctx.make.user() // its register event is two days younger than everything before
    await sealedEvents(ctx)

    const chain = createAuditChain({ db: ctx.database.db })
    const later = { now: () => new Date(ctx.clock.now().getTime() + (365 - 1) * 86_400_000) }
    const cleanup = createCleanup({ db: ctx.database.db, clock: later, rules: auditRetentionRule(chain, 365), batchSize: 7 })
    const counts = await cleanup.runOnce()

    assert.equal(counts.audit_events, old.length, 'every event older than the retention, in batches of 7')
    const remaining = await ctx.database.db.select().from(auditEventsTable)
    assert.ok(remaining.some(e => e.type === 'register' && e.user_id === newer.id))
    const [head] = await ctx.database.db.select().from(auditChainTable)
    assert.equal(head?.anchor_hash, old.at(-1)?.hash)
    ctx.clock.advance(60)
    const fresh = await ctx.make.login({ email: admin.email })
    const result = await verifyOverHttp(ctx, fresh.access_token)
    assert.deepEqual({ ok: result.ok, first_invalid_id: result.first_invalid_id }, { ok: true, first_invalid_id: null })
    assert.equal(await createCleanup({ db: ctx.database.db, clock: later, rules: auditRetentionRule(chain, 0) }).runOnce().then(c => c.audit_events), undefined, '0 keeps forever')
  })
})

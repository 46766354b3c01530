import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { eq, sql } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { buildTestApp } from '../../../test/build-test-app.js'
import { storageLabel } from '../../../test/test-env.js'
import { auditEventsTable } from '../audit/audit.table.js'
import { sessionsTable } from './sessions.table.js'

interface Outcome { status: number, refreshToken: string | undefined, accessToken: string | undefined }

/** The two ways to refresh: the JSON route and the OAuth2 token endpoint's refresh grant. */
const paths = {
  '/v1/auth/refresh': async (app: FastifyInstance, token: string): Promise<Outcome> => {
    const res = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: token } })
    const body = res.json<{ refresh_token?: string, access_token?: string }>()
    return { status: res.statusCode, refreshToken: body.refresh_token, accessToken: body.access_token }
  },
  '/v1/auth/token': async (app: FastifyInstance, token: string): Promise<Outcome> => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }).toString()
    })
    const body = res.json<{ refresh_token?: string, access_token?: string }>()
    // The token endpoint answers a bad grant with 400 invalid_grant (RFC 6749 §5.2).
    return { status: res.statusCode === 400 ? 401 : res.statusCode, refreshToken: body.refresh_token, accessToken: body.access_token }
  }
}

describe(`refresh grace window (REFRESH_REUSE_GRACE) [${storageLabel}]`, () => {
  for (const [path, refresh] of Object.entries(paths)) {
    describe(path, () => {
      it('when ten requests refresh with one token at once, then all succeed with one and the same new refresh token, and the session lives on', async (t) => {
        const { app, make, database } = await buildTestApp(t)
        const user = await make.user()

        const results = await Promise.all(Array.from({ length: 10 }, () => refresh(app, user.tokens.refresh_token)))

        assert.deepEqual(results.map(r => r.status), Array(10).fill(200))
        const tokens = new Set(results.map(r => r.refreshToken))
        assert.equal(tokens.size, 1, 'every request got the same refresh token')
        const [next] = tokens
        assert.ok(next && next !== user.tokens.refresh_token)
        for (const r of results) {
          const me = await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(r.accessToken ?? '') })
          assert.equal(me.statusCode, 200, 'every access token works')
        }
        assert.equal((await refresh(app, next)).status, 200, 'the shared new token rotates normally')
        const [session] = await database.db.select().from(sessionsTable).where(eq(sessionsTable.user_id, user.id))
        assert.equal(session?.revoked_at, null)
      })

      it('when the replaced token comes again within the window, then the same token as the first answer; after the window, reuse revokes the session', async (t) => {
        const { app, make, clock, database } = await buildTestApp(t, { REFRESH_REUSE_GRACE: '5' })
        const user = await make.user()
        const first = await refresh(app, user.tokens.refresh_token)
        assert.equal(first.status, 200)

        clock.advance(5)
        const again = await refresh(app, user.tokens.refresh_token)
        assert.equal(again.status, 200)
        assert.equal(again.refreshToken, first.refreshToken)

        clock.advance(1)
        const late = await refresh(app, user.tokens.refresh_token)
        assert.equal(late.status, 401)
        assert.equal((await refresh(app, first.refreshToken ?? '')).status, 401, 'the session was revoked')
        const [session] = await database.db.select().from(sessionsTable).where(eq(sessionsTable.user_id, user.id))
        assert.equal(session?.revoked_reason, 'refresh_token_reused')
        const reuse = await database.db.select().from(auditEventsTable).where(eq(auditEventsTable.user_id, user.id))
        assert.ok(reuse.some(e => e.type === 'token.reuse_detected'))
        assert.ok(reuse.some(e => e.type === 'token.refresh' && e.details.grace === true), 'the grace answer is audited as such')
      })

      it('when a token two rotations back comes within the window, then it is reuse and revokes the session', async (t) => {
        const { app, make } = await buildTestApp(t)
        const user = await make.user()
        const first = await refresh(app, user.tokens.refresh_token)
        const second = await refresh(app, first.refreshToken ?? '')
        assert.equal(second.status, 200)

        assert.equal((await refresh(app, user.tokens.refresh_token)).status, 401)
        assert.equal((await refresh(app, second.refreshToken ?? '')).status, 401, 'the current token died with the session')
        const me = await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(second.accessToken ?? '') })
        assert.equal(me.statusCode, 401)
      })

      it('when the grace window is off (0), then the replaced token is reuse at once', async (t) => {
        const { app, make } = await buildTestApp(t, { REFRESH_REUSE_GRACE: '0' })
        const user = await make.user()
        const first = await refresh(app, user.tokens.refresh_token)
        assert.equal((await refresh(app, user.tokens.refresh_token)).status, 401)
        assert.equal((await refresh(app, first.refreshToken ?? '')).status, 401)
      })
    })
  }

  it('when a session is rotated, then its new refresh token is never stored readable (only hashed, and sealed under the old token)', async (t) => {
    const { app, make, database } = await buildTestApp(t)
    const user = await make.user()
    const first = await paths['/v1/auth/refresh'](app, user.tokens.refresh_token)
    const [row] = await database.db.select().from(sessionsTable).where(eq(sessionsTable.user_id, user.id))
    const stored = JSON.stringify(row)
    assert.ok(first.refreshToken && !stored.includes(first.refreshToken))
    assert.ok(!stored.includes(user.tokens.refresh_token))
    assert.ok(row?.successor_sealed)
  })

  it('when the sealed successor is tampered with, then the replayed token is not answered with a token (reuse)', async (t) => {
    const { app, make, database } = await buildTestApp(t)
    const user = await make.user()
    await paths['/v1/auth/refresh'](app, user.tokens.refresh_token)
    const [row] = await database.db.select().from(sessionsTable).where(eq(sessionsTable.user_id, user.id))
    const sealed = Buffer.from(row?.successor_sealed ?? '', 'base64url')
    sealed[14] = (sealed[14] ?? 0) ^ 1
    await database.db.update(sessionsTable).set({ successor_sealed: sealed.toString('base64url') }).where(eq(sessionsTable.user_id, user.id))
    assert.equal((await paths['/v1/auth/refresh'](app, user.tokens.refresh_token)).status, 401)
  })
})

describe(`a rotation records its audit event in the same statement (#15) [${storageLabel}]`, () => {
  it('when a token rotates, then one token.refresh event names the user as actor and subject, the session, the ip and the user agent, and the response carries the user', async (t) => {
    const { app, make, database } = await buildTestApp(t)
    const user = await make.user()
    const res = await app.inject({ method: 'POST', url: '/v1/auth/refresh', headers: { 'user-agent': 'rotation-test/2.0' }, payload: { refresh_token: user.tokens.refresh_token } })
    assert.equal(res.statusCode, 200)
    assert.equal(res.json<{ user: { id: string, email: string, created_at: string } }>().user.id, user.id)
    assert.match(res.json<{ user: { created_at: string } }>().user.created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
    const [session] = await database.db.select().from(sessionsTable).where(eq(sessionsTable.user_id, user.id))
    const events = (await database.db.select().from(auditEventsTable).where(eq(auditEventsTable.user_id, user.id))).filter(e => e.type === 'token.refresh')
    assert.equal(events.length, 1)
    assert.deepEqual(events.map(e => [e.actor_id, e.user_id, e.details, e.ip, e.user_agent]), [[user.id, user.id, { session_id: session?.id }, '127.0.0.1', 'rotation-test/2.0']])
    assert.match(events[0]?.id ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-7/, 'a UUIDv7 like every other event id')
  })

  it('when the account was deactivated behind the session\'s back, then the refresh is refused, the session revoked and no token.refresh recorded', async (t) => {
    const { app, make, database } = await buildTestApp(t)
    const user = await make.user()
    // Straight in the table: the admin route would already have revoked every session.
    await database.db.execute(sql`update users set is_active = false where id = ${user.id}`)
    const res = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.tokens.refresh_token } })
    assert.equal(res.statusCode, 401)
    const [session] = await database.db.select().from(sessionsTable).where(eq(sessionsTable.user_id, user.id))
    assert.equal(session?.revoked_reason, 'account_disabled')
    const events = await database.db.select().from(auditEventsTable).where(eq(auditEventsTable.user_id, user.id))
    assert.ok(!events.some(e => e.type === 'token.refresh'))
  })
})

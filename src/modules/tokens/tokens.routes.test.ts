import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import { and, eq } from 'drizzle-orm'
import { buildTestApp } from '../../../test/build-test-app.js'
import { storageLabel } from '../../../test/test-env.js'
import { newId, sha256 } from '../../core/ids.js'
import { auditEventsTable } from '../audit/audit.table.js'
import { newPersonalAccessToken } from './token-format.js'
import { tokensRepository } from './tokens.repository.js'
import { personalAccessTokensTable } from './tokens.table.js'

const MISSING = '01a20000-0000-7000-8000-000000000000'
const ALL = ['tasks:read', 'tasks:write', 'profile:read']

describe(`personal access tokens [${storageLabel}]`, () => {
  describe('POST /v1/users/me/tokens', () => {
    it('when created with an access token and the password, then 201 with the secret once; only its hash is stored; audit pat.created; it works at once', async (t) => {
      const { app, make, database, clock } = await buildTestApp(t)
      const user = await make.user()
      const res = await app.inject({ method: 'POST', url: '/v1/users/me/tokens', headers: make.bearer(user.tokens.access_token), payload: { name: 'backup script', scopes: ['profile:read', 'tasks:read'], current_password: user.password } })
      assert.equal(res.statusCode, 201, res.body)
      assert.equal(res.headers['cache-control'], 'no-store')
      const body = res.json()
      assert.deepEqual(Object.keys(body).sort(), ['created_at', 'expires_at', 'id', 'last_used_at', 'name', 'scopes', 'token', 'token_prefix'])
      assert.match(body.token, /^tfp_[0-9A-Za-z]{49}$/)
      assert.equal(body.token_prefix, body.token.slice(0, 12))
      assert.deepEqual(body.scopes, ['profile:read', 'tasks:read'])
      assert.equal(body.last_used_at, null)
      assert.equal(new Date(body.expires_at).getTime() - new Date(body.created_at).getTime(), 90 * 86_400_000, 'default lifetime: 90 days')
      assert.equal(body.created_at, clock.now().toISOString())

      const [row] = await database.db.select().from(personalAccessTokensTable).where(eq(personalAccessTokensTable.id, body.id))
      assert.equal(row?.token_hash, sha256(body.token))
      assert.ok(!JSON.stringify(row).includes(body.token.slice(12)), 'the secret is not stored')
      const events = await database.db.select().from(auditEventsTable).where(and(eq(auditEventsTable.user_id, user.id), eq(auditEventsTable.type, 'pat.created')))
      assert.equal(events.length, 1)
      assert.equal(events[0]?.actor_id, user.id)
      assert.equal(events[0]?.details.pat_id, body.id)
      assert.ok(!JSON.stringify(events).includes(body.token.slice(12)), 'the secret is not in the audit log')

      const me = await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(body.token) })
      assert.equal(me.statusCode, 200)
      assert.equal(me.json().id, user.id)
    })

    it('when expires_in_days is given, then the token expires then: 401 invalid_token afterwards', async (t) => {
      const { app, make, clock } = await buildTestApp(t)
      const user = await make.user()
      const pat = await make.pat(user, ['profile:read'], { expires_in_days: 1 })
      assert.equal(new Date(pat.expires_at).getTime() - new Date(pat.created_at).getTime(), 86_400_000)
      clock.advance(86_400 - 1)
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(pat.token) })).statusCode, 200)
      clock.advance(1)
      const res = await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(pat.token) })
      assert.equal(res.statusCode, 401)
      assert.match(String(res.headers['www-authenticate']), /^Bearer error="invalid_token"/)
      assert.equal(res.json().code, 'invalid_token')
    })

    it('when the password is wrong, then 400 wrong_password and nothing is created', async (t) => {
      const { app, make, database } = await buildTestApp(t)
      const user = await make.user()
      const res = await app.inject({ method: 'POST', url: '/v1/users/me/tokens', headers: make.bearer(user.tokens.access_token), payload: { name: 'x', scopes: ['tasks:read'], current_password: 'not my password 1' } })
      assert.equal(res.statusCode, 400)
      assert.equal(res.json().code, 'wrong_password')
      assert.equal(res.json().errors[0].field, 'current_password')
      assert.equal((await database.db.select().from(personalAccessTokensTable).where(eq(personalAccessTokensTable.user_id, user.id))).length, 0)
    })

    it('when the input is invalid (name, scopes, lifetime, unknown field), then 400 and nothing is created', async (t) => {
      const { app, make, database } = await buildTestApp(t)
      const user = await make.user()
      const base = { name: 'ok', scopes: ['tasks:read'], current_password: user.password }
      for (const payload of [
        { ...base, name: '' }, { ...base, name: 'x'.repeat(101) }, { ...base, scopes: [] }, { ...base, scopes: ['admin'] },
        { ...base, scopes: ['tasks:read', 'tasks:read'] }, { ...base, scopes: 'tasks:read' }, { ...base, expires_in_days: 0 },
        { ...base, expires_in_days: 366 }, { ...base, expires_in_days: 1.5 }, { ...base, token: 'tfp_mine' }, { name: 'x', scopes: ['tasks:read'] }
      ]) {
        const res = await app.inject({ method: 'POST', url: '/v1/users/me/tokens', headers: make.bearer(user.tokens.access_token), payload })
        assert.equal(res.statusCode, 400, JSON.stringify(payload))
      }
      assert.equal((await database.db.select().from(personalAccessTokensTable).where(eq(personalAccessTokensTable.user_id, user.id))).length, 0)
    })

    it('when a personal access token (with every scope) tries to create, list or delete tokens, then 403 insufficient_scope', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const pat = await make.pat(user, ALL)
      const calls = [
        { method: 'POST' as const, url: '/v1/users/me/tokens', payload: { name: 'child', scopes: ['tasks:read'], current_password: user.password } },
        { method: 'GET' as const, url: '/v1/users/me/tokens' },
        { method: 'DELETE' as const, url: `/v1/users/me/tokens/${pat.id}` }
      ]
      for (const call of calls) {
        const res = await app.inject({ ...call, headers: make.bearer(pat.token) })
        assert.equal(res.statusCode, 403, `${call.method} ${call.url}`)
        assert.equal(res.json().code, 'insufficient_scope')
        assert.match(String(res.headers['www-authenticate']), /^Bearer error="insufficient_scope"/)
      }
      const list = await app.inject({ method: 'GET', url: '/v1/users/me/tokens', headers: make.bearer(user.tokens.access_token) })
      assert.deepEqual(list.json().data.map((p: { id: string }) => p.id), [pat.id])
    })

    it('when the user has 50 live tokens, then 409 too_many_tokens; expired and revoked ones do not count; concurrent creations never pass 50', async (t) => {
      const { app, make, database, clock } = await buildTestApp(t)
      const user = await make.user()
      const now = clock.now()
      const row = (expiresAt: Date, revokedAt: Date | null = null) => ({
        id: newId(), user_id: user.id, name: 'seeded', token_hash: sha256(newPersonalAccessToken()), token_prefix: 'tfp_seeded00', scopes: ['tasks:read' as const], created_at: now, expires_at: expiresAt, revoked_at: revokedAt
      })
      for (let i = 0; i < 48; i++) await tokensRepository.insert(database.db, row(new Date(now.getTime() + 86_400_000)))
      await tokensRepository.insert(database.db, row(new Date(now.getTime() - 1000)))
      await tokensRepository.insert(database.db, row(new Date(now.getTime() + 86_400_000), now))
      const create = () => app.inject({ method: 'POST', url: '/v1/users/me/tokens', headers: make.bearer(user.tokens.access_token), payload: { name: 'n', scopes: ['tasks:read'], current_password: user.password } })
      const results = await Promise.all([create(), create(), create(), create()])
      assert.deepEqual(results.map(r => r.statusCode).sort(), [201, 201, 409, 409])
      const refused = results.find(r => r.statusCode === 409)
      assert.equal(refused?.json().code, 'too_many_tokens')
      const list = await app.inject({ method: 'GET', url: '/v1/users/me/tokens', headers: make.bearer(user.tokens.access_token) })
      assert.equal(list.json().data.length, 50)
      const one = list.json().data[0].id as string
      assert.equal((await app.inject({ method: 'DELETE', url: `/v1/users/me/tokens/${one}`, headers: make.bearer(user.tokens.access_token) })).statusCode, 204)
      assert.equal((await create()).statusCode, 201)
    })
  })

  describe('GET and DELETE /v1/users/me/tokens', () => {
    it('when listing, then only the caller\'s live tokens, newest first, without secrets', async (t) => {
      const { app, make, clock } = await buildTestApp(t)
      const [user, other] = await Promise.all([make.user(), make.user()])
      const first = await make.pat(user, ['tasks:read'], { name: 'first' })
      clock.advance(1)
      const second = await make.pat(user, ['tasks:write'], { name: 'second' })
      const short = await make.pat(user, ['tasks:write'], { name: 'short', expires_in_days: 1 })
      await make.pat(other, ['tasks:read'])
      clock.advance(86_400)
      const fresh = await make.login({ email: user.email }, user.password)
      const res = await app.inject({ method: 'GET', url: '/v1/users/me/tokens', headers: make.bearer(fresh.access_token) })
      assert.equal(res.statusCode, 200)
      const data = res.json().data as Array<Record<string, unknown>>
      assert.deepEqual(data.map(p => p.id), [second.id, first.id])
      assert.ok(!data.some(p => p.id === short.id), 'an expired token is not listed')
      assert.deepEqual(Object.keys(data[0] ?? {}).sort(), ['created_at', 'expires_at', 'id', 'last_used_at', 'name', 'scopes', 'token_prefix'])
      assert.ok(!res.body.includes(first.token) && !res.body.includes(sha256(first.token)))
    })

    it('when the owner deletes a token, then 204, it is refused at once (also after a cache flush), audit pat.revoked; a second delete is 404', async (t) => {
      const { app, make, database, flushCache } = await buildTestApp(t)
      const user = await make.user()
      const pat = await make.pat(user, ['profile:read'])
      const keep = await make.pat(user, ['profile:read'])
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(pat.token) })).statusCode, 200, 'cached as live')
      const res = await app.inject({ method: 'DELETE', url: `/v1/users/me/tokens/${pat.id}`, headers: make.bearer(user.tokens.access_token) })
      assert.equal(res.statusCode, 204)
      const after = await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(pat.token) })
      assert.equal(after.statusCode, 401)
      assert.equal(after.json().code, 'invalid_token')
      await flushCache()
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(pat.token) })).statusCode, 401, 'a flushed cache does not revive it')
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(keep.token) })).statusCode, 200, 'the other token lives on')
      assert.equal((await app.inject({ method: 'DELETE', url: `/v1/users/me/tokens/${pat.id}`, headers: make.bearer(user.tokens.access_token) })).statusCode, 404)
      const [event] = await database.db.select().from(auditEventsTable).where(and(eq(auditEventsTable.user_id, user.id), eq(auditEventsTable.type, 'pat.revoked')))
      assert.equal(event?.details.pat_id, pat.id)
      assert.equal(event?.details.reason, 'revoked_by_owner')
    })

    it('when deleting another user\'s token, an unknown id or a malformed id, then 404 / 404 / 400 and the token still works', async (t) => {
      const { app, make } = await buildTestApp(t)
      const [user, other] = await Promise.all([make.user(), make.user()])
      const theirs = await make.pat(other, ['profile:read'])
      const headers = make.bearer(user.tokens.access_token)
      assert.equal((await app.inject({ method: 'DELETE', url: `/v1/users/me/tokens/${theirs.id}`, headers })).statusCode, 404)
      assert.equal((await app.inject({ method: 'DELETE', url: `/v1/users/me/tokens/${MISSING}`, headers })).json().code, 'token_not_found')
      assert.equal((await app.inject({ method: 'DELETE', url: '/v1/users/me/tokens/not-a-uuid', headers })).statusCode, 400)
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(theirs.token) })).statusCode, 200)
    })
  })

  describe('authentication with a personal access token', () => {
    it('when the token is mistyped (checksum), unknown, or not a token at all, then 401 invalid_token; a mistyped one is refused before any lookup', async (t) => {
      const lines: string[] = []
      const logStream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
      const { app, make } = await buildTestApp(t, { LOG_LEVEL: 'info' }, { logStream })
      const user = await make.user()
      const pat = await make.pat(user, ['profile:read'])
      const last = pat.token.at(-1) === 'a' ? 'b' : 'a'
      const typo = pat.token.slice(0, -1) + last
      const unknown = newPersonalAccessToken()
      for (const token of [typo, unknown, 'tfp_', 'tfp_short', `${pat.token}x`]) {
        const res = await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(token) })
        assert.equal(res.statusCode, 401, token)
        assert.equal(res.json().code, 'invalid_token')
        assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/)
      }
      const rejections = lines.map(l => JSON.parse(l) as { code?: string, reason?: string }).filter(l => l.code === 'invalid_token')
      assert.equal(rejections[0]?.reason, 'malformed or checksum mismatch')
      assert.equal(rejections[1]?.reason, 'unknown, expired or revoked')
      assert.ok(!lines.some(l => l.includes(pat.token.slice(12))), 'the token never reaches the log')
    })

    it('when a token is used, then last_used_at is recorded, and written at most once a minute', async (t) => {
      const { app, make, database, clock } = await buildTestApp(t)
      const user = await make.user()
      const pat = await make.pat(user, ['profile:read'])
      const lastUsed = async () => (await database.db.select().from(personalAccessTokensTable).where(eq(personalAccessTokensTable.id, pat.id)))[0]?.last_used_at?.toISOString() ?? null
      const use = async () => assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(pat.token) })).statusCode, 200)
      const t0 = clock.now().toISOString()
      await use()
      assert.equal(await lastUsed(), t0)
      clock.advance(59)
      await use()
      await use()
      assert.equal(await lastUsed(), t0, 'no second write within the minute')
      clock.advance(1)
      const t1 = clock.now().toISOString()
      await use()
      assert.equal(await lastUsed(), t1)
      const list = await app.inject({ method: 'GET', url: '/v1/users/me/tokens', headers: make.bearer(user.tokens.access_token) })
      assert.equal(list.json().data[0].last_used_at, t1)
    })

    it('when the account is deactivated, changes role or is deleted by an admin, then its tokens are refused at once, also after a cache flush', async (t) => {
      const { app, make, flushCache } = await buildTestApp(t)
      const admin = await make.admin()
      const [a, b, c] = await Promise.all([make.user(), make.user(), make.user()])
      const patches: Array<[typeof a, { method: 'PATCH' | 'DELETE', payload?: Record<string, unknown> }]> = [
        [a, { method: 'PATCH', payload: { is_active: false } }], [b, { method: 'PATCH', payload: { role: 'admin' } }], [c, { method: 'DELETE' }]
      ]
      for (const [user, change] of patches) {
        const pat = await make.pat(user, ['profile:read'])
        assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(pat.token) })).statusCode, 200)
        const res = await app.inject({ method: change.method, url: `/v1/admin/users/${user.id}`, headers: make.bearer(admin.tokens.access_token), ...(change.payload ? { payload: change.payload } : {}) })
        assert.ok(res.statusCode === 200 || res.statusCode === 204, res.body)
        assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(pat.token) })).statusCode, 401, JSON.stringify(change))
        await flushCache()
        assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(pat.token) })).statusCode, 401, JSON.stringify(change))
      }
    })

    it('when the user deletes the account, then its tokens are refused at once', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const pat = await make.pat(user, ['profile:read'])
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(pat.token) })).statusCode, 200)
      assert.equal((await app.inject({ method: 'DELETE', url: '/v1/users/me', headers: make.bearer(user.tokens.access_token), payload: { password: user.password } })).statusCode, 204)
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(pat.token) })).statusCode, 401)
    })

    it('when the user logs out, logs out everywhere or changes the password, then personal access tokens keep working', async (t) => {
      const { app, make } = await buildTestApp(t)
      const user = await make.user()
      const pat = await make.pat(user, ['profile:read'])
      const other = await make.login({ email: user.email }, user.password)
      assert.equal((await app.inject({ method: 'PUT', url: '/v1/users/me/password', headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password, new_password: 'a brand new passphrase 77' } })).statusCode, 204)
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(pat.token) })).statusCode, 200)
      assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: make.bearer(user.tokens.access_token) })).statusCode, 204)
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(pat.token) })).statusCode, 200)
      const again = await make.login({ email: user.email }, 'a brand new passphrase 77')
      assert.equal((await app.inject({ method: 'POST', url: '/v1/auth/logout-all', headers: make.bearer(again.access_token) })).statusCode, 204)
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(other.access_token) })).statusCode, 401)
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(pat.token) })).statusCode, 200)
    })
  })

  describe('admin: /v1/admin/users/{id}/tokens', () => {
    it('when an admin lists and revokes a user\'s tokens, then a page without secrets, then 204 and the token is refused at once; audit pat.revoked by the admin', async (t) => {
      const { app, make, database } = await buildTestApp(t)
      const admin = await make.admin()
      const user = await make.user()
      const pats = [await make.pat(user, ['tasks:read']), await make.pat(user, ['profile:read']), await make.pat(user, ['tasks:write'])]
      const headers = make.bearer(admin.tokens.access_token)
      const first = await app.inject({ method: 'GET', url: `/v1/admin/users/${user.id}/tokens?limit=2`, headers })
      assert.equal(first.statusCode, 200, first.body)
      assert.equal(first.json().data.length, 2)
      const second = await app.inject({ method: 'GET', url: `/v1/admin/users/${user.id}/tokens?limit=2&cursor=${first.json().next_cursor}`, headers })
      assert.equal(second.json().next_cursor, null)
      assert.deepEqual([...first.json().data, ...second.json().data].map((p: { id: string }) => p.id), pats.map(p => p.id).reverse())
      assert.ok(!first.body.includes('"token"') && !pats.some(p => first.body.includes(p.token)))

      const target = pats[1]
      assert.ok(target)
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(target.token) })).statusCode, 200)
      const res = await app.inject({ method: 'DELETE', url: `/v1/admin/users/${user.id}/tokens/${target.id}`, headers })
      assert.equal(res.statusCode, 204)
      assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(target.token) })).statusCode, 401)
      const [event] = await database.db.select().from(auditEventsTable).where(and(eq(auditEventsTable.user_id, user.id), eq(auditEventsTable.type, 'pat.revoked')))
      assert.equal(event?.actor_id, admin.id)
      assert.equal(event?.details.reason, 'revoked_by_admin')
    })

    it('when the user or token is unknown, or the token is another user\'s, then 404; a non-admin gets 403', async (t) => {
      const { app, make } = await buildTestApp(t)
      const admin = await make.admin()
      const [user, other] = await Promise.all([make.user(), make.user()])
      const theirs = await make.pat(other, ['tasks:read'])
      const headers = make.bearer(admin.tokens.access_token)
      assert.equal((await app.inject({ method: 'GET', url: `/v1/admin/users/${MISSING}/tokens`, headers })).json().code, 'user_not_found')
      assert.equal((await app.inject({ method: 'DELETE', url: `/v1/admin/users/${MISSING}/tokens/${theirs.id}`, headers })).statusCode, 404)
      assert.equal((await app.inject({ method: 'DELETE', url: `/v1/admin/users/${user.id}/tokens/${theirs.id}`, headers })).json().code, 'token_not_found')
      assert.equal((await app.inject({ method: 'DELETE', url: `/v1/admin/users/${other.id}/tokens/${theirs.id}`, headers: make.bearer(user.tokens.access_token) })).statusCode, 403)
      assert.equal((await app.inject({ method: 'GET', url: '/v1/tasks', headers: make.bearer(theirs.token) })).statusCode, 200)
    })
  })
})

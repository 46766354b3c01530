import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PassThrough } from 'node:stream'
import { eq, inArray, or } from 'drizzle-orm'
import { auditEventsTable } from '../../src/modules/audit/audit.table.js'
import { buildTestApp } from '../build-test-app.js'
import { DEFAULT_PASSWORD, uniqueEmail } from '../factories.js'
import { storageLabel } from '../test-env.js'

describe(`audit log [${storageLabel}]`, () => {
  it('when a user goes through every auth flow, then each event is recorded once, with ip and agent, and no secret anywhere', async (t) => {
    const { app, make, database, clock, config } = await buildTestApp(t)
    const headers = { 'user-agent': 'audit-test/1.0' }
    const email = uniqueEmail('audit')
    const reg = await make.register({ email }, headers)
    const userId = reg.user.id
    const badLogin = await app.inject({ method: 'POST', url: '/v1/auth/login', headers, payload: { email, password: 'wrong password here' } })
    assert.equal(badLogin.statusCode, 401)
    const second = await make.login({ email })
    const refreshed = (await app.inject({ method: 'POST', url: '/v1/auth/refresh', headers, payload: { refresh_token: second.refresh_token } })).json()
    clock.advance(config.auth.refreshReuseGrace + 1)
    await app.inject({ method: 'POST', url: '/v1/auth/refresh', headers, payload: { refresh_token: second.refresh_token } }) // reuse
    const third = await make.login({ email })
    const sessions = (await app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: make.bearer(third.access_token) })).json().data as Array<{ id: string, current: boolean }>
    await app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${sessions.find(s => !s.current)?.id}`, headers: make.bearer(third.access_token) })
    const newPassword = 'an entirely new passphrase 5'
    await app.inject({ method: 'PUT', url: '/v1/users/me/password', headers: { ...headers, ...make.bearer(third.access_token) }, payload: { current_password: DEFAULT_PASSWORD, new_password: newPassword } })
    const fourth = await make.login({ email }, newPassword)
    await app.inject({ method: 'POST', url: '/v1/auth/logout-all', headers: make.bearer(fourth.access_token) })
    const fifth = await make.login({ email }, newPassword)
    await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: make.bearer(fifth.access_token) })
    const sixth = await make.login({ email }, newPassword)
    await app.inject({ method: 'DELETE', url: '/v1/users/me', headers: make.bearer(sixth.access_token), payload: { password: newPassword } })

    const rows = await database.db.select().from(auditEventsTable).where(or(eq(auditEventsTable.user_id, userId), eq(auditEventsTable.actor_id, userId)))
    const types = new Set(rows.map(r => r.type))
    for (const type of ['register', 'login.success', 'login.failure', 'token.refresh', 'token.reuse_detected', 'session.revoked', 'password.change', 'logout_all', 'logout', 'user.deleted']) {
      assert.ok(types.has(type), `missing ${type}`)
    }
    const failure = rows.find(r => r.type === 'login.failure')
    assert.equal(failure?.actor_id, null)
    assert.equal(failure?.details.identifier, email)
    assert.equal(failure?.user_agent, 'audit-test/1.0')
    assert.equal(failure?.ip, '127.0.0.1')
    assert.equal(rows.find(r => r.type === 'token.reuse_detected')?.actor_id, null)

    const stored = JSON.stringify(rows)
    for (const secret of ['correct horse battery staple 9', newPassword, 'wrong password here', second.refresh_token, refreshed.refresh_token, second.access_token, third.refresh_token, 'argon2']) {
      assert.ok(!stored.includes(secret), 'a secret reached the audit log')
    }
  })

  it('when an admin acts, then user.updated_by_admin, user.deleted and task.deleted_by_admin name actor and subject, and the admin can page through them', async (t) => {
    const { app, make, database } = await buildTestApp(t)
    const admin = await make.admin()
    const user = await make.user()
    const task = await make.task(user.tokens.access_token)
    const auth = make.bearer(admin.tokens.access_token)
    await app.inject({ method: 'PATCH', url: `/v1/admin/users/${user.id}`, headers: auth, payload: { is_active: false } })
    await app.inject({ method: 'DELETE', url: `/v1/admin/tasks/${task.id}`, headers: auth })
    await app.inject({ method: 'DELETE', url: `/v1/admin/users/${user.id}`, headers: auth })
    const rows = await database.db.select().from(auditEventsTable).where(inArray(auditEventsTable.type, ['user.updated_by_admin', 'user.deleted', 'task.deleted_by_admin']))
    for (const type of ['user.updated_by_admin', 'user.deleted', 'task.deleted_by_admin']) {
      const row = rows.find(r => r.type === type && r.user_id === user.id)
      assert.ok(row, type)
      assert.equal(row.actor_id, admin.id)
    }
    assert.equal(rows.find(r => r.type === 'user.updated_by_admin' && r.user_id === user.id)?.details.is_active, false)

    const page = await app.inject({ method: 'GET', url: `/v1/admin/audit-events?user_id=${user.id}&limit=2`, headers: auth })
    assert.equal(page.statusCode, 200)
    const body = page.json()
    assert.equal(body.data.length, 2)
    assert.deepEqual(Object.keys(body.data[0]).sort(), ['actor_id', 'created_at', 'details', 'id', 'ip', 'type', 'user_agent', 'user_id'])
    const next = await app.inject({ method: 'GET', url: `/v1/admin/audit-events?user_id=${user.id}&limit=2&cursor=${body.next_cursor}`, headers: auth })
    const ids = [...body.data, ...next.json().data].map((e: { id: string }) => e.id)
    assert.equal(new Set(ids).size, ids.length)
    const byType = await app.inject({ method: 'GET', url: `/v1/admin/audit-events?type=task.deleted_by_admin&since=${new Date(Date.now() - 60_000).toISOString()}`, headers: auth })
    assert.ok(byType.json().data.every((e: { type: string }) => e.type === 'task.deleted_by_admin'))
    assert.equal((await app.inject({ method: 'GET', url: '/v1/admin/audit-events?type=bogus', headers: auth })).statusCode, 400)
    assert.equal((await app.inject({ method: 'GET', url: '/v1/admin/audit-events', headers: make.bearer(user.tokens.access_token) })).statusCode, 401)
  })
})

describe(`metrics and logs [${storageLabel}]`, () => {
  it('when auth happens, then /metrics exposes the contract\'s series with route templates, not raw URLs', async (t) => {
    const { app, make } = await buildTestApp(t, { METRICS_DEFAULT: 'true' })
    const user = await make.user()
    await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: 'wrong password here' } })
    await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.tokens.refresh_token } })
    const task = await make.task(user.tokens.access_token)
    await app.inject({ method: 'GET', url: `/v1/tasks/${task.id}`, headers: make.bearer(user.tokens.access_token) })
    const res = await app.inject({ method: 'GET', url: '/metrics' })
    assert.equal(res.statusCode, 200)
    assert.match(String(res.headers['content-type']), /^text\/plain/)
    for (const line of ['auth_register_total 1', 'auth_login_failure_total{reason="invalid_credentials"} 1', 'auth_token_refresh_total 1', 'auth_login_success_total 0',
      'auth_operation_duration_seconds_count{operation="login"} 1', 'http_request_duration_seconds_count{method="GET",route="/v1/tasks/:id",status_code="200"} 1',
      'process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds']) {
      assert.ok(res.body.includes(line), line)
    }
    assert.ok(!res.body.includes(task.id), 'no raw ids in labels')
  })

  it('when METRICS_TOKEN is set, then /metrics needs it as a Bearer token', async (t) => {
    const token = 'metrics-token-0123456789abcdef'
    const { app } = await buildTestApp(t, { METRICS_TOKEN: token })
    const none = await app.inject({ method: 'GET', url: '/metrics' })
    assert.equal(none.statusCode, 401)
    assert.equal(none.headers['www-authenticate'], 'Bearer')
    // regression: #9 — a wrong token is invalid_token (RFC 6750 §3.1)
    const wrong = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong-token-0123456789' } })
    assert.equal(wrong.statusCode, 401)
    assert.equal(wrong.json().code, 'invalid_token')
    assert.match(String(wrong.headers['www-authenticate']), /^Bearer error="invalid_token"/)
    const notBearer = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Basic ${token}` } })
    assert.equal(notBearer.headers['www-authenticate'], 'Bearer', 'a non-Bearer header counts as no token')
    assert.equal((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } })).statusCode, 200)
  })

  it('when requests are logged, then every line of a request carries its id and no password or token appears', async (t) => {
    const stream = new PassThrough()
    let output = ''
    stream.on('data', (chunk) => { output += String(chunk) })
    const { app, make } = await buildTestApp(t, { LOG_LEVEL: 'debug' }, { logStream: stream })
    const password = 'a logged passphrase never 3'
    const reg = await make.register({ password }, { 'x-request-id': 'req-under-test-1' })
    await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: reg.refresh_token } })
    await app.inject({ method: 'GET', url: '/v1/users/me', headers: { authorization: 'Bearer not.a.token', cookie: 'session=secret-cookie' } })
    const lines = output.trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
    assert.ok(lines.length > 4)
    assert.ok(lines.filter(l => l.reqId === 'req-under-test-1').length >= 2)
    assert.ok(lines.every(l => typeof l.time === 'string' && typeof l.level === 'string'))
    for (const secret of [password, reg.refresh_token, reg.access_token, 'secret-cookie', 'not.a.token']) assert.ok(!output.includes(secret), 'a secret was logged')
  })
})

describe(`HTTP hardening [${storageLabel}]`, () => {
  it('when any response goes out, then it has nosniff, frame DENY, a strict CSP, and no X-Powered-By', async (t) => {
    const { app } = await buildTestApp(t)
    for (const url of ['/healthz', '/v1/users/me', '/v1/nope']) {
      const res = await app.inject({ method: 'GET', url })
      assert.equal(res.headers['x-content-type-options'], 'nosniff', url)
      assert.equal(res.headers['x-frame-options'], 'DENY', url)
      assert.match(String(res.headers['content-security-policy']), /default-src 'none'/, url)
      assert.equal(res.headers['x-powered-by'], undefined)
    }
  })

  it('when a preflight comes from an allowed origin, then it is answered for that origin only', async (t) => {
    const { app } = await buildTestApp(t, { CORS_ORIGINS: 'https://app.example.com' })
    const preflight = (origin: string) => app.inject({ method: 'OPTIONS', url: '/v1/tasks', headers: { origin, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization,content-type,if-match' } })
    const ok = await preflight('https://app.example.com')
    assert.equal(ok.statusCode, 204)
    assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example.com')
    assert.match(String(ok.headers['access-control-allow-methods']), /PATCH/)
    assert.match(String(ok.headers['access-control-allow-headers']).toLowerCase(), /authorization.*content-type.*if-match/)
    const evil = await preflight('https://evil.example')
    assert.equal(evil.headers['access-control-allow-origin'], undefined)
    assert.equal(Object.keys(evil.headers).filter(h => h.startsWith('access-control-allow')).length, 0)
  })

  it('when no CORS origin is configured, then no cross-origin access is granted', async (t) => {
    const { app } = await buildTestApp(t)
    const res = await app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://app.example.com' } })
    assert.equal(res.headers['access-control-allow-origin'], undefined)
    // Nothing varies by Origin then; a preflight is a method the path does not have, and grants nothing.
    assert.equal(res.headers.vary, undefined)
    const preflight = await app.inject({ method: 'OPTIONS', url: '/v1/tasks', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'PATCH' } })
    assert.equal(preflight.statusCode, 405)
    assert.equal(Object.keys(preflight.headers).filter(h => h.startsWith('access-control-')).length, 0)
  })
})

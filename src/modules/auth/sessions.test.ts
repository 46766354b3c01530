import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { eq, sql } from 'drizzle-orm'
import { buildTestApp } from '../../../test/build-test-app.js'
import { storageLabel } from '../../../test/test-env.js'
import { auditEventsTable } from '../audit/audit.table.js'
import { sessionsTable } from './sessions.table.js'

describe(`a login's session and its login.success event are one statement (#15) [${storageLabel}]`, () => {
  it('when a user logs in, then the new session and one login.success event naming it, the user, the route, the ip and the user agent are written', async (t) => {
    const { app, make, database } = await buildTestApp(t)
    const user = await make.user()
    const userAgent = `login-test/3.0 ${'x'.repeat(600)}`
    const res = await app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'user-agent': userAgent }, payload: { email: `  ${user.email}  `, password: user.password } })
    assert.equal(res.statusCode, 200)
    const sessions = await database.db.select().from(sessionsTable).where(eq(sessionsTable.user_id, user.id))
    const session = sessions.find(s => s.user_agent?.startsWith('login-test/3.0'))
    assert.ok(session, 'the login\'s session')
    assert.equal(session.user_agent, userAgent.slice(0, 512), 'requests keep 512 characters of the user agent')
    assert.deepEqual(session.amr, ['pwd'])
    assert.equal(session.ip, '127.0.0.1')
    assert.equal(session.refresh_expires_at.getTime() <= session.expires_at.getTime(), true)
    assert.equal(session.created_at.getTime(), session.last_used_at.getTime())
    const events = (await database.db.select().from(auditEventsTable).where(eq(auditEventsTable.user_id, user.id))).filter(e => e.type === 'login.success')
    assert.equal(events.length, 1)
    assert.deepEqual(events.map(e => [e.actor_id, e.user_id, e.ip, e.user_agent, e.created_at.getTime()]), [[user.id, user.id, '127.0.0.1', userAgent.slice(0, 512), session.created_at.getTime()]])
    assert.deepEqual(events[0]?.details, { session_id: session.id, identifier: user.email, route: 'login', method: 'password', amr: ['pwd'] })
    assert.match(events[0]?.id ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-7/, 'a UUIDv7 like every other event id')
    // The session works: its refresh token rotates.
    const refreshed = await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: res.json<{ refresh_token: string }>().refresh_token } })
    assert.equal(refreshed.statusCode, 200)
  })

  it('when the audit event cannot be written, then the login fails and leaves no session behind', async (t) => {
    const { app, make, database } = await buildTestApp(t)
    const user = await make.user()
    // Refuses only this test's event (the user agent marks it), so nothing else sharing the database notices.
    await database.db.execute(sql.raw(`
      create or replace function refuse_marked_login() returns trigger language plpgsql as $$
      begin
        if new.user_agent = 'audit-refused-test/1.0' then raise exception 'audit refused for the test'; end if;
        return new;
      end $$`))
    await database.db.execute(sql.raw('create trigger refuse_marked_login before insert on audit_events for each row execute function refuse_marked_login()'))
    t.after(async () => {
      await database.db.execute(sql.raw('drop trigger if exists refuse_marked_login on audit_events'))
      await database.db.execute(sql.raw('drop function if exists refuse_marked_login()'))
    })
    const before = await database.db.select().from(sessionsTable).where(eq(sessionsTable.user_id, user.id))
    const res = await app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'user-agent': 'audit-refused-test/1.0' }, payload: { email: user.email, password: user.password } })
    assert.ok(res.statusCode >= 500, `the login fails (${res.statusCode})`)
    assert.equal(res.json<{ access_token?: string }>().access_token, undefined)
    const after = await database.db.select().from(sessionsTable).where(eq(sessionsTable.user_id, user.id))
    assert.equal(after.length, before.length, 'no session without its event')
  })
})

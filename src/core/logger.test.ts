// regression: #9 §1 — a failing insert logged its SQL parameters, the new user's argon2 hash among them.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sql } from 'drizzle-orm'
import { buildTestApp, sharedStorage } from '../../test/build-test-app.js'
import { uniqueEmail } from '../../test/factories.js'
import { captureLog } from '../../test/log-capture.js'
import { storageLabel } from '../../test/test-env.js'
import { createUsersStore } from '../modules/users/index.js'
import { newId } from './ids.js'
import { lazyChildLogger, loggerOptions, serializeError } from './logger.js'

const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2VjcmV0LXNhbHQtOTk$bm90LWEtcmVhbC1oYXNoLWJ1dC1zZWNyZXQtOTk'

describe(`log lines never carry SQL parameters [${storageLabel}]`, () => {
  it('when an insert fails inside a request, then the 500 is logged with its SQLSTATE and without any parameter, hash or value', async (t) => {
    const { stream, lines } = captureLog()
    const { app, database } = await buildTestApp(t, { LOG_LEVEL: 'info' }, { logStream: stream })
    const email = uniqueEmail('leak')
    // A handler that fails the way registration did: a row PostgreSQL refuses, carrying a password hash.
    app.post('/test-only/failing-insert', async () => {
      const now = new Date()
      await createUsersStore(database.db).create({ id: newId(), email, username: null, name: 'Zorblax\u0000', password_hash: HASH, created_at: now, updated_at: now })
    })
    const res = await app.inject({ method: 'POST', url: '/test-only/failing-insert' })
    assert.equal(res.statusCode, 500)
    assert.doesNotMatch(res.body, /argon2|Zorblax|users/)

    const errorLine = lines.find(line => line.includes('"internal_error"'))
    assert.ok(errorLine, `an error line was logged: ${lines.join('\n')}`)
    const logged = JSON.parse(errorLine) as { err: { type: string, code?: string, query?: string, cause?: { code?: string } } }
    for (const secret of [HASH, 'c2VjcmV0LXNhbHQtOTk', email, 'Zorblax']) {
      for (const line of lines) assert.ok(!line.includes(secret), `a log line carries ${secret}: ${line}`)
    }
    assert.match(JSON.stringify(logged.err), /"code":"22021"|"code":"22P05"|database error/, 'the database error is identifiable')
  })

  it('when a query fails on a parameter, then the serializer keeps neither the parameter nor a message quoting it', async () => {
    const { database } = await sharedStorage()
    const secret = `secret-${newId()}`
    const err = await database.db.execute(sql`select ${secret}::int`).then(() => undefined, (e: unknown) => e)
    assert.ok(err, 'the query failed')
    const raw = JSON.stringify(err, Object.getOwnPropertyNames(err)) + String((err as Error).message) + String((err as Error).stack)
    assert.ok(raw.includes(secret), 'the driver error itself does carry the parameter (the test can fail)')
    const serialized = JSON.stringify(serializeError(err))
    assert.ok(!serialized.includes(secret), serialized)
    assert.match(serialized, /22P02/)
    assert.match(serialized, /select \$1::int/)
  })

  it('when a pg-shaped error carries detail, params and a quoting message, then only allow-listed fields remain', () => {
    const pgError = Object.assign(new Error('duplicate key value violates unique constraint "users_email_key"'), {
      code: '23505', severity: 'ERROR', detail: 'Key (email)=(ada@example.com) already exists.', constraint: 'users_email_key', table: 'users'
    })
    const wrapped = Object.assign(new Error('Failed query: insert into users values ($1, $2)\nparams: ada@example.com,$argon2id$v=19$x'), {
      name: 'DrizzleQueryError', query: 'insert into users values ($1, $2)', params: ['ada@example.com', '$argon2id$v=19$x'], cause: pgError
    })
    const out = serializeError(wrapped)
    const json = JSON.stringify(out)
    assert.ok(!json.includes('ada@example.com') && !json.includes('argon2'), json)
    assert.equal(out.cause?.code, '23505')
    assert.equal(out.cause?.constraint, 'users_email_key')
    assert.equal(out.query, 'insert into users values ($1, $2)')
    assert.ok(out.stack.includes(' at '), 'frames are kept')
    assert.equal(serializeError(new TypeError('plain message')).message, 'plain message')
  })
})

describe('request loggers are made only when they write (#15)', () => {
  it('when a request logs nothing at an enabled level, then no pino child is made; when it does, the line carries its reqId', async () => {
    const { default: pino } = await import('pino')
    const { stream, lines } = captureLog()
    const parent = pino({ ...loggerOptions('warn') }, stream)
    let made = 0
    const child = parent.child.bind(parent)
    parent.child = ((...args: Parameters<typeof parent.child>) => { made++; return child(...args) }) as typeof parent.child
    const log = lazyChildLogger(parent, { reqId: 'req-1' }, {})
    log.info('not written')
    log.debug('not written')
    assert.equal(log.level, 'warn')
    assert.equal(made, 0)
    log.warn({ password: 'hunter2' }, 'written')
    log.error('again')
    assert.equal(made, 1)
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(lines.length, 2)
    const first = JSON.parse(lines[0] ?? '{}') as { reqId?: string, password?: string, msg?: string }
    assert.equal(first.reqId, 'req-1')
    assert.equal(first.password, '[redacted]')
    assert.equal(first.msg, 'written')
  })

  it('when the app logs at info, then each request line carries the reqId the response names', async (t) => {
    const { stream, lines } = captureLog()
    const { app } = await buildTestApp(t, { LOG_LEVEL: 'info' }, { logStream: stream })
    const res = await app.inject({ method: 'GET', url: '/healthz' })
    const id = String(res.headers['x-request-id'])
    const mine = lines.filter(line => line.includes(id)).map(line => JSON.parse(line) as { reqId?: string, msg?: string })
    assert.deepEqual(mine.map(line => [line.reqId, line.msg]), [[id, 'incoming request'], [id, 'request completed']])
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildApp } from '../../app.js'
import { loadConfig } from '../../config.js'
import { systemClock } from '../clock.js'
import { buildTestApp, sharedStorage } from '../../../test/build-test-app.js'
import { uniqueEmail } from '../../../test/factories.js'
import { storageLabel } from '../../../test/test-env.js'

const problem = /^application\/problem\+json/

describe(`HTTP conventions [${storageLabel}]`, () => {
  it('when the body is over 1 MiB, then 413 problem+json', async (t) => {
    const { app } = await buildTestApp(t)
    const res = await app.inject({ method: 'POST', url: '/v1/auth/register', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email: 'a@b.co', password: 'x'.repeat(1024 * 1024 + 10) }) })
    assert.equal(res.statusCode, 413)
    assert.match(String(res.headers['content-type']), problem)
  })

  it('when the JSON is malformed or empty, then 400 problem+json without parser internals', async (t) => {
    const { app } = await buildTestApp(t)
    for (const payload of ['{"email":', '']) {
      const res = await app.inject({ method: 'POST', url: '/v1/auth/register', headers: { 'content-type': 'application/json' }, payload })
      assert.equal(res.statusCode, 400, payload)
      assert.match(String(res.headers['content-type']), problem)
      assert.doesNotMatch(res.body, /at JSON|SyntaxError|position/)
    }
  })

  it('when the body carries __proto__ or constructor.prototype, then 400', async (t) => {
    const { app } = await buildTestApp(t)
    for (const payload of [`{"email":"${uniqueEmail()}","password":"long enough pass 1","__proto__":{"role":"admin"}}`, '{"constructor":{"prototype":{"role":"admin"}},"password":"x"}']) {
      const res = await app.inject({ method: 'POST', url: '/v1/auth/register', headers: { 'content-type': 'application/json' }, payload })
      assert.equal(res.statusCode, 400)
    }
  })

  it('when the route is unknown, then 404 problem+json (a known path with another method is 405: conventions.test.ts)', async (t) => {
    const { app } = await buildTestApp(t)
    for (const [method, url] of [['GET', '/v1/nope'], ['TRACE', '/v1/nope'], ['GET', '/.env'], ['GET', '/.git/config']] as const) {
      const res = await app.inject({ method, url })
      assert.equal(res.statusCode, 404, `${method} ${url}`)
      assert.match(String(res.headers['content-type']), problem)
    }
  })

  it('when a request id is sent, then it is echoed; a malformed one is replaced', async (t) => {
    const { app } = await buildTestApp(t)
    const ok = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123' } })
    assert.equal(ok.headers['x-request-id'], 'abc-123')
    const bad = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id\twith spaces' } })
    assert.match(String(bad.headers['x-request-id']), /^[0-9a-f-]{36}$/)
    assert.equal(ok.headers['x-powered-by'], undefined)
  })

  it('when probed, then /healthz is ok and /readyz names each dependency', async (t) => {
    const { app, redis } = await buildTestApp(t)
    assert.deepEqual((await app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' })
    const ready = await app.inject({ method: 'GET', url: '/readyz' })
    assert.equal(ready.statusCode, 200)
    assert.deepEqual(ready.json().checks, redis ? { database: 'ok', redis: 'ok' } : { database: 'ok' })
  })

  it('when the database does not answer, then /readyz is 503 naming it', async (t) => {
    const { database } = await sharedStorage()
    const broken = { ...database, ping: async () => { throw new Error('connection refused') } }
    const app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', MAX_EVENT_LOOP_DELAY_MS: '0' }), database: broken, clock: systemClock, logger: false })
    t.after(() => app.close())
    const res = await app.inject({ method: 'GET', url: '/readyz' })
    assert.equal(res.statusCode, 503)
    assert.equal(res.json().checks.database, 'unavailable')
    assert.match(res.json().status, /database/)
  })

  it('when /openapi.json is fetched, then it is OpenAPI 3.1 with every auth and users route and both security schemes', async (t) => {
    const { app } = await buildTestApp(t)
    const res = await app.inject({ method: 'GET', url: '/openapi.json' })
    assert.equal(res.statusCode, 200)
    const doc = res.json()
    assert.equal(doc.openapi, '3.1.0')
    const expected: Array<[string, string]> = [
      ['/v1/auth/register', 'post'], ['/v1/auth/login', 'post'], ['/v1/auth/token', 'post'], ['/v1/auth/refresh', 'post'],
      ['/v1/auth/logout', 'post'], ['/v1/auth/logout-all', 'post'], ['/v1/auth/sessions', 'get'], ['/v1/auth/sessions/{id}', 'delete'],
      ['/v1/users/me', 'get'], ['/v1/users/me', 'patch'], ['/v1/users/me/password', 'put'], ['/v1/users/me', 'delete'],
      ['/.well-known/jwks.json', 'get'], ['/.well-known/oauth-authorization-server', 'get'],
      ['/v1/tasks', 'post'], ['/v1/tasks', 'get'], ['/v1/tasks/{id}', 'get'], ['/v1/tasks/{id}', 'put'], ['/v1/tasks/{id}', 'patch'], ['/v1/tasks/{id}', 'delete'],
      ['/v1/admin/users', 'get'], ['/v1/admin/users/{id}', 'get'], ['/v1/admin/users/{id}', 'patch'], ['/v1/admin/users/{id}', 'delete'],
      ['/v1/admin/tasks', 'get'], ['/v1/admin/tasks/{id}', 'delete'], ['/v1/admin/audit-events', 'get']
    ]
    assert.equal(doc.paths['/v1/tasks/'], undefined, 'no trailing-slash twin')
    for (const [path, method] of expected) assert.ok(doc.paths[path]?.[method], `${method} ${path}`)
    assert.deepEqual(doc.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: doc.components.securitySchemes.bearerAuth.description })
    assert.equal(doc.components.securitySchemes.oauth2.flows.password.tokenUrl, '/v1/auth/token')
    assert.ok(doc.paths['/v1/auth/token'].post.requestBody.content['application/x-www-form-urlencoded'])
    assert.doesNotMatch(res.body, /password_hash/)
  })

  it('when /docs is fetched, then the interactive docs page is served', async (t) => {
    const { app } = await buildTestApp(t)
    const res = await app.inject({ method: 'GET', url: '/docs/' })
    assert.equal(res.statusCode, 200)
    assert.match(String(res.headers['content-type']), /text\/html/)
    assert.match(res.body, /swagger/i)
  })
})

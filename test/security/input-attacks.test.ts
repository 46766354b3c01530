import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { buildTestApp } from '../build-test-app.js'
import { uniqueEmail } from '../factories.js'
import { storageLabel } from '../test-env.js'

const SQLI = ["' OR '1'='1", "'; DROP TABLE users; --", '" OR ""="', '1) OR (1=1', "admin'--", "' UNION SELECT password_hash FROM users --", '%27%20OR%201=1', '\\x00', "';select pg_sleep(5);--"]

describe(`input attacks [${storageLabel}]`, () => {
  it('when any JSON body carries __proto__ or constructor.prototype, then 400 and nothing is polluted', async (t) => {
    const { app, make } = await buildTestApp(t)
    const user = await make.user()
    const auth = make.bearer(user.tokens.access_token)
    const task = await make.task(user.tokens.access_token)
    const routes: Array<[string, string]> = [['POST', '/v1/auth/register'], ['POST', '/v1/auth/login'], ['POST', '/v1/auth/refresh'], ['PATCH', '/v1/users/me'],
      ['PUT', '/v1/users/me/password'], ['POST', '/v1/tasks'], ['PUT', `/v1/tasks/${task.id}`], ['PATCH', `/v1/tasks/${task.id}`]]
    for (const [method, url] of routes) {
      for (const payload of ['{"title":"x","__proto__":{"isAdmin":true,"role":"admin"}}', '{"title":"x","constructor":{"prototype":{"isAdmin":true}}}']) {
        const res = await app.inject({ method: method as 'POST', url, headers: { ...auth, 'content-type': 'application/json' }, payload })
        assert.equal(res.statusCode, 400, `${method} ${url}`)
      }
    }
    assert.equal(({} as Record<string, unknown>).isAdmin, undefined)
    assert.equal(({} as Record<string, unknown>).role, undefined)
  })

  it('when SQL-injection payloads go into every field and query parameter, then answers are 4xx or literal data, never 500', async (t) => {
    const { app, make } = await buildTestApp(t)
    const user = await make.user()
    const auth = make.bearer(user.tokens.access_token)
    for (const payload of SQLI) {
      const calls = [
        app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: payload, password: payload } }),
        app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: payload, password: 'x' } }),
        app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: `${uniqueEmail()}`, password: `${payload} long enough`, username: payload } }),
        app.inject({ method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ grant_type: 'password', username: payload, password: payload }).toString() }),
        app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: payload } }),
        app.inject({ method: 'GET', url: `/v1/tasks?q=${encodeURIComponent(payload)}&tag=${encodeURIComponent(payload)}`, headers: auth }),
        app.inject({ method: 'GET', url: `/v1/tasks?sort=${encodeURIComponent(payload)}`, headers: auth }),
        app.inject({ method: 'GET', url: `/v1/tasks/${encodeURIComponent(payload)}`, headers: auth }),
        app.inject({ method: 'POST', url: '/v1/tasks', headers: auth, payload: { title: payload, description: payload, tags: [payload.slice(0, 32)] } })
      ]
      for (const res of await Promise.all(calls)) {
        assert.ok(res.statusCode < 500, `${res.statusCode} for ${payload}: ${res.body}`)
        // error bodies never carry SQL errors or stack frames (2xx bodies may echo the payload as data)
        if (res.statusCode >= 400) assert.doesNotMatch(res.body, /syntax error|relation "|stack|\bat [\w.]+ \(/i)
      }
    }
    const list = await app.inject({ method: 'GET', url: '/v1/tasks?limit=100', headers: auth })
    assert.ok(list.json().data.some((x: { title: string }) => x.title === "'; DROP TABLE users; --"), 'stored literally')
  })

  it('when the validators get arbitrary JSON (property-based), then no input yields a 500', async (t) => {
    const { app, make } = await buildTestApp(t)
    const user = await make.user()
    const auth = make.bearer(user.tokens.access_token)
    const task = await make.task(user.tokens.access_token)
    const targets: Array<[string, string, Record<string, string>]> = [
      ['POST', '/v1/auth/register', {}], ['POST', '/v1/auth/login', {}], ['POST', '/v1/auth/refresh', {}], ['PATCH', '/v1/users/me', auth],
      ['PUT', '/v1/users/me/password', auth], ['POST', '/v1/tasks', auth], ['PATCH', `/v1/tasks/${task.id}`, auth], ['PUT', `/v1/tasks/${task.id}`, auth]
    ]
    const fields = fc.constantFrom('email', 'password', 'username', 'name', 'title', 'description', 'status', 'priority', 'due_at', 'tags', 'refresh_token', 'current_password', 'new_password', 'role', 'owner_id', '__proto__')
    const body = fc.oneof(fc.dictionary(fields, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }), fc.jsonValue({ maxDepth: 2 }))
    await fc.assert(fc.asyncProperty(fc.constantFrom(...targets), body, async ([method, url, headers], payload) => {
      const res = await app.inject({ method: method as 'POST', url, headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify(payload) })
      return res.statusCode < 500
    }), { numRuns: 300 })
    await fc.assert(fc.asyncProperty(fc.dictionary(fc.constantFrom('status', 'priority', 'tag', 'q', 'sort', 'limit', 'cursor', 'due_before', 'due_after', 'x'), fc.string({ maxLength: 40 }), { maxKeys: 4 }), async (query) => {
      const res = await app.inject({ method: 'GET', url: `/v1/tasks?${new URLSearchParams(query).toString()}`, headers: auth })
      return res.statusCode < 500
    }), { numRuns: 200 })
    await fc.assert(fc.asyncProperty(fc.string({ maxLength: 300 }), async (form) => {
      const res = await app.inject({ method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form })
      return res.statusCode === 400 || res.statusCode === 200
    }), { numRuns: 200 })
  })

  it('when logging in, then an unknown account and a wrong password take statistically similar time', async (t) => {
    const { app, make } = await buildTestApp(t)
    const user = await make.user()
    const time = async (email: string) => {
      const start = process.hrtime.bigint()
      const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: 'wrong password here' } })
      assert.equal(res.statusCode, 401)
      return Number(process.hrtime.bigint() - start) / 1e6
    }
    const known: number[] = []
    const unknown: number[] = []
    for (let i = 0; i < 20; i++) { // interleaved, so load on the machine affects both alike
      known.push(await time(user.email))
      unknown.push(await time(uniqueEmail('nobody')))
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
    const [a, b] = [median(known), median(unknown)]
    // Both spend one argon2id verification (tens of ms); a missing dummy hash would make unknown ~10× faster.
    assert.ok(Math.min(a, b) / Math.max(a, b) > 0.5, `medians ${a.toFixed(1)} ms vs ${b.toFixed(1)} ms`)
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTestApp } from '../build-test-app.js'
import { storageLabel } from '../test-env.js'

/**
 * The scope table of API.md ("Personal access tokens"), route by route. Every route of the OpenAPI
 * document that takes a bearer token is listed here or refuses every personal access token, so a new
 * route is covered the day it appears.
 */
const SCOPED: Record<string, string> = {
  'GET /v1/tasks': 'tasks:read',
  'GET /v1/tasks/{id}': 'tasks:read',
  'POST /v1/tasks': 'tasks:write',
  'PUT /v1/tasks/{id}': 'tasks:write',
  'PATCH /v1/tasks/{id}': 'tasks:write',
  'DELETE /v1/tasks/{id}': 'tasks:write',
  'GET /v1/users/me': 'profile:read'
}
const SCOPES = ['tasks:read', 'tasks:write', 'profile:read']

interface Operation { security?: unknown[] }

describe(`personal access token scopes, route by route [${storageLabel}]`, () => {
  it('when a token with one scope calls each protected route with malformed input, then 403 insufficient_scope unless the scope covers the route (then the input is judged: never 401 or 403)', async (t) => {
    const { app, make } = await buildTestApp(t)
    await app.ready()
    const user = await make.user()
    const pats = Object.fromEntries(await Promise.all(SCOPES.map(async scope => [scope, (await make.pat(user, [scope])).token] as const)))
    const paths = (app.swagger() as { paths: Record<string, Record<string, Operation>> }).paths
    const protectedRoutes = Object.entries(paths).flatMap(([path, methods]) =>
      Object.entries(methods).filter(([, op]) => (op.security?.length ?? 0) > 0).map(([method]) => `${method.toUpperCase()} ${path}`))
    for (const route of Object.keys(SCOPED)) assert.ok(protectedRoutes.includes(route), `${route} is a documented protected route`)
    assert.ok(protectedRoutes.length >= 20, `found ${protectedRoutes.length} protected routes`)

    for (const route of protectedRoutes) {
      const [method, path = ''] = route.split(' ')
      // A malformed id and an unknown body field: a 400 if the request gets that far.
      const url = path.replace(/\{[a-z_]+\}/g, 'not-a-uuid')
      for (const scope of SCOPES) {
        const res = await app.inject({ method: method as 'GET', url, headers: make.bearer(pats[scope] ?? ''), ...(method === 'GET' || method === 'DELETE' ? {} : { payload: { unexpected: true } }) })
        if (SCOPED[route] === scope) {
          assert.ok(res.statusCode !== 401 && res.statusCode !== 403, `${route} with ${scope}: ${res.statusCode} ${res.body}`)
        } else {
          assert.equal(res.statusCode, 403, `${route} with ${scope}: ${res.body}`)
          assert.equal(res.json().code, 'insufficient_scope', route)
          assert.match(String(res.headers['www-authenticate']), /^Bearer error="insufficient_scope"/, route)
        }
      }
    }
  })

  it('when a token carries the scope, then the route works end to end; HEAD follows GET', async (t) => {
    const { app, make } = await buildTestApp(t)
    const user = await make.user()
    const read = (await make.pat(user, ['tasks:read'])).token
    const write = (await make.pat(user, ['tasks:write'])).token
    const created = await app.inject({ method: 'POST', url: '/v1/tasks', headers: make.bearer(write), payload: { title: 'from a script' } })
    assert.equal(created.statusCode, 201)
    const id = created.json().id as string
    assert.equal(created.json().owner_id, user.id)
    assert.equal((await app.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: make.bearer(read) })).json().title, 'from a script')
    assert.equal((await app.inject({ method: 'HEAD', url: `/v1/tasks/${id}`, headers: make.bearer(read) })).statusCode, 200)
    assert.equal((await app.inject({ method: 'HEAD', url: '/v1/tasks', headers: make.bearer(write) })).statusCode, 403)
    assert.equal((await app.inject({ method: 'GET', url: '/v1/tasks', headers: make.bearer(read) })).json().data.length, 1)
    assert.equal((await app.inject({ method: 'PATCH', url: `/v1/tasks/${id}`, headers: make.bearer(read), payload: { title: 'no' } })).statusCode, 403)
    assert.equal((await app.inject({ method: 'PATCH', url: `/v1/tasks/${id}`, headers: make.bearer(write), payload: { status: 'done' } })).json().status, 'done')
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/tasks/${id}`, headers: make.bearer(write) })).statusCode, 204)
  })

  it('when an admin\'s token with every scope calls admin, auth or account routes, then 403 insufficient_scope (never the admin role through a token)', async (t) => {
    const { app, make } = await buildTestApp(t)
    const admin = await make.admin()
    const pat = (await make.pat(admin, SCOPES)).token
    const calls: Array<[string, string]> = [
      ['GET', '/v1/admin/users'], ['GET', `/v1/admin/users/${admin.id}`], ['PATCH', `/v1/admin/users/${admin.id}`], ['DELETE', `/v1/admin/users/${admin.id}`],
      ['GET', `/v1/admin/users/${admin.id}/tokens`], ['GET', '/v1/admin/tasks'], ['GET', '/v1/admin/audit-events'],
      ['POST', '/v1/auth/logout'], ['POST', '/v1/auth/logout-all'], ['GET', '/v1/auth/sessions'], ['PUT', '/v1/users/me/password'],
      ['PATCH', '/v1/users/me'], ['DELETE', '/v1/users/me'], ['POST', '/v1/users/me/tokens'], ['GET', '/v1/users/me/tokens']
    ]
    for (const [method, url] of calls) {
      const res = await app.inject({ method: method as 'GET', url, headers: make.bearer(pat), ...(method === 'GET' ? {} : { payload: { role: 'user' } }) })
      assert.equal(res.statusCode, 403, `${method} ${url}`)
      assert.equal(res.json().code, 'insufficient_scope', `${method} ${url}`)
    }
    assert.equal((await make.reloadUser(admin.id))?.role, 'admin')
    assert.equal((await app.inject({ method: 'GET', url: '/v1/admin/users', headers: make.bearer(admin.tokens.access_token) })).statusCode, 200, 'the admin\'s access token still works')
  })
})

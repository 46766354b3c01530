import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { suiteApp } from '../../../test/build-test-app.js'
import { storageLabel } from '../../../test/test-env.js'

const PUBLIC_URL = 'https://api.example.test'
const ORIGIN = 'https://app.example.test'
const problem = /^application\/problem\+json/
const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const
type Doc = { paths: Record<string, Record<string, unknown>> }

/** Every documented path with its methods (upper case), plus the operational routes the document hides. */
async function knownPaths (app: FastifyInstance): Promise<Map<string, Set<string>>> {
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<Doc>()
  const paths = new Map<string, Set<string>>()
  for (const [path, item] of Object.entries(doc.paths)) paths.set(path, new Set(Object.keys(item).map(m => m.toUpperCase())))
  for (const hidden of ['/metrics', '/openapi.json', '/docs', '/docs/', '/docs/json', '/docs/static/swagger-ui.css']) paths.set(hidden, new Set(['GET']))
  return paths
}

describe(`API conventions [${storageLabel}]`, () => {
  const suite = suiteApp({ PUBLIC_URL, CORS_ORIGINS: ORIGIN })
  before(suite.start)

  describe('GET /', () => {
    it('when the root is fetched, then it is the index: name, package version, docs and openapi under PUBLIC_URL', async () => {
      const { app } = suite.app()
      const res = await app.inject({ method: 'GET', url: '/' })
      assert.equal(res.statusCode, 200)
      assert.match(String(res.headers['content-type']), /^application\/json/)
      assert.deepEqual(res.json(), { name: 'TaskFlow API', version, docs: `${PUBLIC_URL}/docs`, openapi: `${PUBLIC_URL}/openapi.json` })
    })

    it('when the document is fetched, then info carries the package version and the index is documented', async () => {
      const { app } = suite.app()
      const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<Doc & { info: { title: string, version: string } }>()
      assert.equal(doc.info.title, 'TaskFlow API')
      assert.equal(doc.info.version, version)
      assert.ok(doc.paths['/']?.get)
    })
  })

  describe('405 Method Not Allowed', () => {
    it('when a known path is called with a method it lacks, then 405 problem+json whose Allow lists its methods', async () => {
      const { app } = suite.app()
      const cases: Array<[string, string, string]> = [
        ['DELETE', '/v1/tasks', 'GET, HEAD, POST'],
        ['POST', '/v1/tasks/01a20000-0000-7000-8000-000000000000', 'DELETE, GET, HEAD, PATCH, PUT'],
        ['POST', '/v1/tasks/not-a-uuid', 'DELETE, GET, HEAD, PATCH, PUT'],
        ['GET', '/v1/auth/token', 'POST'],
        ['PUT', '/v1/auth/login', 'POST'],
        ['TRACE', '/v1/users/me', 'DELETE, GET, HEAD, PATCH'],
        ['PUT', '/healthz', 'GET, HEAD'],
        ['POST', '/metrics', 'GET, HEAD'],
        ['DELETE', '/', 'GET, HEAD'],
        ['POST', '/.well-known/jwks.json', 'GET, HEAD'],
        ['POST', '/docs/static/swagger-ui.css', 'GET, HEAD']
      ]
      for (const [method, url, allow] of cases) {
        const res = await app.inject({ method: method as 'GET', url })
        assert.equal(res.statusCode, 405, `${method} ${url}`)
        assert.equal(res.headers.allow, allow, `${method} ${url}`)
        assert.match(String(res.headers['content-type']), problem)
        const body = res.json()
        assert.equal(body.status, 405)
        assert.equal(body.code, 'method_not_allowed')
        assert.equal(body.type, 'https://taskflow.dev/problems/method_not_allowed')
      }
    })

    it('when any documented or operational path gets a method it lacks, then 405 (before authentication) and Allow names every method it has', async () => {
      const { app } = suite.app()
      for (const [template, methods] of await knownPaths(app)) {
        const url = template.replaceAll(/\{[^}]+\}/g, '01a20000-0000-7000-8000-000000000000')
        const missing = METHODS.find(m => !methods.has(m))
        if (!missing) continue
        const res = await app.inject({ method: missing, url })
        assert.equal(res.statusCode, 405, `${missing} ${url}`)
        const allow = String(res.headers.allow).split(', ')
        for (const m of methods) assert.ok(allow.includes(m), `${url}: Allow ${res.headers.allow} lacks ${m}`)
        if (methods.has('GET')) assert.ok(allow.includes('HEAD'), `${url}: Allow lacks HEAD`)
      }
    })

    it('when the path is unknown, then 404, not 405', async () => {
      const { app } = suite.app()
      for (const [method, url] of [['DELETE', '/v1/nope'], ['GET', '/v1/tasks/a/b'], ['POST', '/v1'], ['PUT', '/v1/users/me/']] as const) {
        const res = await app.inject({ method, url })
        assert.equal(res.statusCode, 404, `${method} ${url}`)
        assert.equal(res.headers.allow, undefined)
      }
    })
  })

  describe('HEAD', () => {
    it('when HEAD is sent wherever GET works, then it answers GET\'s status and headers without a body', async () => {
      const { app, make } = suite.app()
      const admin = await make.admin()
      const task = await make.task(admin.tokens.access_token)
      const headers = make.bearer(admin.tokens.access_token)
      let checked = 0
      for (const [template, methods] of await knownPaths(app)) {
        if (!methods.has('GET')) continue
        const url = template.replace('/v1/tasks/{id}', `/v1/tasks/${task.id}`).replace('/v1/admin/users/{id}', `/v1/admin/users/${admin.id}`)
        const get = await app.inject({ method: 'GET', url, headers })
        const head = await app.inject({ method: 'HEAD', url, headers })
        // The OAuth redirect routes need a configured provider and a PKCE request (oauth.routes.test.ts):
        // here they refuse, and HEAD must refuse alike.
        if (!template.startsWith('/v1/auth/oauth/')) assert.ok(get.statusCode < 400, `GET ${url}: ${get.statusCode}`)
        assert.equal(head.statusCode, get.statusCode, `HEAD ${url}`)
        assert.equal(head.body, '', `HEAD ${url} has no body`)
        assert.equal(head.headers['content-type'], get.headers['content-type'], `HEAD ${url}`)
        checked++
      }
      assert.ok(checked >= 15, `only ${checked} GET routes checked`)
    })
  })

  it('when RFC 8414 metadata is fetched, then it lists every item API.md names, S256 as the only PKCE method', async () => {
    const { app, config } = suite.app()
    const res = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })
    assert.equal(res.statusCode, 200)
    const meta = res.json()
    assert.equal(meta.issuer, config.auth.issuer)
    assert.equal(meta.token_endpoint, `${PUBLIC_URL}/v1/auth/token`)
    assert.equal(meta.jwks_uri, `${PUBLIC_URL}/.well-known/jwks.json`)
    // Every grant the token endpoint takes (API.md): social sign-in's code and the MFA second step too.
    assert.deepEqual(meta.grant_types_supported, ['password', 'refresh_token', 'authorization_code', 'urn:taskflow:params:oauth:grant-type:mfa-otp'])
    assert.deepEqual(meta.token_endpoint_auth_methods_supported, ['none'])
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256'])
  })

  it('when a cross-origin client preflights a conditional GET, then If-None-Match is allowed and Link is exposed', async () => {
    const origin = ORIGIN
    const { app } = suite.app()
    const preflight = await app.inject({ method: 'OPTIONS', url: '/v1/tasks/01a20000-0000-7000-8000-000000000000', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization, if-none-match' } })
    assert.equal(preflight.statusCode, 204)
    assert.match(String(preflight.headers['access-control-allow-headers']), /If-None-Match/)
    const get = await app.inject({ method: 'GET', url: '/healthz', headers: { origin } })
    assert.match(String(get.headers['access-control-expose-headers']), /Link/)
  })
})

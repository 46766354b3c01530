import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import Fastify from 'fastify'
import { renderProblemsDoc } from './errors-doc.js'
import { AppError, ERROR_CODES, ERRORS, problemType, type ErrorCode } from './errors.js'
import { registerErrorHandler } from './http/error-handler.js'
import { OAuthErrorBody, Problem } from './schemas.js'

/** A bare Fastify with the one error handler; `/throw/:code` throws that catalogue code. */
async function appThrowing (extensions?: Record<string, unknown>) {
  const app = Fastify({ logger: false })
  registerErrorHandler(app)
  const response = { '4xx': Problem, '5xx': Problem }
  app.get<{ Params: { code: ErrorCode } }>('/throw/:code', { schema: { response } }, async (req) => {
    throw new AppError(req.params.code, { detail: 'something specific', ...(extensions ? { extensions } : {}) })
  })
  app.post<{ Params: { code: ErrorCode } }>('/token/:code', { config: { oauthErrors: true }, schema: { response: { 400: OAuthErrorBody, 403: OAuthErrorBody, '4xx': Problem, '5xx': Problem } } }, async (req) => {
    throw new AppError(req.params.code, { detail: 'something specific', ...(extensions ? { extensions } : {}) })
  })
  await app.ready()
  return app
}

describe('error catalogue', () => {
  it('when any catalogue code is thrown, then problem+json with its status, title, type and code', async (t) => {
    const app = await appThrowing()
    t.after(() => app.close())
    for (const code of ERROR_CODES) {
      const res = await app.inject({ url: `/throw/${code}` })
      assert.equal(res.statusCode, ERRORS[code].status, code)
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/, code)
      const body = res.json()
      assert.deepEqual([body.code, body.title, body.type, body.status, body.detail], [code, ERRORS[code].title, problemType(code), ERRORS[code].status, 'something specific'], code)
    }
  })

  it('when the codes are listed, then each is snake_case, documented and has a 4xx/5xx status', () => {
    for (const code of ERROR_CODES) {
      assert.match(code, /^[a-z]+(_[a-z]+)*$/)
      const spec = ERRORS[code]
      assert.ok(spec.status >= 400 && spec.status < 600, code)
      assert.ok(spec.doc.length > 10 && spec.title.length > 0, code)
    }
    assert.equal(problemType('validation_failed'), 'https://taskflow.dev/problems/validation', 'the historical type URI is kept')
  })

  it('when mfa_required carries extension members, then the problem body and the RFC 6749 body both have them', async (t) => {
    const app = await appThrowing({ mfa_token: 'opaque', expires_in: 300, methods: ['totp', 'recovery_code'], code: 'overwritten?', error: 'overwritten?' })
    t.after(() => app.close())
    const problem = await app.inject({ url: '/throw/mfa_required' })
    assert.equal(problem.statusCode, 403)
    assert.deepEqual(problem.json(), {
      type: 'https://taskflow.dev/problems/mfa_required',
      title: 'Second factor required',
      status: 403,
      detail: 'something specific',
      instance: '/throw/mfa_required',
      code: 'mfa_required',
      mfa_token: 'opaque',
      expires_in: 300,
      methods: ['totp', 'recovery_code'],
      error: 'overwritten?'
    })
    const oauth = await app.inject({ method: 'POST', url: '/token/mfa_required' })
    assert.equal(oauth.statusCode, 403)
    assert.equal(oauth.headers['cache-control'], 'no-store')
    assert.deepEqual(oauth.json(), { error: 'mfa_required', error_description: 'something specific', mfa_token: 'opaque', expires_in: 300, methods: ['totp', 'recovery_code'], code: 'overwritten?' })
  })

  it('when the token endpoint throws a code, then its RFC 6749 error (or problem+json for codes without one)', async (t) => {
    const app = await appThrowing()
    t.after(() => app.close())
    const cases: Array<[ErrorCode, number, string | undefined]> = [
      ['invalid_credentials', 400, 'invalid_grant'], ['account_disabled', 400, 'invalid_grant'], ['refresh_token_invalid', 400, 'invalid_grant'],
      ['validation_failed', 400, 'invalid_request'], ['unsupported_media_type', 400, 'invalid_request'], ['unsupported_grant_type', 400, 'unsupported_grant_type'],
      ['rate_limited', 429, undefined], ['service_unavailable', 503, undefined]
    ]
    for (const [code, status, error] of cases) {
      const res = await app.inject({ method: 'POST', url: `/token/${code}` })
      assert.equal(res.statusCode, status, code)
      if (error) assert.equal(res.json().error, error, code)
      else assert.equal(res.json().code, code, code)
    }
    const disabled = (await app.inject({ method: 'POST', url: '/token/account_disabled' })).json()
    const wrong = (await app.inject({ method: 'POST', url: '/token/invalid_credentials' })).json()
    assert.deepEqual(disabled, wrong, 'a disabled account reads like a wrong password')
  })

  it('when a code has a bearer error, then WWW-Authenticate names it; every other 401 gets a plain Bearer challenge', async (t) => {
    const app = await appThrowing()
    t.after(() => app.close())
    assert.match(String((await app.inject({ url: '/throw/insufficient_scope' })).headers['www-authenticate']), /^Bearer error="insufficient_scope"/)
    assert.match(String((await app.inject({ url: '/throw/invalid_token' })).headers['www-authenticate']), /^Bearer error="invalid_token"/)
    assert.equal((await app.inject({ url: '/throw/unauthenticated' })).headers['www-authenticate'], 'Bearer')
    assert.equal((await app.inject({ url: '/throw/forbidden' })).headers['www-authenticate'], undefined)
  })

  it('when the catalogue changes, then docs/problems.md is regenerated (run `npm run docs:problems`)', () => {
    const committed = readFileSync(new URL('../../docs/problems.md', import.meta.url), 'utf8')
    assert.equal(committed, renderProblemsDoc())
    for (const code of ERROR_CODES) assert.ok(committed.includes(`## ${code}\n`), code)
  })

  it('when the OpenAPI Problem schema is read, then code is an enum of every catalogue code', () => {
    assert.deepEqual((Problem.properties.code as unknown as { enum: string[] }).enum, ERROR_CODES)
  })
})

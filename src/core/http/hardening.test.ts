// #15: helmet's headers are captured once and applied as one object; they must be exactly helmet's.
import assert from 'node:assert/strict'
import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import { describe, it } from 'node:test'
import helmet from 'helmet'
import { buildTestApp } from '../../../test/build-test-app.js'
import { storageLabel } from '../../../test/test-env.js'
import { capturedHelmetHeaders } from './hardening.js'

/** What helmet's middleware sets on a real Node response, lower-case name → value. */
function helmetOnRealResponse (options: Parameters<typeof helmet>[0]): Record<string, string> {
  const res = new ServerResponse(new IncomingMessage(new Socket()))
  res.setHeader('X-Powered-By', 'something')
  helmet(options)(res.req, res, () => {})
  return Object.fromEntries(Object.entries(res.getHeaders()).map(([k, v]) => [k, String(v)]))
}

describe(`security headers [${storageLabel}]`, () => {
  it('when helmet is captured once, then the headers are exactly those its middleware sets on a real response', () => {
    const options = { contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } }, frameguard: { action: 'deny' as const } }
    assert.deepEqual({ ...capturedHelmetHeaders(options) }, helmetOnRealResponse(options))
    assert.deepEqual({ ...capturedHelmetHeaders() }, helmetOnRealResponse({
      contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      frameguard: { action: 'deny' },
      crossOriginResourcePolicy: { policy: 'same-origin' },
      strictTransportSecurity: { maxAge: 31536000, includeSubDomains: true }
    }))
  })

  it('when helmet refuses its options, then capturing throws', () => {
    assert.throws(() => capturedHelmetHeaders({ contentSecurityPolicy: { directives: { defaultSrc: ['none'] } } }))
  })

  it('when any route answers (success, 404, 400 validation, 401), then every helmet header, X-Request-Id and Cache-Control: no-store are on it', async (t) => {
    const { app } = await buildTestApp(t)
    const expected = capturedHelmetHeaders()
    for (const [url, status] of [['/healthz', 200], ['/nowhere', 404], ['/v1/tasks', 401], ['/v1/auth/login', 405]] as const) {
      const res = await app.inject({ method: 'GET', url })
      assert.equal(res.statusCode, status, url)
      for (const [name, value] of Object.entries(expected)) assert.equal(res.headers[name], value, `${url}: ${name}`)
      assert.equal(res.headers['cache-control'], 'no-store', url)
      assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/, url)
    }
    const bad = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 1 } })
    assert.equal(bad.statusCode, 400)
    assert.equal(bad.headers['x-frame-options'], 'DENY')
  })
})

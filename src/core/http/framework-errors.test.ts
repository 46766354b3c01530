import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { describe, it } from 'node:test'
import { buildTestApp } from '../../../test/build-test-app.js'
import { startRealServer } from '../../../test/real-server.js'
import { storageLabel } from '../../../test/test-env.js'

const problem = /^application\/problem\+json/

/** Sends raw bytes and returns the whole raw response (the server closes the connection). */
function rawRequest (base: string, request: string): Promise<string> {
  const { port } = new URL(base)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => { socket.write(request) })
    let data = ''
    socket.on('data', (d) => { data += String(d) })
    socket.on('end', () => resolve(data))
    socket.on('close', () => resolve(data))
    socket.on('error', (err) => { if (data) resolve(data); else reject(err) })
  })
}

describe(`errors raised by Fastify and Node [${storageLabel}]`, () => {
  // regression: #9 — these answered with FST_ERR_* codes and echoed the path
  it('when a path parameter is over 200 characters or has a bad percent-escape, then problem+json with our code and no echo', async (t) => {
    const { app, make } = await buildTestApp(t)
    const user = await make.user()
    const long = 'zq'.repeat(100) + 'x' // 201 characters
    const cases: Array<[string, number, string, string]> = [
      [`/v1/tasks/${long}`, 414, 'uri_too_long', long],
      ['/v1/tasks/%E0%A4%Aqzx', 400, 'malformed_url', 'qzx'],
      ['/v1/tasks/%zzqzx', 400, 'malformed_url', 'qzx']
    ]
    for (const [url, status, code, echo] of cases) {
      for (const headers of [{}, make.bearer(user.tokens.access_token)]) {
        const res = await app.inject({ method: 'GET', url, headers })
        assert.equal(res.statusCode, status, url)
        assert.match(String(res.headers['content-type']), problem, url)
        assert.equal(res.json().code, code, url)
        assert.ok(!res.body.includes(echo), `${url}: the body echoes the input`)
        assert.doesNotMatch(res.body, /FST_ERR/, url)
      }
    }
  })

  it('when Fastify raises any other FST_ERR_* (e.g. a bad Content-Length), then problem+json with our code and no echo', async (t) => {
    const { app, make } = await buildTestApp(t)
    const user = await make.user()
    const res = await app.inject({ method: 'POST', url: '/v1/tasks', headers: { ...make.bearer(user.tokens.access_token), 'content-type': 'application/json; qzx=1', 'content-length': '3' }, payload: '{"title":"qzxqzx"}' })
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, String(res.statusCode))
    assert.match(String(res.headers['content-type']), problem)
    assert.doesNotMatch(res.body, /FST_ERR|qzx/)
    const unknownType = await app.inject({ method: 'POST', url: '/v1/tasks', headers: { ...make.bearer(user.tokens.access_token), 'content-type': 'application/qzx-type' }, payload: 'qzx' })
    assert.equal(unknownType.statusCode, 415)
    assert.equal(unknownType.json().code, 'unsupported_media_type')
    assert.doesNotMatch(unknownType.body, /FST_ERR|qzx/)
  })

  it('when the request headers exceed 16 KiB or the request cannot be parsed, then problem+json from the server itself, and the connection closes', async (t) => {
    const { base } = await startRealServer(t)
    const big = await rawRequest(base, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Qzx: ${'q'.repeat(17 * 1024)}\r\n\r\n`)
    assert.match(big, /^HTTP\/1\.1 431 /)
    assert.match(big, /content-type: application\/problem\+json/i)
    const body = JSON.parse(big.slice(big.indexOf('\r\n\r\n') + 4))
    assert.deepEqual([body.status, body.code], [431, 'header_too_large'])
    assert.doesNotMatch(big, /qqqq/)
    const smuggled = await rawRequest(base, 'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
    assert.match(smuggled, /^HTTP\/1\.1 400 /)
    assert.equal(JSON.parse(smuggled.slice(smuggled.indexOf('\r\n\r\n') + 4)).code, 'malformed_request')
  })
})

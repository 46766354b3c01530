import assert from 'node:assert/strict'
import { createHmac, createSecretKey } from 'node:crypto'
import { describe, it } from 'node:test'
import { base64url, exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from 'jose'
import { buildTestApp } from '../../../test/build-test-app.js'
import { storageLabel } from '../../../test/test-env.js'

const b64 = (value: unknown) => base64url.encode(JSON.stringify(value))
const decode = (part: string) => JSON.parse(new TextDecoder().decode(base64url.decode(part))) as Record<string, unknown>

describe(`access tokens: attacks are 401 invalid_token [${storageLabel}]`, () => {
  async function setup (t: Parameters<typeof buildTestApp>[0], env: Record<string, string> = {}) {
    const ctx = await buildTestApp(t, env)
    const user = await ctx.make.user()
    const token = user.tokens.access_token
    const [header = '', payload = '', signature = ''] = token.split('.')
    const expectRejected = async (candidate: string, label: string) => {
      const res = await ctx.app.inject({ method: 'GET', url: '/v1/users/me', headers: { authorization: `Bearer ${candidate}` } })
      assert.equal(res.statusCode, 401, label)
      assert.match(String(res.headers['www-authenticate']), /^Bearer error="invalid_token", error_description="[^"\\]*"$/, label)
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/, label)
      assert.equal(res.json().code, 'invalid_token', label)
      assert.doesNotMatch(res.body, /stack|jose|JWS|JWT/i, label)
    }
    return { ...ctx, user, token, header: decode(header), payload: decode(payload), parts: { header, payload, signature }, expectRejected }
  }

  it('when the token is genuine, then it is accepted and carries the contract\'s header and claims', async (t) => {
    const { app, make, token, header, payload, user, config } = await setup(t)
    assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(token) })).statusCode, 200)
    assert.equal(header.alg, 'EdDSA')
    assert.equal(header.typ, 'at+jwt')
    assert.equal(typeof header.kid, 'string')
    assert.equal(payload.iss, config.auth.issuer)
    assert.equal(payload.aud, 'taskflow-api')
    assert.equal(payload.sub, user.id)
    assert.equal(payload.email, user.email)
    assert.equal(payload.role, 'user')
    assert.equal((payload.exp as number) - (payload.iat as number), 900)
    for (const claim of ['sid', 'jti']) assert.equal(typeof payload[claim], 'string')
  })

  it('when alg is none (any casing) or the signature is stripped, then rejected', async (t) => {
    const { header, payload, parts, expectRejected } = await setup(t)
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      await expectRejected(`${b64({ ...header, alg })}.${parts.payload}.`, `alg ${alg} empty sig`)
      await expectRejected(`${b64({ ...header, alg })}.${b64(payload)}.${parts.signature}`, `alg ${alg} kept sig`)
    }
  })

  it('when the payload is tampered with (role, sub, exp), then rejected', async (t) => {
    const { payload, parts, expectRejected } = await setup(t)
    for (const change of [{ role: 'admin' }, { sub: '00000000-0000-7000-8000-000000000000' }, { exp: (payload.exp as number) + 3600 }]) {
      await expectRejected(`${parts.header}.${b64({ ...payload, ...change })}.${parts.signature}`, JSON.stringify(change))
    }
  })

  it('when signed HS256 with the EdDSA public key (key confusion), then rejected', async (t) => {
    const { app, header, payload, parts, expectRejected } = await setup(t)
    const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json().keys as Array<{ x: string }>
    const rawPublic = Buffer.from(jwks[0]?.x ?? '', 'base64url')
    const candidates = [rawPublic, Buffer.from(JSON.stringify(jwks[0]))]
    for (const secret of candidates) {
      const forged = await new SignJWT(payload as JWTPayload).setProtectedHeader({ ...header, alg: 'HS256' } as { alg: string }).sign(createSecretKey(secret))
      await expectRejected(forged, 'hs256 with public key')
    }
    assert.ok(parts.signature.length > 0)
  })

  it('when signed by another EdDSA key, with its own jwk/jku/x5u header or an unknown kid, then rejected', async (t) => {
    const { header, payload, expectRejected } = await setup(t)
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const { exportJWK } = await import('jose')
    const jwk = await exportJWK(publicKey)
    const sign = (extra: Record<string, unknown>) => new SignJWT(payload as JWTPayload).setProtectedHeader({ ...header, ...extra } as { alg: string }).sign(privateKey)
    await expectRejected(await sign({}), 'foreign key, our kid')
    await expectRejected(await sign({ jwk }), 'embedded jwk')
    await expectRejected(await sign({ jku: 'http://127.0.0.1:9/jwks.json' }), 'jku')
    await expectRejected(await sign({ x5u: 'http://127.0.0.1:9/cert.pem', x5c: [await exportSPKI(publicKey)] }), 'x5u/x5c')
    await expectRejected(await sign({ kid: '../../etc/passwd' }), 'path kid')
    await expectRejected(await sign({ kid: "' or 1=1 --" }), 'sql kid')
  })

  it('when expired, issued in the future, or missing a required claim, then rejected', async (t) => {
    const { app, make, clock, token, expectRejected } = await setup(t)
    clock.advance(900 + 31)
    await expectRejected(token, 'expired beyond the 30 s tolerance')
    clock.advance(-(900 + 31))
    assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(token) })).statusCode, 200)
    clock.advance(-60)
    await expectRejected(token, 'iat 60 s in the future')
  })

  it('when typ, iss or aud is wrong, or claims are missing (re-signed with the real key), then rejected', async (t) => {
    const secret = 'a-very-long-random-test-secret-0123456789abcdef'
    const { header, payload, expectRejected, app, make, token } = await setup(t, { JWT_ALG: 'HS256', JWT_SECRET: secret })
    assert.equal(header.alg, 'HS256')
    assert.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: make.bearer(token) })).statusCode, 200)
    const key = createSecretKey(Buffer.from(secret))
    const resign = async (h: Record<string, unknown>, p: Record<string, unknown>) => new SignJWT(p as JWTPayload).setProtectedHeader(h as { alg: string }).sign(key)
    await expectRejected(await resign({ ...header, typ: 'JWT' }, payload), 'typ JWT')
    await expectRejected(await resign({ alg: 'HS256', kid: header.kid }, payload), 'no typ')
    await expectRejected(await resign(header, { ...payload, iss: 'https://evil.example' }), 'iss')
    await expectRejected(await resign(header, { ...payload, aud: 'other-api' }), 'aud')
    await expectRejected(await resign({ ...header, alg: 'HS512' }, payload), 'HS512 with the real secret')
    for (const claim of ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp']) {
      const { [claim]: _dropped, ...rest } = payload
      await expectRejected(await resign(header, rest), `missing ${claim}`)
    }
    await expectRejected(await resign(header, { ...payload, sid: ['x'] }), 'sid as array')
    // jose will not sign an unknown crit, so build that one by hand
    const critInput = `${b64({ ...header, crit: ['x-custom'], 'x-custom': 1 })}.${b64(payload)}`
    await expectRejected(`${critInput}.${createHmac('sha256', secret).update(critInput).digest('base64url')}`, 'unknown crit')
  })

  it('when the token is oversized or not three base64url segments, then rejected', async (t) => {
    const { token, expectRejected } = await setup(t)
    await expectRejected(`${token}${'A'.repeat(5000)}`, 'oversized')
    await expectRejected(`${token}.extra`, 'four segments')
    await expectRejected(token.replace('.', '=.'), 'padding')
    await expectRejected('abc', 'one segment')
  })

  it('when HS256 is configured, then the JWKS is empty and an EdDSA token is refused', async (t) => {
    const ed = await setup(t)
    const hs = await buildTestApp(t, { JWT_ALG: 'HS256', JWT_SECRET: 'another-long-random-secret-for-tests-0123456789' })
    const jwks = await hs.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
    assert.deepEqual(jwks.json(), { keys: [] })
    const res = await hs.app.inject({ method: 'GET', url: '/v1/users/me', headers: { authorization: `Bearer ${ed.token}` } })
    assert.equal(res.statusCode, 401)
  })
})

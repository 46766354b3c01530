import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ConfigError, loadConfig } from './config.js'

describe('loadConfig', () => {
  it('when nothing is set, then the API.md defaults apply and the result is frozen', () => {
    const c = loadConfig({})
    assert.equal(c.http.host, '127.0.0.1')
    assert.equal(c.http.port, 3000)
    assert.equal(c.http.publicUrl, 'http://127.0.0.1:3000')
    assert.equal(c.auth.issuer, 'http://127.0.0.1:3000')
    assert.equal(c.auth.audience, 'taskflow-api')
    assert.equal(c.auth.alg, 'EdDSA')
    assert.deepEqual([c.auth.accessTtl, c.auth.refreshTtl, c.auth.sessionMaxAge], [900, 2592000, 7776000])
    assert.equal(c.db.url, undefined)
    assert.equal(c.db.dataDir, './data')
    assert.equal(c.rateLimit.enabled, true)
    assert.equal(c.passwords.minLength, 8)
    assert.equal(c.passwords.requireCharacterClasses, false)
    assert.equal(c.http.trustProxy, false)
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.auth))
  })

  it('when values are given, then they are coerced and used', () => {
    const c = loadConfig({ PORT: '8080', PUBLIC_URL: 'https://api.example.com/', ACCESS_TOKEN_TTL: '600', TRUST_PROXY: '10.0.0.0/8, 127.0.0.1', CORS_ORIGINS: 'https://a.example, https://b.example', PASSWORD_REQUIRE_CHARACTER_CLASSES: 'true' })
    assert.equal(c.http.port, 8080)
    assert.equal(c.http.publicUrl, 'https://api.example.com')
    assert.equal(c.auth.issuer, 'https://api.example.com')
    assert.equal(c.auth.accessTtl, 600)
    assert.deepEqual(c.http.trustProxy, ['10.0.0.0/8', '127.0.0.1'])
    assert.deepEqual(c.cors.origins, ['https://a.example', 'https://b.example'])
    assert.equal(c.passwords.requireCharacterClasses, true)
  })

  it('when TRUST_PROXY is a hop count, then only that many proxies are trusted', () => {
    const trust = loadConfig({ TRUST_PROXY: '1' }).http.trustProxy
    assert.equal(typeof trust, 'function')
    if (typeof trust === 'function') {
      assert.equal(trust('10.0.0.1', 0), true)
      assert.equal(trust('10.0.0.1', 1), false)
    }
  })

  it('when a value is invalid, then a ConfigError names the variable', () => {
    for (const [env, name] of [[{ PORT: 'abc' }, 'PORT'], [{ JWT_ALG: 'RS256' }, 'JWT_ALG'], [{ ACCESS_TOKEN_TTL: '5' }, 'ACCESS_TOKEN_TTL'], [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'], [{ PASSWORD_MIN_LENGTH: '4' }, 'PASSWORD_MIN_LENGTH']] as const) {
      assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && err.message.includes(name), name)
    }
    assert.throws(() => loadConfig({ TRUST_PROXY: 'evil; rm -rf' }), ConfigError)
  })

  it('when HS256 is chosen without a secret of 32+ bytes, then it refuses to start', () => {
    assert.throws(() => loadConfig({ JWT_ALG: 'HS256' }), /JWT_SECRET/)
    assert.throws(() => loadConfig({ JWT_ALG: 'HS256', JWT_SECRET: 'short' }), /JWT_SECRET/)
    assert.equal(loadConfig({ JWT_ALG: 'HS256', JWT_SECRET: 'k'.repeat(32) }).auth.alg, 'HS256')
  })

  it('when the key, grace and retention settings are unset or given, then the API.md defaults apply or the values (0 allowed)', () => {
    const d = loadConfig({})
    assert.deepEqual([d.auth.refreshReuseGrace, d.auth.keyRotationDays, d.audit.retentionDays, d.auth.previousSecret], [10, 30, 365, undefined])
    const c = loadConfig({ REFRESH_REUSE_GRACE: '0', JWT_KEY_ROTATION_DAYS: '0', AUDIT_RETENTION_DAYS: '0', JWT_ALG: 'HS256', JWT_SECRET: 'k'.repeat(32), JWT_SECRET_PREVIOUS: 'p'.repeat(32) })
    assert.deepEqual([c.auth.refreshReuseGrace, c.auth.keyRotationDays, c.audit.retentionDays, c.auth.previousSecret], [0, 0, 0, 'p'.repeat(32)])
    assert.throws(() => loadConfig({ REFRESH_REUSE_GRACE: '-1' }), /REFRESH_REUSE_GRACE/)
    assert.throws(() => loadConfig({ JWT_ALG: 'HS256', JWT_SECRET: 'k'.repeat(32), JWT_SECRET_PREVIOUS: 'short' }), /JWT_SECRET_PREVIOUS/)
  })

  it('when NODE_ENV=production, then unsafe settings are refused', () => {
    assert.throws(() => loadConfig({ NODE_ENV: 'production', JWT_ALG: 'HS256', JWT_SECRET: 'a'.repeat(40) }), /weak/)
    assert.throws(() => loadConfig({ NODE_ENV: 'production', RATE_LIMIT_ENABLED: 'false' }), /RATE_LIMIT_ENABLED/)
    assert.throws(() => loadConfig({ NODE_ENV: 'production', CORS_ORIGINS: '*' }), /CORS_ORIGINS/)
    assert.throws(() => loadConfig({ NODE_ENV: 'production' }), /DATA_ENCRYPTION_KEY is required/)
    assert.equal(loadConfig({ NODE_ENV: 'production', DATA_ENCRYPTION_KEY: HEX_KEY }).production, true)
  })

  it('when DATA_ENCRYPTION_KEY is 32 bytes as hex, base64 or base64url, then it is decoded; otherwise refused', () => {
    const bytes = Buffer.from(HEX_KEY, 'hex')
    for (const text of [HEX_KEY, HEX_KEY.toUpperCase(), bytes.toString('base64'), bytes.toString('base64url'), ` ${bytes.toString('base64')} `]) {
      assert.deepEqual(loadConfig({ DATA_ENCRYPTION_KEY: text }).encryption.key, bytes, text)
    }
    assert.equal(loadConfig({}).encryption.key, undefined)
    for (const bad of [HEX_KEY.slice(2), `${HEX_KEY}00`, bytes.subarray(0, 31).toString('base64'), Buffer.alloc(33, 7).toString('base64'), 'correct horse battery staple', '0'.repeat(64)]) {
      assert.throws(() => loadConfig({ DATA_ENCRYPTION_KEY: bad }), ConfigError, bad)
    }
  })

  it('when MFA_ISSUER is set, then it is used; a colon is refused (it separates issuer and account in otpauth labels)', () => {
    assert.equal(loadConfig({}).mfa.issuer, 'TaskFlow')
    assert.equal(loadConfig({ MFA_ISSUER: 'Acme Tasks' }).mfa.issuer, 'Acme Tasks')
    assert.throws(() => loadConfig({ MFA_ISSUER: 'Acme:Tasks' }), ConfigError)
  })
})

const HEX_KEY = '8f1c2a9e4b7d3f60a5c8e1b2d4f6a8c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d0f1'

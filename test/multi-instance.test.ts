import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { sharedStorage } from './build-test-app.js'
import { parseKeyUri, referenceTotp } from './authenticator.js'
import { DEFAULT_PASSWORD, uniqueEmail } from './factories.js'
import { servicesRun, testEnv } from './test-env.js'

const root = new URL('..', import.meta.url).pathname

/** A separate `taskflow serve` process on its own port, sharing this run's PostgreSQL and Redis. */
async function instance (t: TestContext, env: Record<string, string>): Promise<string> {
  const port = 20000 + Math.floor(Math.random() * 20000)
  const child: ChildProcess = spawn(process.execPath, [join(root, 'bin/taskflow.js'), 'serve'], {
    cwd: root,
    stdio: 'ignore',
    env: { ...process.env, LOG_LEVEL: 'silent', ...env, PORT: String(port), PUBLIC_URL: 'http://taskflow.test' }
  })
  t.after(() => { child.kill('SIGTERM') })
  const base = `http://127.0.0.1:${port}`
  // Up to 60 s: on a loaded 2-core machine a fresh process needs far longer than on a quiet one.
  for (let i = 0; i < 600; i++) {
    if (await fetch(`${base}/readyz`).then(r => r.ok, () => false)) return base
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error('instance did not start')
}

const post = (base: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

describe('two instances sharing PostgreSQL and Redis', { skip: !servicesRun && 'needs DATABASE_URL and REDIS_URL (the services run)' }, () => {
  it('when one instance issues, revokes or limits, then the other agrees on the very next request', async (t) => {
    const { databaseUrl } = await sharedStorage()
    const env = { DATABASE_URL: databaseUrl ?? '', REDIS_URL: testEnv.redisUrl ?? '', REDIS_KEY_PREFIX: `${testEnv.redisPrefix}multi:` }
    const [a, b] = await Promise.all([instance(t, env), instance(t, env)])

    const jwksA = await (await fetch(`${a}/.well-known/jwks.json`)).json()
    const jwksB = await (await fetch(`${b}/.well-known/jwks.json`)).json()
    assert.deepEqual(jwksA, jwksB)
    assert.equal((jwksA as { keys: unknown[] }).keys.length, 1)

    const email = uniqueEmail('multi')
    const reg = await post(a, '/v1/auth/register', { email, password: DEFAULT_PASSWORD })
    assert.equal(reg.status, 201)
    const { access_token: token } = await reg.json() as { access_token: string }
    const bearer = { authorization: `Bearer ${token}` }
    assert.equal((await fetch(`${b}/v1/users/me`, { headers: bearer })).status, 200, 'a token from A works on B')
    assert.equal((await fetch(`${a}/v1/auth/logout`, { method: 'POST', headers: bearer })).status, 204)
    assert.equal((await fetch(`${b}/v1/users/me`, { headers: bearer })).status, 401, 'logout on A is enforced on B')

    // an admin on B deactivates a user who is signed in on A
    const adminEmail = uniqueEmail('multi-admin')
    const cli = spawn(process.execPath, [join(root, 'bin/taskflow.js'), 'create-admin', '--email', adminEmail, '--password', DEFAULT_PASSWORD], { cwd: root, env: { ...process.env, ...env, LOG_LEVEL: 'silent' } })
    assert.equal(await new Promise(resolve => cli.on('exit', resolve)), 0)
    const admin = await (await post(b, '/v1/auth/login', { email: adminEmail, password: DEFAULT_PASSWORD })).json() as { access_token: string }
    const victim = await (await post(a, '/v1/auth/login', { email, password: DEFAULT_PASSWORD })).json() as { access_token: string, user: { id: string } }
    assert.equal((await fetch(`${a}/v1/users/me`, { headers: { authorization: `Bearer ${victim.access_token}` } })).status, 200)
    const off = await fetch(`${b}/v1/admin/users/${victim.user.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.access_token}` }, body: JSON.stringify({ is_active: false }) })
    assert.equal(off.status, 200)
    assert.equal((await fetch(`${a}/v1/users/me`, { headers: { authorization: `Bearer ${victim.access_token}` } })).status, 401, 'deactivation on B stops the user on A')
  })

  it('when a personal access token is made on one process, then the other accepts it; revoked there, the first refuses it, also after the Redis keys are gone', async (t) => {
    const { databaseUrl } = await sharedStorage()
    const prefix = `${testEnv.redisPrefix}multi-pat:`
    const env = { DATABASE_URL: databaseUrl ?? '', REDIS_URL: testEnv.redisUrl ?? '', REDIS_KEY_PREFIX: prefix }
    const [a, b] = await Promise.all([instance(t, env), instance(t, env)])
    const email = uniqueEmail('multi-pat')
    const { access_token: token } = await (await post(a, '/v1/auth/register', { email, password: DEFAULT_PASSWORD })).json() as { access_token: string }
    const created = await post(a, '/v1/users/me/tokens', { name: 'ci', scopes: ['profile:read'], current_password: DEFAULT_PASSWORD }, { authorization: `Bearer ${token}` })
    assert.equal(created.status, 201)
    const pat = await created.json() as { id: string, token: string }
    const me = (base: string) => fetch(`${base}/v1/users/me`, { headers: { authorization: `Bearer ${pat.token}` } }).then(r => r.status)
    assert.equal(await me(b), 200, 'made on A, used on B')
    assert.equal(await me(a), 200)
    const revoked = await fetch(`${b}/v1/users/me/tokens/${pat.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })
    assert.equal(revoked.status, 204)
    assert.equal(await me(a), 401, 'revoked on B, refused on A')
    // As a Redis FLUSHALL would, but only this test's keys.
    const { redis } = await sharedStorage()
    assert.ok(redis)
    const keys = await redis.keys(`${prefix}*`)
    assert.ok(keys.length > 0)
    await redis.del(...keys.map(k => k.slice(testEnv.redisPrefix.length)))
    assert.equal(await me(a), 401, 'the flushed cache does not revive it on A')
    assert.equal(await me(b), 401, 'nor on B')
  })

  it('when logins alternate between the instances, then the per-IP limit counts across both', async (t) => {
    const { databaseUrl } = await sharedStorage()
    const env = { DATABASE_URL: databaseUrl ?? '', REDIS_URL: testEnv.redisUrl ?? '', REDIS_KEY_PREFIX: `${testEnv.redisPrefix}multi-rl:` }
    const [a, b] = await Promise.all([instance(t, env), instance(t, env)])
    const codes = []
    for (let i = 0; i < 6; i++) codes.push((await post(i % 2 ? b : a, '/v1/auth/login', { email: uniqueEmail(), password: 'wrong password here' })).status)
    assert.deepEqual(codes, [401, 401, 401, 401, 401, 429])
  })

  it('when MFA is set up on one instance (no DATA_ENCRYPTION_KEY: both use the key generated in the database), then the other reads the secret, and a code used on one is refused on the other', async (t) => {
    const { databaseUrl } = await sharedStorage()
    const env = { DATABASE_URL: databaseUrl ?? '', REDIS_URL: testEnv.redisUrl ?? '', REDIS_KEY_PREFIX: `${testEnv.redisPrefix}multi-mfa:`, DATA_ENCRYPTION_KEY: '' }
    const [a, b] = await Promise.all([instance(t, env), instance(t, env)])
    const email = uniqueEmail('multi-mfa')
    const { access_token: token } = await (await post(a, '/v1/auth/register', { email, password: DEFAULT_PASSWORD })).json() as { access_token: string }
    const bearer = { authorization: `Bearer ${token}` }
    const setup = await post(a, '/v1/users/me/mfa/totp', { current_password: DEFAULT_PASSWORD }, bearer)
    const { key } = parseKeyUri((await setup.json() as { otpauth_uri: string }).otpauth_uri)
    // Real clock: stay clear of a step boundary, activate (on B) with the previous step's code, log in with the current one.
    if (Date.now() / 1000 % 30 > 26) await new Promise(resolve => setTimeout(resolve, 4500))
    const now = Date.now()
    assert.equal((await post(b, '/v1/users/me/mfa/totp/activate', { code: referenceTotp(key, new Date(now - 30_000)) }, bearer)).status, 200, 'B decrypts the secret A stored')
    const code = referenceTotp(key, new Date(now))
    const challengeOnA = await (await post(a, '/v1/auth/login', { email, password: DEFAULT_PASSWORD })).json() as { mfa_token: string }
    assert.equal((await post(b, '/v1/auth/mfa/verify', { mfa_token: challengeOnA.mfa_token, code })).status, 200)
    const challengeOnB = await (await post(b, '/v1/auth/login', { email, password: DEFAULT_PASSWORD })).json() as { mfa_token: string }
    const replay = await post(a, '/v1/auth/mfa/verify', { mfa_token: challengeOnB.mfa_token, code })
    assert.equal(replay.status, 401)
    assert.equal((await replay.json() as { code: string }).code, 'mfa_code_invalid')
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ResourceOwnerPassword } from 'simple-oauth2'
import { loadConfig } from '../../src/config.js'
import { startServer } from '../../src/server.js'
import { sharedStorage } from '../build-test-app.js'
import { DEFAULT_PASSWORD, uniqueEmail } from '../factories.js'
import { storageLabel, testEnv } from '../test-env.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'

describe(`a standard OAuth2 client (simple-oauth2) [${storageLabel}]`, () => {
  it('when it uses the password grant, then it gets a token, calls the API, refreshes, and the old refresh token is refused', async (t) => {
    const { databaseUrl } = await sharedStorage()
    const dir = mkdtempSync(join(process.env.TEST_DATA_ROOT ?? tmpdir(), 'oauth-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    const env = databaseUrl ? { DATABASE_URL: databaseUrl, REDIS_URL: testEnv.redisUrl ?? '', REDIS_KEY_PREFIX: `${testEnv.redisPrefix}oauth:` } : { DATA_DIR: dir }
    const server = await startServer(loadConfig({ ...env, PORT: '0', LOG_LEVEL: 'silent', RATE_LIMIT_ENABLED: 'false' }))
    t.after(() => server.close())
    const address = server.app.server.address()
    assert.ok(address && typeof address === 'object')
    const base = `http://127.0.0.1:${address.port}`
    const email = uniqueEmail('oauth')
    assert.equal((await fetch(`${base}/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: DEFAULT_PASSWORD }) })).status, 201)

    const client = new ResourceOwnerPassword({
      client: { id: 'taskflow-cli', secret: '' },
      auth: { tokenHost: base, tokenPath: '/v1/auth/token' },
      options: { authorizationMethod: 'body' }
    })
    const accessToken = await client.getToken({ username: email, password: DEFAULT_PASSWORD })
    assert.equal(accessToken.token.token_type, 'Bearer')
    assert.equal(accessToken.token.expires_in, 900)
    const me = await fetch(`${base}/v1/users/me`, { headers: { authorization: `Bearer ${String(accessToken.token.access_token)}` } })
    assert.equal(me.status, 200)
    assert.equal((await me.json() as { email: string }).email, email)

    const refreshed = await accessToken.refresh()
    assert.notEqual(refreshed.token.refresh_token, accessToken.token.refresh_token)
    await assert.rejects(accessToken.refresh(), (err: { output?: { statusCode?: number, payload?: { error?: string } }, data?: { payload?: { error?: string } } }) => {
      const payload = err.data?.payload ?? err.output?.payload
      return err.output?.statusCode === 400 && payload?.error === 'invalid_grant'
    })
  })
})

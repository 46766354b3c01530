import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ResourceOwnerPassword } from 'simple-oauth2'
import { DEFAULT_PASSWORD, uniqueEmail } from '../factories.js'
import { startRealServer } from '../real-server.js'
import { storageLabel } from '../test-env.js'

describe(`a standard OAuth2 client (simple-oauth2) [${storageLabel}]`, () => {
  it('when it uses the password grant, then it gets a token, calls the API, refreshes, and a refresh token two rotations old is refused', async (t) => {
    const { base } = await startRealServer(t, { RATE_LIMIT_ENABLED: 'false' })
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
    // Within REFRESH_REUSE_GRACE the just-replaced token would be answered again (two tabs); a token
    // two rotations back is reuse at once.
    const again = await refreshed.refresh()
    assert.notEqual(again.token.refresh_token, refreshed.token.refresh_token)
    await assert.rejects(accessToken.refresh(), (err: { output?: { statusCode?: number, payload?: { error?: string } }, data?: { payload?: { error?: string } } }) => {
      const payload = err.data?.payload ?? err.output?.payload
      return err.output?.statusCode === 400 && payload?.error === 'invalid_grant'
    })
  })
})

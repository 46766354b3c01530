import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ConfigError, loadConfig } from './config.js'

describe('OAUTH_* configuration', () => {
  it('when nothing is set, then no provider is offered and no redirect URI is allowed', () => {
    const config = loadConfig({})
    assert.equal(config.oauth.google, undefined)
    assert.equal(config.oauth.github, undefined)
    assert.deepEqual(config.oauth.redirectUris, [])
  })

  it('when a provider has its id and secret, then it is offered with the default endpoints; redirect URIs are kept exactly', () => {
    const config = loadConfig({
      OAUTH_GOOGLE_CLIENT_ID: 'g',
      OAUTH_GOOGLE_CLIENT_SECRET: 's',
      OAUTH_GITHUB_CLIENT_ID: 'h',
      OAUTH_GITHUB_CLIENT_SECRET: 't',
      OAUTH_REDIRECT_URIS: 'https://app.example/cb, myapp://callback/'
    })
    assert.equal(config.oauth.google?.issuer, 'https://accounts.google.com')
    assert.deepEqual([config.oauth.github?.url, config.oauth.github?.apiUrl], ['https://github.com', 'https://api.github.com'])
    assert.deepEqual(config.oauth.redirectUris, ['https://app.example/cb', 'myapp://callback/'])
  })

  it('when a provider URL uses http:// on a non-loopback host, or half a client pair is set, then the configuration is refused', () => {
    const pair = { OAUTH_GOOGLE_CLIENT_ID: 'g', OAUTH_GOOGLE_CLIENT_SECRET: 's' }
    assert.throws(() => loadConfig({ ...pair, OAUTH_GOOGLE_ISSUER: 'http://accounts.example.com' }), ConfigError)
    assert.throws(() => loadConfig({ OAUTH_GITHUB_CLIENT_ID: 'h', OAUTH_GITHUB_CLIENT_SECRET: 't', OAUTH_GITHUB_API_URL: 'http://10.0.0.1:8080' }), ConfigError)
    assert.throws(() => loadConfig({ OAUTH_GOOGLE_CLIENT_ID: 'g' }), ConfigError)
    assert.throws(() => loadConfig({ OAUTH_REDIRECT_URIS: 'not a url' }), ConfigError)
    assert.throws(() => loadConfig({ OAUTH_REDIRECT_URIS: 'https://app.example/cb#frag' }), ConfigError)
    for (const host of ['127.0.0.1:9000', '[::1]:9000', 'localhost:9000']) {
      assert.equal(loadConfig({ ...pair, OAUTH_GOOGLE_ISSUER: `http://${host}` }).oauth.google?.issuer, `http://${host}`)
    }
  })
})

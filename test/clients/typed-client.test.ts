import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { demo } from '../../examples/client.js'
import { clientTypes } from '../../scripts/print-openapi.js'
import { loadConfig } from '../../src/config.js'
import { startServer } from '../../src/server.js'
import { sharedStorage } from '../build-test-app.js'
import { uniqueEmail } from '../factories.js'
import { storageLabel, testEnv } from '../test-env.js'

describe(`the typed client (openapi-typescript + openapi-fetch) [${storageLabel}]`, () => {
  it('when the API contract is generated again, then it matches the committed client types (run `npm run client:types` after a change)', async () => {
    const committed = readFileSync(new URL('../../examples/taskflow-api.d.ts', import.meta.url), 'utf8')
    assert.equal(await clientTypes(), committed)
  })

  it('when examples/client.ts runs against a server, then it registers, logs in, creates and reads a task', async (t) => {
    const { databaseUrl } = await sharedStorage()
    const dir = mkdtempSync(join(process.env.TEST_DATA_ROOT ?? tmpdir(), 'typed-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    const env = databaseUrl ? { DATABASE_URL: databaseUrl, REDIS_URL: testEnv.redisUrl ?? '', REDIS_KEY_PREFIX: `${testEnv.redisPrefix}typed:` } : { DATA_DIR: dir }
    const server = await startServer(loadConfig({ ...env, PORT: '0', LOG_LEVEL: 'silent', RATE_LIMIT_ENABLED: 'false' }))
    t.after(() => server.close())
    const address = server.app.server.address()
    assert.ok(address && typeof address === 'object')
    const email = uniqueEmail('typed')
    const result = await demo(`http://127.0.0.1:${address.port}`, email, 'typed client passphrase 8')
    assert.equal(result.user?.email, email)
    assert.equal(result.task.title, 'Try the typed client')
    assert.equal(result.task.owner_id, result.user?.id)
    assert.equal(result.etag, '"1"')
  })
})

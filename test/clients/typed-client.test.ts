import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { demo } from '../../examples/client.js'
import { clientTypes } from '../../scripts/print-openapi.js'
import { uniqueEmail } from '../factories.js'
import { startRealServer } from '../real-server.js'
import { storageLabel } from '../test-env.js'

describe(`the typed client (openapi-typescript + openapi-fetch) [${storageLabel}]`, () => {
  it('when the API contract is generated again, then it matches the committed client types (run `npm run client:types` after a change)', async () => {
    const committed = readFileSync(new URL('../../examples/taskflow-api.d.ts', import.meta.url), 'utf8')
    assert.equal(await clientTypes(), committed)
  })

  it('when examples/client.ts runs against a server, then it registers, logs in, creates and reads a task', async (t) => {
    const { base } = await startRealServer(t, { RATE_LIMIT_ENABLED: 'false' })
    const email = uniqueEmail('typed')
    const result = await demo(base, email, 'typed client passphrase 8')
    assert.equal(result.user?.email, email)
    assert.equal(result.task.title, 'Try the typed client')
    assert.equal(result.task.owner_id, result.user?.id)
    assert.equal(result.etag, '"1"')
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { storageEnv } from './real-server.js'
import { runCli } from './run-cli.js'
import { storageLabel } from './test-env.js'

describe(`taskflow keys [${storageLabel}]`, () => {
  it('when a key is rotated and revoked from the command line, then keys list shows kid and state (the unit test covers misuse)', async (t) => {
    const env = await storageEnv(t)
    const rotated = await runCli(['keys', 'rotate'], env)
    assert.equal(rotated.code, 0, rotated.stderr)
    const kid = /published (\S+);/.exec(rotated.stdout)?.[1] ?? ''
    const revoked = await runCli(['keys', 'revoke', kid], env)
    assert.equal(revoked.code, 0, revoked.stderr)
    assert.match(revoked.stdout, new RegExp(`revoked ${kid}`))
    const listed = await runCli(['keys', 'list'], env)
    assert.equal(listed.code, 0, listed.stderr)
    assert.match(listed.stdout, /^KID\s+STATE\s+CREATED\s+SIGNING SINCE/)
    assert.match(listed.stdout, new RegExp(`${kid}\\s+revoked`))
    assert.match(listed.stdout, /\ssigning\s/)
  })
})

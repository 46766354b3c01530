// regression: #9 §1 — REDIS_URL pointing at nothing exited with only "taskflow: Connection is closed."
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { freePort, storageEnv } from './real-server.js'
import { runCli } from './run-cli.js'
import { storageLabel } from './test-env.js'

const root = new URL('..', import.meta.url).pathname

describe(`start-up failures [${storageLabel}]`, () => {
  it('when REDIS_URL points at nothing, then serve says Redis at that address (password masked) cannot be reached and exits non-zero', async (t) => {
    const port = await freePort()
    const env = { ...await storageEnv(t), REDIS_URL: `redis://app:s3cret-pw@127.0.0.1:${port}/0`, PORT: String(await freePort()), LOG_LEVEL: 'silent' }
    const child = spawn(process.execPath, [join(root, 'bin/taskflow.js'), 'serve'], { cwd: root, env: { ...process.env, DATABASE_URL: '', ...env } })
    t.after(() => child.kill('SIGKILL'))
    let stderr = ''
    child.stderr.on('data', (d) => { stderr += String(d) })
    const code = await new Promise<number | null>(resolve => child.on('exit', resolve))
    assert.notEqual(code, 0)
    assert.match(stderr, new RegExp(`Redis at redis://app:\\*\\*\\*\\*@127\\.0\\.0\\.1:${port}/0 cannot be reached`))
    assert.match(stderr, /ECONNREFUSED/)
    assert.doesNotMatch(stderr, /s3cret-pw/)
  })

  it('when the signing keys were sealed (by taskflow keys) under another DATA_ENCRYPTION_KEY, then serve names the key it cannot decrypt and exits non-zero', async (t) => {
    const storage = await storageEnv(t)
    const written = randomBytes(32).toString('hex')
    const configured = randomBytes(32).toString('hex')
    const rotated = await runCli(['keys', 'rotate'], { ...storage, DATA_ENCRYPTION_KEY: written })
    assert.equal(rotated.code, 0, rotated.stderr)
    const env = { ...storage, DATA_ENCRYPTION_KEY: configured, PORT: String(await freePort()), LOG_LEVEL: 'silent' }
    const child = spawn(process.execPath, [join(root, 'bin/taskflow.js'), 'serve'], { cwd: root, env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', ...env } })
    t.after(() => child.kill('SIGKILL'))
    let stderr = ''
    child.stderr.on('data', (d) => { stderr += String(d) })
    const code = await new Promise<number | null>(resolve => child.on('exit', resolve))
    assert.notEqual(code, 0)
    assert.match(stderr, /signing key \S+ cannot be decrypted with DATA_ENCRYPTION_KEY/)
    assert.match(stderr, /taskflow keys revoke/)
    assert.ok(!stderr.includes(written) && !stderr.includes(configured), 'no data key in the message')
  })
})

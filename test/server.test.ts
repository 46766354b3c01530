import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { connect } from 'node:net'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { eq } from 'drizzle-orm'
import { loadConfig } from '../src/config.js'
import { createDb } from '../src/core/db.js'
import { auditEventsTable } from '../src/modules/audit/audit.table.js'
import { startServer } from '../src/server.js'
import { DEFAULT_PASSWORD, uniqueEmail } from './factories.js'
import { storageEnv } from './real-server.js'
import { servicesRun, storageLabel } from './test-env.js'

const root = new URL('..', import.meta.url).pathname

function runCli (args: string[], env: Record<string, string>): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin/taskflow.js'), ...args], { cwd: root, env: { ...process.env, LOG_LEVEL: 'silent', DATABASE_URL: '', REDIS_URL: '', ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += String(d) })
    child.stderr.on('data', (d) => { stderr += String(d) })
    child.on('exit', code => resolve({ code, stdout, stderr }))
  })
}

async function post (base: string, path: string, body: unknown) {
  return fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

describe(`a real listening server [${storageLabel}]`, () => {
  it('when a client walks register → login → me → refresh → logout over TCP, then each step answers as documented', async (t) => {
    const env = await storageEnv(t)
    const server = await startServer(loadConfig({ ...env, PORT: '0', LOG_LEVEL: 'silent' }))
    t.after(() => server.close())
    const address = server.app.server.address()
    assert.ok(address && typeof address === 'object')
    const base = `http://127.0.0.1:${address.port}`

    const email = uniqueEmail('walk')
    assert.equal((await post(base, '/v1/auth/register', { email, password: DEFAULT_PASSWORD })).status, 201)
    const login = await post(base, '/v1/auth/login', { email, password: DEFAULT_PASSWORD })
    assert.equal(login.status, 200)
    const tokens = await login.json() as { access_token: string, refresh_token: string }
    const me = await fetch(`${base}/v1/users/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
    assert.equal(me.status, 200)
    assert.equal((await me.json() as { email: string }).email, email)
    const refreshed = await post(base, '/v1/auth/refresh', { refresh_token: tokens.refresh_token })
    assert.equal(refreshed.status, 200)
    const pair = await refreshed.json() as { access_token: string }
    const logout = await fetch(`${base}/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${pair.access_token}` } })
    assert.equal(logout.status, 204)
    assert.equal((await fetch(`${base}/v1/users/me`, { headers: { authorization: `Bearer ${pair.access_token}` } })).status, 401)
  })

  it('when a request has both Transfer-Encoding and Content-Length, then 400 (no request smuggling)', async (t) => {
    const server = await startServer(loadConfig({ ...await storageEnv(t), PORT: '0', LOG_LEVEL: 'silent' }))
    t.after(() => server.close())
    const address = server.app.server.address()
    assert.ok(address && typeof address === 'object')
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(address.port, '127.0.0.1', () => {
        socket.write('POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
      })
      let data = ''
      socket.on('data', (d) => { data += String(d); socket.end() })
      socket.on('end', () => resolve(data))
      socket.on('error', reject)
    })
    assert.match(raw, /^HTTP\/1\.1 400/)
  })

  it('when closing with requests in flight, then they complete before the server stops', async (t) => {
    const server = await startServer(loadConfig({ ...await storageEnv(t), PORT: '0', LOG_LEVEL: 'silent' }))
    const address = server.app.server.address()
    assert.ok(address && typeof address === 'object')
    const base = `http://127.0.0.1:${address.port}`
    const email = uniqueEmail('drain')
    assert.equal((await post(base, '/v1/auth/register', { email, password: DEFAULT_PASSWORD })).status, 201)
    // Logins are hash-bound (tens of ms each, two at a time): several are still running when close starts.
    let arrived = 0
    const allArrived = new Promise<void>(resolve => server.app.server.on('request', () => { if (++arrived === 4) resolve() }))
    const inflight = Array.from({ length: 4 }, () => post(base, '/v1/auth/login', { email, password: DEFAULT_PASSWORD }).then(r => r.status))
    await allArrived
    const started = Date.now()
    await server.close()
    assert.ok(Date.now() - started < 10_000, 'close does not wait for idle keep-alive connections')
    assert.deepEqual(await Promise.all(inflight), [200, 200, 200, 200])
  })

  it('when a client hangs up mid-login and the server closes, then the login still completes before its dependencies close', async (t) => {
    const env = await storageEnv(t)
    const server = await startServer(loadConfig({ ...env, PORT: '0', LOG_LEVEL: 'silent' }))
    const address = server.app.server.address()
    assert.ok(address && typeof address === 'object')
    const base = `http://127.0.0.1:${address.port}`
    const email = uniqueEmail('hangup')
    const registered = await post(base, '/v1/auth/register', { email, password: DEFAULT_PASSWORD })
    const { user } = await registered.json() as { user: { id: string } }
    // Four logins: two hash while two wait for a hashing slot; then every client hangs up.
    let count = 0
    const arrived = new Promise<void>(resolve => server.app.server.on('request', () => { if (++count === 4) resolve() }))
    const body = JSON.stringify({ email, password: DEFAULT_PASSWORD })
    const sockets = Array.from({ length: 4 }, () => {
      const socket = connect(address.port, '127.0.0.1', () => {
        socket.write(`POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
      })
      socket.on('error', () => {})
      return socket
    })
    await arrived
    await new Promise(resolve => setTimeout(resolve, 5)) // the bodies are parsed and the handlers have started
    for (const socket of sockets) socket.destroy() // their connections are gone, so the server's own drain would not wait
    await server.close()
    const database = await createDb({ url: env.DATABASE_URL, dataDir: env.DATA_DIR })
    t.after(() => database.close())
    const events = await database.db.select({ type: auditEventsTable.type }).from(auditEventsTable).where(eq(auditEventsTable.user_id, user.id))
    assert.equal(events.filter(e => e.type === 'login.success').length, 4, 'each login ran to its end (hash, session, audit) before the database closed')
  })
})

describe(`the taskflow command [${storageLabel}]`, () => {
  it('when create-admin gets a valid email and password, then it creates an admin who can log in; again, it promotes', async (t) => {
    const env = await storageEnv(t)
    const email = uniqueEmail('admin')
    const created = await runCli(['create-admin', '--email', email, '--password', DEFAULT_PASSWORD, '--username', `adm_${Date.now()}`], env)
    assert.equal(created.code, 0, created.stderr)
    assert.match(created.stdout, /created admin/)
    const again = await runCli(['create-admin', '--email', email, '--password', DEFAULT_PASSWORD], env)
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /promoted/)

    const server = await startServer(loadConfig({ ...env, PORT: '0', LOG_LEVEL: 'silent' }))
    t.after(() => server.close())
    const address = server.app.server.address()
    assert.ok(address && typeof address === 'object')
    const login = await post(`http://127.0.0.1:${address.port}`, '/v1/auth/login', { email, password: DEFAULT_PASSWORD })
    assert.equal(login.status, 200)
    assert.equal((await login.json() as { user: { role: string } }).user.role, 'admin')
  })

  it('when create-admin gets a weak password, a bad email or no arguments, then it says so and exits non-zero', async (t) => {
    const env = await storageEnv(t)
    const weak = await runCli(['create-admin', '--email', uniqueEmail(), '--password', 'password1'], env)
    assert.notEqual(weak.code, 0)
    assert.match(weak.stderr, /weak password/)
    const badEmail = await runCli(['create-admin', '--email', 'not-an-email', '--password', DEFAULT_PASSWORD], env)
    assert.notEqual(badEmail.code, 0)
    assert.match(badEmail.stderr, /not a valid email/)
    const missing = await runCli(['create-admin'], env)
    assert.notEqual(missing.code, 0)
    assert.match(missing.stderr, /--email and --password/)
  })

  it('when a configuration value is invalid, then the command names it and exits non-zero', async (t) => {
    const res = await runCli(['migrate'], { ...await storageEnv(t), JWT_ALG: 'HS256' })
    assert.notEqual(res.code, 0)
    assert.match(res.stderr, /JWT_SECRET/)
  })

  if (!servicesRun) {
    it('when a server holds DATA_DIR, then create-admin says so and exits non-zero', async (t) => {
      const env = await storageEnv(t)
      const server = await startServer(loadConfig({ ...env, PORT: '0', LOG_LEVEL: 'silent' }))
      t.after(() => server.close())
      const res = await runCli(['create-admin', '--email', uniqueEmail(), '--password', DEFAULT_PASSWORD], env)
      assert.notEqual(res.code, 0)
      assert.match(res.stderr, /in use by another TaskFlow process/)
    })

    it('when serve --workers 2 runs on the embedded database, then it refuses', async (t) => {
      const res = await runCli(['serve', '--workers', '2'], await storageEnv(t))
      assert.equal(res.code, 2)
      assert.match(res.stderr, /needs DATABASE_URL and REDIS_URL/)
    })
  }

  if (servicesRun) {
    it('when `serve --workers 2` runs on PostgreSQL + Redis, then two workers share the port, a killed one is replaced and SIGTERM stops all', async (t) => {
      const env = await storageEnv(t)
      const port = 20000 + Math.floor(Math.random() * 20000)
      const primary = spawn(process.execPath, [join(root, 'bin/taskflow.js'), 'serve', '--workers', '2'], { cwd: root, env: { ...process.env, LOG_LEVEL: 'silent', ...env, PORT: String(port) } })
      t.after(() => primary.kill('SIGKILL'))
      const exited = new Promise<number | null>(resolve => primary.on('exit', code => resolve(code)))
      const workers = () => execFileSync('ps', ['--ppid', String(primary.pid), '-o', 'pid='], { encoding: 'utf8' }).split('\n').map(s => s.trim()).filter(Boolean)
      const ready = async () => {
        for (let i = 0; i < 240; i++) {
          if (await fetch(`http://127.0.0.1:${port}/readyz`).then(r => r.ok, () => false)) return true
          await new Promise(resolve => setTimeout(resolve, 250))
        }
        return false
      }
      assert.ok(await ready())
      const before = workers()
      assert.equal(before.length, 2)
      process.kill(Number(before[0]), 'SIGKILL')
      let after: string[] = []
      for (let i = 0; i < 40; i++) {
        await new Promise(resolve => setTimeout(resolve, 250))
        after = workers()
        if (after.length === 2 && !after.includes(before[0] ?? '')) break
      }
      assert.equal(after.length, 2, 'a replacement worker was started')
      assert.ok(!after.includes(before[0] ?? ''))
      assert.ok(await ready())
      primary.kill('SIGTERM')
      assert.equal(await exited, 0)
    })
  }

  /** The production build (npm run build), compiled into a folder of this process beside src/, so paths to drizzle/ hold. */
  function productionBuild (t: TestContext): string {
    const outDir = join(root, `.test-build-${process.pid}`)
    t.after(() => rmSync(outDir, { recursive: true, force: true }))
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], { cwd: root })
    return join(outDir, 'cli.js')
  }

  for (const entry of ['bin/taskflow.js (TypeScript through tsx)', 'the production build (dist/cli.js)']) {
    it(`when \`serve\` from ${entry} runs and gets SIGTERM, then it serves a login and /readyz, and exits 0`, async (t) => {
      const env = await storageEnv(t)
      const script = entry.startsWith('bin') ? join(root, 'bin/taskflow.js') : productionBuild(t)
      const port = 20000 + Math.floor(Math.random() * 20000)
      const child = spawn(process.execPath, [script, 'serve'], { cwd: root, env: { ...process.env, LOG_LEVEL: 'silent', DATABASE_URL: '', REDIS_URL: '', ...env, PORT: String(port) } })
      t.after(() => child.kill('SIGKILL'))
      const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
      let ready = 0
      for (let i = 0; i < 120 && ready !== 200; i++) {
        await new Promise(resolve => setTimeout(resolve, 250))
        ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(r => r.status, () => 0)
      }
      assert.equal(ready, 200)
      const email = uniqueEmail('entry')
      const base = `http://127.0.0.1:${port}`
      assert.equal((await post(base, '/v1/auth/register', { email, password: DEFAULT_PASSWORD })).status, 201)
      assert.equal((await post(base, '/v1/auth/login', { email, password: DEFAULT_PASSWORD })).status, 200, 'the password workers load')
      child.kill('SIGTERM')
      assert.equal(await exited, 0)
    })
  }
})

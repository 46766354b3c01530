// `npm run bench`: starts TaskFlow itself (embedded; and again on PostgreSQL + Redis when DATABASE_URL
// and REDIS_URL are set, in a database and key prefix of its own), creates fixtures through the API,
// drives it with wrk (Debian's `wrk`: cheap next to a JavaScript load generator) and prints one table
// and one block of the issue's targets per path. Rate limits are off. Every run is bounded: each wrk
// scenario lasts BENCH_SECONDS (default 5). The scenarios whose inputs are single-use (MFA verify,
// the authorization_code exchange) send BENCH_REQUESTS (default 1,000) prepared requests instead,
// after a fifth as many unmeasured ones, from a small Node load generator.
// The server runs as in production: the compiled build (npm run build), `node dist/cli.js serve`; the
// reference app (scripts/bench-reference.ts) runs compiled too, with the same flags.
// On PostgreSQL it also seeds 1,000,000 tasks (BENCH_SCALE_TASKS) for one user and measures the listings.
// The "CPU µs/req" columns say where a row's cost goes: CPU time (user + system, from /proc; not wall
// time, not latency) spent during the row's measured window, divided by the requests the row completed,
// for each party: the process under test (the server, or the reference app for R0, R1 and R3, all its
// threads), PostgreSQL (every `postgres` process) and Redis (every `redis-server` process; both only
// on the PostgreSQL + Redis path: embedded, PGlite runs inside the server, so `—`), and the load
// generator (wrk processes that exited in the window, plus the bench process itself, which is the
// Node load generator of S10 and S11 and next to idle under wrk). PostgreSQL and Redis are counted
// machine-wide: anything else using them in the window counts too. S6's window holds its logins as
// well as its reads, so its figures are the whole window's CPU per read. `?` means /proc was unreadable.
// R2p, next to R2, is the hashing ceiling as measured: `cores` streams of argon2id hashes at once.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { Agent, request } from 'node:http'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { hash } from '@node-rs/argon2'
import { HOTP, Secret } from 'otpauth'
import pg from 'pg'
import { Redis } from 'ioredis'
import ts from 'typescript'
import { ARGON2_PARAMS } from '../src/modules/auth/passwords.js'
import { pkcePair, startFakeGitHub } from '../test/oauth-providers.js'
import { LISTING_CASES, seedTasksSql } from './seed-tasks.js'

const root = new URL('..', import.meta.url).pathname
const seconds = Number(process.env.BENCH_SECONDS ?? 5)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16)
const scaleTasks = Number(process.env.BENCH_SCALE_TASKS ?? 1_000_000)
/** Measured requests of each finite scenario (S10, S11); a fifth as many go first, unmeasured, as warm-up. */
const finiteRequests = Number(process.env.BENCH_REQUESTS ?? 1000)
const finiteWarmup = Math.ceil(finiteRequests / 5)
/** Seconds a finite scenario may spend preparing its inputs; fewer requests are measured when it runs out. */
const prepareSeconds = Number(process.env.BENCH_PREPARE_SECONDS ?? 40)
const chains = 16
const cores = availableParallelism()
/** BENCH_ONLY=S2,S2p runs only those scenarios (S9 names all of S9.0–S9.8) and their reference rows (the fixtures are made anyway): to check a scenario on a busy machine. */
const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : undefined
const wanted = (...ids: string[]) => !only || ids.some(id => only.has(id) || only.has(id.split('.')[0] ?? id))
const work = mkdtempSync(join(tmpdir(), 'taskflow-bench-'))
/** The reference app, compiled beside the build (so that its `../src/…` imports become `./…`); removed at the end. */
const referenceJs = join(root, 'dist', 'bench-reference.js')
/** Where the social sign-in flows of S11 end (the app's page; never called: the code is read from the redirect). */
const APP_REDIRECT = 'http://127.0.0.1:9/bench-app/callback'
const GITHUB_CLIENT = { id: 'bench-github-client', secret: randomBytes(16).toString('hex') }

/** A load generator's answer: requests/s, p50 and p99 latency (ms), non-2xx and failed requests, and requests completed. */
interface Result { rps: number, p50: number, p99: number, non2xx: number, requests: number }
/**
 * CPU time (user + system) in µs spent during a row's measured window, per party (see the header).
 * NaN: /proc could not be read. null: not applicable (no PostgreSQL or Redis process on the embedded path).
 */
interface CpuUs { server: number, postgres: number | null, redis: number | null, load: number }
interface Row extends Result { id: string, what: string, rssMb: number | null, cpuUs: CpuUs, note?: string }
/** The process a row measures (the server or the reference app), and whether PostgreSQL and Redis serve it. */
interface Target { pid: number, services: boolean }

if (spawnSync('wrk', ['--version']).error) {
  console.error('npm run bench needs wrk (Debian: apt-get install wrk)')
  process.exit(1)
}

function lua (name: string, text: string): string {
  const file = join(work, `${name}.lua`)
  writeFileSync(file, text)
  return file
}

/** Runs wrk and parses requests/s, p50 and p99 (ms), the non-2xx count and the requests completed; resolves once wrk has exited and been reaped. */
function wrk (url: string, options: { script?: string, headers?: Record<string, string>, threads?: number, connections?: number, duration?: number } = {}): Promise<Result> {
  const args = ['-t', String(options.threads ?? 1), '-c', String(options.connections ?? connections), '-d', `${options.duration ?? seconds}s`, '--latency', '--timeout', '10s']
  for (const [k, v] of Object.entries(options.headers ?? {})) args.push('-H', `${k}: ${v}`)
  if (options.script) args.push('-s', options.script)
  args.push(url)
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args)
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => { out += String(d) })
    child.stderr.on('data', (d) => { err += String(d) })
    // 'close', not 'exit': all of wrk's output has been read, and its CPU is in our cutime/cstime.
    child.on('close', (code, signal) => {
      const ms = (label: string) => {
        const m = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(out)
        if (!m) return NaN
        const v = Number(m[1])
        return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v
      }
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN)
      if (Number.isNaN(rps)) return reject(new Error(`wrk ${args.join(' ')} (exit ${code ?? signal}): output not understood:\n${out}${err}`))
      const requests = Number(/(\d+) requests in /.exec(out)?.[1] ?? NaN)
      resolve({ rps, p50: ms('50'), p99: ms('99'), non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) + Number(/Socket errors:.*timeout (\d+)/.exec(out)?.[1] ?? 0), requests })
    })
    child.on('error', reject)
  })
}

/** One POST of a finite scenario; `body` is built when the request goes out (a TOTP code must be current). */
interface Shot { path: string, contentType: string, body: () => string }

/**
 * The load generator of the finite scenarios: sends `shots` in order over `concurrency` keep-alive
 * connections (node:http, one request in flight per connection), and returns requests/s over the
 * whole batch (first send to last answer), p50 and p99 latency (ms), the count of non-2xx answers
 * and failed requests, and `shots.length` as the requests completed. The first failure's status and
 * body go to stderr.
 */
async function fire (base: string, shots: Shot[], concurrency: number = connections): Promise<Result> {
  const { hostname, port } = new URL(base)
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  const latencies: number[] = []
  let failures = 0
  let reported = false
  const send = (shot: Shot) => new Promise<void>((resolve) => {
    const body = shot.body()
    const t0 = performance.now()
    const req = request({ host: hostname, port, path: shot.path, method: 'POST', agent, headers: { 'content-type': shot.contentType, 'content-length': Buffer.byteLength(body) } }, (res) => {
      const status = res.statusCode ?? 0
      let text = ''
      res.on('data', (chunk: Buffer) => { if (status >= 300 && text.length < 500) text += chunk.toString() })
      res.on('end', () => {
        latencies.push(performance.now() - t0)
        if (status < 200 || status >= 300) {
          failures++
          if (!reported) { reported = true; process.stderr.write(`  first failure of ${shot.path}: ${status} ${text}\n`) }
        }
        resolve()
      })
    })
    req.on('error', (err) => {
      failures++
      if (!reported) { reported = true; process.stderr.write(`  first failure of ${shot.path}: ${err.message}\n`) }
      resolve()
    })
    req.end(body)
  })
  let next = 0
  const start = performance.now()
  await Promise.all(Array.from({ length: Math.min(concurrency, shots.length) }, async () => {
    while (next < shots.length) {
      const shot = shots[next++]
      if (shot) await send(shot)
    }
  }))
  const elapsed = (performance.now() - start) / 1000
  agent.destroy()
  latencies.sort((a, b) => a - b)
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.max(0, Math.ceil(q * latencies.length) - 1))] ?? NaN
  return { rps: shots.length / elapsed, p50: at(0.5), p99: at(0.99), non2xx: failures, requests: shots.length }
}

/**
 * Runs `job` for each item, `concurrency` at a time, and returns the results in order. After
 * `deadline` (a performance.now() time) no new item starts: the result then covers a prefix of `items`.
 */
async function pool<T, R> (items: readonly T[], concurrency: number, job: (item: T, index: number) => Promise<R>, deadline = Infinity): Promise<R[]> {
  const out: R[] = new Array<R>(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length && performance.now() < deadline) {
      const i = next++
      out[i] = await job(items[i] as T, i)
    }
  }))
  return out.slice(0, next)
}

const resetPeak = (pid: number) => { try { writeFileSync(`/proc/${pid}/clear_refs`, '5') } catch {} }
const peakMb = (pid: number) => {
  try { return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024 } catch { return null }
}

/** Clock ticks per second of /proc's CPU times: `getconf CLK_TCK`, read once (100 on Linux, the fallback). */
const clockTicks = (() => {
  const n = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim())
  return Number.isInteger(n) && n > 0 ? n : 100
})()

/**
 * Fields 14–17 of /proc/<pid>/stat in clock ticks: `own` = utime + stime (all threads), `children` =
 * cutime + cstime (children this process has waited for). Throws when the file cannot be read.
 */
function statTicks (pid: number | 'self'): { own: number, children: number } {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Field 2, the command name, is in parentheses and may hold spaces: count from after its ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ').map(Number)
  const [utime, stime, cutime, cstime] = [f[11], f[12], f[13], f[14]]
  if (utime === undefined || stime === undefined || cutime === undefined || cstime === undefined) throw new Error(`/proc/${pid}/stat: too few fields`)
  return { own: utime + stime, children: cutime + cstime }
}

/**
 * CPU ticks of every process whose /proc/<pid>/comm is `comm`, own plus waited-for children, so that a
 * process (a PostgreSQL backend, say) that exits within a window still counts, through its parent.
 * Processes that vanish during the scan are skipped; throws when /proc cannot be listed.
 */
function commTicks (comm: string): number {
  let total = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== comm) continue
      const { own, children } = statTicks(Number(entry))
      total += own + children
    } catch {}
  }
  return total
}

/** Runs `read`; NaN when it throws (a /proc file gone or unreadable), so that a sample never fails a row. */
const orNaN = (read: () => number) => { try { return read() } catch { return NaN } }

/** One sample of the CPU µs used so far by the processes of a row's parties (see CpuUs), but the bench process's own. */
interface CpuSample { server: number, postgres: number | null, redis: number | null, exitedChildren: number }

/** Reads /proc once for each party; a part that cannot be read is NaN (see orNaN), never an exception. */
function sampleCpu (target: Target): CpuSample {
  const us = (read: () => number) => orNaN(read) * 1e6 / clockTicks
  return {
    server: us(() => statTicks(target.pid).own),
    postgres: target.services ? us(() => commTicks('postgres')) : null,
    redis: target.services ? us(() => commTicks('redis-server')) : null,
    exitedChildren: us(() => statTicks('self').children)
  }
}

/**
 * Runs `job` and returns the CPU µs each party spent meanwhile. The bench process's own CPU (the
 * Node load generator) is read innermost, so that the /proc scans (~1 ms each) stay out of it.
 * A negative delta (a counter that went back) becomes NaN.
 */
async function cpuDuring<T> (target: Target, job: () => Promise<T>): Promise<{ result: T, cpuUs: CpuUs }> {
  const before = sampleCpu(target)
  const ownBefore = process.cpuUsage()
  const result = await job()
  const own = process.cpuUsage(ownBefore)
  const after = sampleCpu(target)
  const d = (a: number, b: number) => b - a >= 0 ? b - a : NaN
  const dn = (a: number | null, b: number | null) => a === null || b === null ? null : d(a, b)
  return {
    result,
    cpuUs: {
      server: d(before.server, after.server),
      postgres: dn(before.postgres, after.postgres),
      redis: dn(before.redis, after.redis),
      load: d(before.exitedChildren, after.exitedChildren) + own.user + own.system
    }
  }
}

async function waitReady (base: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error('server exited during start')
    if (await fetch(`${base}/readyz`).then(r => r.ok, () => false)) return
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error('server did not become ready')
}

function start (script: string[], env: Record<string, string>, port: number): ChildProcess {
  return spawn(process.execPath, script, {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', LOG_LEVEL: 'error', RATE_LIMIT_ENABLED: 'false', HOST: '127.0.0.1', PORT: String(port), ...env }
  })
}

async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise(resolve => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

/** POSTs JSON and returns the parsed answer; throws on any status but `expect` (default: any 2xx). */
async function json<T> (base: string, path: string, body: unknown, token?: string, expect?: number): Promise<T> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) })
  if (expect === undefined ? !res.ok : res.status !== expect) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  return res.json() as Promise<T>
}

const TOTP_PERIOD = 30
const timeStep = () => Math.floor(Date.now() / 1000 / TOTP_PERIOD)
/** The RFC 6238 code (SHA-1, 6 digits, 30 s) of `secret` (base32) at time step `step`, by otpauth. */
const totp = (secret: string, step: number) => HOTP.generate({ secret: Secret.fromBase32(secret), counter: step, algorithm: 'SHA1', digits: 6 })

/**
 * S10's inputs: accounts with MFA on (register, set-up, activation: through the API), each with two
 * password logins whose `mfa_token`s (single use) the verifications redeem; up to `count` of them, and
 * no new account after `deadline`. A step's code is accepted once per account and only after the last
 * accepted step (API.md), so each account's two verifications use two successive steps, chosen when
 * the request goes out: the later of the current step and the one after the account's last (the
 * activation used the step before its own), so always within the ±1 step the server accepts. The shots are ordered first-of-every-account, then
 * second-of-every-account, so that an account's two never overlap.
 */
async function prepareMfa (base: string, password: string, count: number, deadline: number): Promise<Shot[]> {
  const run = randomBytes(3).toString('hex')
  const accounts = await pool(Array.from({ length: Math.ceil(count / 2) }, (_, i) => i), connections, async (i) => {
    const email = `mfa-${run}-${i}@bench.test`
    const { access_token: token } = await json<{ access_token: string }>(base, '/v1/auth/register', { email, password })
    const { secret } = await json<{ secret: string }>(base, '/v1/users/me/mfa/totp', { current_password: password }, token)
    // Activated with the previous step's code (accepted), so that the current step is still free for the first verification.
    const activate = (step: number) => json(base, '/v1/users/me/mfa/totp/activate', { code: totp(secret, step) }, token)
    let step = timeStep() - 1
    try {
      await activate(step)
    } catch {
      step = timeStep() - 1 // a step boundary passed between computing the code and the server checking it
      await activate(step)
    }
    const login = async () => (await json<{ mfa_token: string }>(base, '/v1/auth/login', { email, password }, undefined, 403)).mfa_token
    return { secret, last: step, tokens: [await login(), await login()] }
  }, deadline)
  const shot = (account: typeof accounts[number], token: string): Shot => ({
    path: '/v1/auth/mfa/verify',
    contentType: 'application/json',
    body: () => {
      account.last = Math.max(timeStep(), account.last + 1)
      return JSON.stringify({ mfa_token: token, code: totp(account.secret, account.last) })
    }
  })
  return [0, 1].flatMap(n => accounts.map(account => shot(account, account.tokens[n] ?? ''))).slice(0, count)
}

/**
 * S11's inputs: up to `count` one-time codes (valid 60 s), none begun after `deadline`, from real
 * sign-in flows with the fake GitHub of the tests: TaskFlow's authorize → the provider → TaskFlow's
 * callback (which exchanges the provider's code and reads the user) → the app's redirect_uri with the
 * code. One GitHub account: its first flow creates the TaskFlow account, the others sign it in.
 */
async function mintCodes (base: string, count: number, deadline: number): Promise<Shot[]> {
  const follow = async (url: string) => {
    const res = await fetch(url, { redirect: 'manual' })
    await res.arrayBuffer()
    const location = res.headers.get('location')
    if (res.status !== 302 || !location) throw new Error(`${new URL(url).pathname}: ${res.status}, expected a redirect`)
    return new URL(location, url)
  }
  const mint = async () => {
    const pkce = pkcePair()
    const query = new URLSearchParams({ redirect_uri: APP_REDIRECT, code_challenge: pkce.challenge, code_challenge_method: 'S256', state: 'bench' })
    const atProvider = await follow(`${base}/v1/auth/oauth/github/authorize?${query.toString()}`)
    const callback = await follow(atProvider.href)
    const landing = await follow(`${base}${callback.pathname}${callback.search}`)
    const code = landing.searchParams.get('code')
    if (!code) throw new Error(`sign-in flow ended with error=${landing.searchParams.get('error') ?? '?'}`)
    return new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: APP_REDIRECT, code_verifier: pkce.verifier }).toString()
  }
  const forms = [await mint(), ...await pool(Array.from({ length: count - 1 }), connections, mint, deadline)]
  return forms.map(form => ({ path: '/v1/auth/token', contentType: 'application/x-www-form-urlencoded', body: () => form }))
}

/** Prepares a finite scenario's inputs (outside the measured window) and reports how long that took. */
async function timed<T> (label: string, job: () => Promise<T[]>): Promise<T[]> {
  const t0 = performance.now()
  const out = await job()
  process.stderr.write(`  ${label}: ${out.length} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`)
  return out
}

/** What a path's run hands to print: its rows, R2 (ms per hash) and R2p (see parallelHashing). */
interface PathResult { rows: Row[], hashMs: number, parallel: ParallelHashing }

async function benchmark (label: string, env: Record<string, string>): Promise<PathResult> {
  const port = 20000 + Math.floor(Math.random() * 20000)
  const base = `http://127.0.0.1:${port}`
  const rows: Row[] = []
  const github = await startFakeGitHub(GITHUB_CLIENT)
  github.signInAs({ id: 4242, login: 'bench', name: 'Bench', emails: [{ email: `github-${randomBytes(4).toString('hex')}@bench.test`, primary: true, verified: true }] })
  const oauthEnv = { OAUTH_REDIRECT_URIS: APP_REDIRECT, OAUTH_GITHUB_CLIENT_ID: GITHUB_CLIENT.id, OAUTH_GITHUB_CLIENT_SECRET: GITHUB_CLIENT.secret, OAUTH_GITHUB_URL: github.url, OAUTH_GITHUB_API_URL: github.url }
  const server = start(['--max-old-space-size=96', 'dist/cli.js', 'serve'], { ...env, ...oauthEnv }, port) // as in deploy/Dockerfile
  let hashMs = NaN
  let parallel: ParallelHashing = { perSecond: NaN, medianMs: NaN }
  let ownerId = ''
  let firstPage: unknown
  const services = Boolean(env.DATABASE_URL)
  const target: Target = { pid: server.pid ?? 0, services }
  const run: Run = async (id, what, job, note) => { if (wanted(id)) await measure(rows, label, target, id, what, job, note) }
  try {
    await waitReady(base, server)
    const password = 'benchmark passphrase 42'
    const email = `bench-${randomBytes(4).toString('hex')}@example.test`
    const registered = await json<{ access_token: string, user: { id: string } }>(base, '/v1/auth/register', { email, password })
    const token = registered.access_token
    ownerId = registered.user.id
    const auth = { authorization: `Bearer ${token}` }
    let taskId = ''
    for (let i = 0; i < 1000; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, (_, j) => json<{ id: string }>(base, '/v1/tasks', { title: `task ${i + j}`, priority: ['low', 'medium', 'high', 'urgent'][j % 4], tags: ['bench'] }, token)))
      taskId ||= batch[0]?.id ?? ''
    }
    const form = new URLSearchParams({ grant_type: 'password', username: email, password }).toString()
    const loginScript = lua('login', `wrk.method = "POST"\nwrk.body = "${form}"\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n`)
    const refreshTokens: string[] = []
    for (let i = 0; i < chains; i++) refreshTokens.push((await json<{ refresh_token: string }>(base, '/v1/auth/login', { email, password })).refresh_token)

    // A personal access token of the same user, for S2p: reading with it must cost about what S2 costs.
    const { token: pat } = await json<{ token: string }>(base, '/v1/users/me/tokens', { name: 'bench', scopes: ['tasks:read'], current_password: password }, token)
    const patAuth = { authorization: `Bearer ${pat}` }

    // Warm-ups (not measured) for the wrk paths: JIT, pools, prepared statements, caches.
    if (wanted('S0')) await wrk(`${base}/healthz`, { duration: 3 })
    if (wanted('S1', 'S6')) await wrk(`${base}/v1/users/me`, { headers: auth, duration: 3 })
    if (wanted('S2')) await wrk(`${base}/v1/tasks/${taskId}`, { headers: auth, duration: 3 })
    if (wanted('S2p')) await wrk(`${base}/v1/tasks/${taskId}`, { headers: patAuth, duration: 3 })
    if (wanted('S4')) await wrk(`${base}/v1/tasks?limit=100`, { headers: auth, duration: 3 })
    await run('S0', 'GET /healthz', () => wrk(`${base}/healthz`))
    await run('S1', 'GET /v1/users/me', () => wrk(`${base}/v1/users/me`, { headers: auth }))
    await run('S2', 'GET /v1/tasks/{id}', () => wrk(`${base}/v1/tasks/${taskId}`, { headers: auth }))
    await run('S2p', 'GET /v1/tasks/{id} with a personal access token', () => wrk(`${base}/v1/tasks/${taskId}`, { headers: patAuth }))
    await run('S3', 'POST /v1/tasks', () => wrk(`${base}/v1/tasks`, {
      headers: auth,
      script: lua('create', 'wrk.method = "POST"\nwrk.body = \'{"title":"bench","priority":"high","tags":["x"]}\'\nwrk.headers["Content-Type"] = "application/json"\n')
    }))
    await run('S4', 'GET /v1/tasks?limit=100 (a page of 100 of 1,000+)', () => wrk(`${base}/v1/tasks?limit=100`, { headers: auth }))
    // Nothing adds tasks of this user after S3: R3 must answer exactly this page's rows.
    if (wanted('S4')) firstPage = (await (await fetch(`${base}/v1/tasks?limit=100`, { headers: auth })).json() as { data: unknown }).data
    if (wanted('S5')) {
      hashMs = await hashTime()
      parallel = await parallelHashing()
    }
    await run('S5', 'POST /v1/auth/token (password)', () => wrk(`${base}/v1/auth/token`, { script: loginScript, connections: 8 }))
    await run('S6', 'S1 while S5 saturates hashing', async () => {
      const logins = wrk(`${base}/v1/auth/token`, { script: loginScript, connections: 8, duration: seconds + 1 })
      await new Promise(resolve => setTimeout(resolve, 500))
      const reads = await wrk(`${base}/v1/users/me`, { headers: auth })
      await logins
      return reads
    })
    await run('S7', 'POST /v1/auth/register', () => wrk(`${base}/v1/auth/register`, {
      connections: 8,
      script: lua('register', `local n = 0\nlocal run = "${randomBytes(3).toString('hex')}"\nrequest = function()\n  n = n + 1\n  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, '{"email":"r' .. run .. '-' .. n .. '@bench.test","password":"${password}"}')\nend\n`)
    }))
    // Refresh tokens are single-use: each wrk thread keeps its own chain on one connection.
    await run('S8', 'POST /v1/auth/refresh', () => wrk(`${base}/v1/auth/refresh`, {
      threads: chains,
      connections: chains,
      script: lua('refresh', `local tokens = {${refreshTokens.map(t => `"${t}"`).join(', ')}}\nlocal count = 0\nsetup = function(thread)\n  count = count + 1\n  thread:set("token", tokens[count])\nend\nrequest = function()\n  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, '{"refresh_token":"' .. token .. '"}')\nend\nresponse = function(status, headers, body)\n  local t = body:match('"refresh_token":"([^"]+)"')\n  if t then token = t end\nend\n`)
    }), `${chains} token chains, 1 connection each`)

    // Single-use inputs, prepared just before and outside the measured window (within BENCH_PREPARE_SECONDS),
    // then a fifth of them sent unmeasured as warm-up, then the rest measured.
    const finite = async (id: string, what: string, shots: Shot[]) => {
      const warm = Math.min(finiteWarmup, Math.floor(shots.length / 5))
      await fire(base, shots.slice(0, warm))
      await run(id, what, () => fire(base, shots.slice(warm)), `${(shots.length - warm).toLocaleString('en')} requests after ${warm} unmeasured, ${connections} connections, Node load generator`)
    }
    if (wanted('S10')) {
      const shots = await timed(`${label} S10: mfa_tokens of accounts with MFA prepared`, () => prepareMfa(base, password, finiteRequests + finiteWarmup, performance.now() + prepareSeconds * 1000))
      await finite('S10', 'POST /v1/auth/mfa/verify (TOTP)', shots)
    }
    if (wanted('S11')) {
      // A code lives 60 s: minting stops after at most 30 s, so that the last measured one is still alive.
      const shots = await timed(`${label} S11: authorization codes minted (GitHub sign-in flows)`, () => mintCodes(base, finiteRequests + finiteWarmup, performance.now() + Math.min(prepareSeconds, 30) * 1000))
      await finite('S11', 'POST /v1/auth/token (authorization_code)', shots)
    }

    if (env.DATABASE_URL && scaleTasks > 0 && wanted('S9')) {
      // A user of their own, whose tasks are exactly the seeded ones (S3's rows would skew the filters).
      const scaleEmail = `scale-${randomBytes(4).toString('hex')}@example.test`
      const { access_token: scaleToken } = await json<{ access_token: string }>(base, '/v1/auth/register', { email: scaleEmail, password })
      await listingAtScale(env.DATABASE_URL, scaleEmail, base, { authorization: `Bearer ${scaleToken}` }, run)
    }
  } finally {
    await stop(server)
    await github.stop()
  }

  // R0, R1 and R3: a bare Fastify app on the same database (for PGlite: the same DATA_DIR, after the server let go of it).
  const references = ([
    ['R0', 'bare Fastify, constant JSON', '/r0', ['S0', 'R0']],
    ['R1', 'bare Fastify, primary-key SELECT', '/r1/', ['S1', 'S2', 'S2p', 'S6', 'R1']],
    ['R3', 'bare Fastify, the listing SQL of S4, JSON.stringify', '/r3', ['S4', 'R3']]
  ] as const).filter(([, , , needed]) => wanted(...needed))
  if (references.length === 0) return { rows, hashMs, parallel }
  const ref = start(['--max-old-space-size=96', referenceJs], { ...env, BENCH_LIST_OWNER: ownerId }, port)
  try {
    await waitReady(base, ref)
    const id = await fetch(`${base}/any-task-id`).then(r => r.text())
    for (const [rid, what, path] of references) {
      const url = `${base}${path}${rid === 'R1' ? id : ''}`
      let note: string | undefined
      if (rid === 'R3' && firstPage !== undefined) {
        const same = JSON.stringify((await (await fetch(url)).json() as { data: unknown }).data) === JSON.stringify(firstPage)
        if (!same) process.stderr.write(`  ${label} R3: its rows differ from S4's page (GET /v1/tasks?limit=100)\n`)
        note = same ? 'same 100 rows as S4' : 'ROWS DIFFER FROM S4'
      }
      await measure(rows, label, { pid: ref.pid ?? 0, services }, rid, what, () => wrk(url), note, () => wrk(url, { duration: 3 }))
    }
  } finally {
    await stop(ref)
  }
  return { rows, hashMs, parallel }
}

type Run = (id: string, what: string, job: () => Promise<Result>, note?: string) => Promise<void>

/**
 * Runs `warm` (unmeasured), then `job`, and appends its row with the peak RSS of the target process
 * during `job` and the CPU time each party spent during `job` (CpuUs; the window ends once the load
 * generator has exited). A failing scenario (say, wrk dying) leaves a row marked FAILED and the run goes on.
 */
async function measure (rows: Row[], label: string, target: Target, id: string, what: string, job: () => Promise<Result>, note?: string, warm?: () => Promise<unknown>): Promise<void> {
  const { pid } = target
  try {
    await warm?.()
    resetPeak(pid)
    const { result, cpuUs } = await cpuDuring(target, job)
    rows.push({ id, what, ...result, rssMb: peakMb(pid), cpuUs, ...(note ? { note } : {}) })
    process.stderr.write(`  ${label} ${id} ${what}: ${result.rps.toFixed(0)} req/s\n`)
  } catch (err) {
    rows.push({ id, what, rps: NaN, p50: NaN, p99: NaN, non2xx: NaN, requests: NaN, rssMb: peakMb(pid), cpuUs: { server: NaN, postgres: NaN, redis: NaN, load: NaN }, note: 'FAILED, see stderr' })
    process.stderr.write(`  ${label} ${id} ${what} failed: ${err instanceof Error ? err.message : String(err)}\n`)
  }
}

/** S9: the listings of API.md over `scaleTasks` tasks of the caller (plus as many of 1,000 others). */
async function listingAtScale (databaseUrl: string, email: string, base: string, auth: Record<string, string>, run: Run): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const t0 = performance.now()
    const { rows: [me] } = await client.query<{ id: string }>('select id from users where email = $1', [email])
    if (!me) throw new Error('bench user not found')
    await client.query(`insert into users (id, email, password_hash, created_at, updated_at)
      select ('01a20000-0000-7000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, 'scale' || g || '@bench.test', 'x', now(), now() from generate_series(1, 1000) g`)
    await client.query(seedTasksSql(`'${me.id}'::uuid`, scaleTasks))
    await client.query(seedTasksSql('(\'01a20000-0000-7000-8000-\' || lpad(to_hex(1 + g % 1000), 12, \'0\'))::uuid', scaleTasks))
    await client.query('vacuum analyze tasks')
    process.stderr.write(`  seeded ${(2 * scaleTasks).toLocaleString('en')} tasks in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`)
  } finally {
    await client.end()
  }
  // Latency at a moderate load (4 connections, ~half the server's capacity): at 16 connections every
  // row would be saturated and its p99 mostly queueing. S9.0 gives the saturated throughput for scale.
  const scaleSeconds = Math.max(2, Math.round(seconds / 2))
  const size = `${(scaleTasks / 1e6).toLocaleString('en')}M tasks`
  await wrk(`${base}/v1/tasks?limit=50`, { headers: auth, duration: 2 })
  await run('S9.0', `GET /v1/tasks at ${size}: default, saturated`, () => wrk(`${base}/v1/tasks?limit=50`, { headers: auth, duration: scaleSeconds }), `${connections} connections`)
  for (const [i, [what, query]] of LISTING_CASES.entries()) {
    const url = `${base}/v1/tasks?limit=50${query ? `&${query}` : ''}`
    await wrk(url, { headers: auth, duration: 1, connections: 4 })
    await run(`S9.${i + 1}`, `GET /v1/tasks at ${size}: ${what}`, () => wrk(url, { headers: auth, duration: scaleSeconds, connections: 4 }), '4 connections')
  }
}

/** R2: the median time of one argon2id hash, over 40 in a row on an otherwise idle machine. */
async function hashTime (): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < 40; i++) {
    const t0 = performance.now()
    await hash(`password ${i}`, ARGON2_PARAMS)
    times.push(performance.now() - t0)
  }
  return times.sort((a, b) => a - b)[20] ?? NaN
}

/** R2p: argon2id hashes per second with `cores` at a time, and the median time (ms) of one of them. */
interface ParallelHashing { perSecond: number, medianMs: number }

/**
 * R2p: `cores` streams of 40 argon2id hashes each (ARGON2_PARAMS), all at once, at the moment R2 is
 * measured. Concurrent hashes share caches and memory bandwidth, so each runs slower than R2's lone
 * one, and this is the ceiling S5 can actually reach; R2's `cores ÷ hash time` overstates it.
 * (@node-rs/argon2 hashes on libuv's pool, 4 threads by default: above 4 cores this undercounts.)
 */
async function parallelHashing (): Promise<ParallelHashing> {
  const times: number[] = []
  const start = performance.now()
  await Promise.all(Array.from({ length: cores }, async (_, stream) => {
    for (let i = 0; i < 40; i++) {
      const t0 = performance.now()
      await hash(`password ${stream}-${i}`, ARGON2_PARAMS)
      times.push(performance.now() - t0)
    }
  }))
  const elapsed = (performance.now() - start) / 1000
  times.sort((a, b) => a - b)
  return { perSecond: times.length / elapsed, medianMs: times[Math.floor(times.length / 2)] ?? NaN }
}

const n0 = (x: number) => Number.isFinite(x) ? Math.round(x).toLocaleString('en') : '?'
const pct = (x: number) => Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : '?'
/** `us` CPU µs over `requests` requests, as whole µs per request; `—` when not applicable, `?` when unknown. */
const perRequest = (us: number | null, requests: number) => us === null ? '—' : n0(us / requests)

/** The path's table, then the targets of issue 15 (and round one's two), each met or missed. */
function print (label: string, { rows, hashMs, parallel }: PathResult, embedded: boolean): void {
  const get = (id: string) => rows.find(r => r.id === id)
  const rps = (id: string) => get(id)?.rps ?? NaN
  console.log(`\n## ${label}\n`)
  console.log('| scenario | what | req/s | p50 ms | p99 ms | non-2xx | server peak RSS MB | CPU µs/req server | PostgreSQL | Redis | load |')
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const r of rows) {
    const cpu = [r.cpuUs.server, r.cpuUs.postgres, r.cpuUs.redis, r.cpuUs.load].map(us => perRequest(us, r.requests)).join(' | ')
    console.log(`| ${r.id} | ${r.what}${r.note ? ` (${r.note})` : ''} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.non2xx} | ${r.rssMb?.toFixed(0) ?? '?'} | ${cpu} |`)
  }
  const ceiling = cores / (hashMs / 1000)
  if (Number.isFinite(hashMs)) console.log(`| R2 | one argon2id hash (m=19456, t=2, p=1) | ${ceiling.toFixed(0)} (ceiling: ${cores} cores ÷ hash) | ${hashMs.toFixed(1)} | | | | | | | | |`)
  if (Number.isFinite(parallel.perSecond)) console.log(`| R2p | argon2id, ${cores} hashes at a time | ${parallel.perSecond.toFixed(0)} (measured ceiling, hashes/s) | ${parallel.medianMs.toFixed(1)} | | | | | | | | |`)

  const served = rows.filter(r => r.id.startsWith('S'))
  const reads = served.filter(r => ['S0', 'S1', 'S2', 'S2p', 'S3', 'S4'].includes(r.id) || r.id.startsWith('S9'))
  const peak = (list: Row[]) => Math.max(...list.map(r => r.rssMb ?? NaN))
  const rssLimit = embedded ? 300 : 150
  const verdict = (ok: boolean, ...ids: string[]) => ids.some(id => !get(id)) ? 'not run' : ids.some(id => Number.isNaN(rps(id))) ? 'failed' : ok ? 'met' : 'missed'
  const ratio = (id: string, of: string) => rps(id) / rps(of)
  const vs = (id: string, of: string) => `${pct(ratio(id, of))} (${n0(rps(id))} vs ${n0(rps(of))} req/s)`
  const targets: Array<[string, string, string]> = [
    ['S0 ≥ 60% of R0 (/healthz against a bare route)', vs('S0', 'R0'), verdict(ratio('S0', 'R0') >= 0.6, 'S0', 'R0')],
    ['S1 ≥ 70% of R1', vs('S1', 'R1'), verdict(ratio('S1', 'R1') >= 0.7, 'S1', 'R1')],
    ['S2 ≥ 70% of R1', vs('S2', 'R1'), verdict(ratio('S2', 'R1') >= 0.7, 'S2', 'R1')],
    ['S4 ≥ 70% of R3 (a page of 100)', vs('S4', 'R3'), verdict(ratio('S4', 'R3') >= 0.7, 'S4', 'R3')],
    ['S5 ≥ 90% of R2 (cores ÷ hash time)', `${pct(rps('S5') / ceiling)} (${n0(rps('S5'))} vs ${n0(ceiling)} logins/s)`, verdict(rps('S5') / ceiling >= 0.9, 'S5')],
    ['S5 against R2p (measured parallel ceiling)', `${pct(rps('S5') / parallel.perSecond)} (${n0(rps('S5'))} vs ${n0(parallel.perSecond)} logins/s)`, get('S5') ? 'info' : 'not run'],
    ['S8 ≥ 1,000 refreshes/s per core', `${n0(rps('S8') / cores)} per core (${n0(rps('S8'))}/s on ${cores} cores)`, verdict(rps('S8') / cores >= 1000, 'S8')],
    [`peak RSS < ${rssLimit} MB with logins in the mix`, `${n0(peak(served))} MB in all${reads.length > 0 ? `; ${n0(peak(reads))} MB serving reads and task writes (S0–S4, S9)` : ''}`, served.length === 0 ? 'not run' : peak(served) < rssLimit ? 'met' : 'missed'],
    ['S2p (personal access token) within 10% of S2', `${vs('S2p', 'S2')}; p99 ${get('S2p')?.p99.toFixed(2) ?? '?'} vs ${get('S2')?.p99.toFixed(2) ?? '?'} ms`, verdict(ratio('S2p', 'S2') >= 0.9, 'S2p', 'S2')],
    ['S6 p99 ≤ 3× S1 p99 (round one)', `${((get('S6')?.p99 ?? NaN) / (get('S1')?.p99 ?? NaN)).toFixed(1)}×`, verdict((get('S6')?.p99 ?? NaN) <= 3 * (get('S1')?.p99 ?? NaN), 'S6', 'S1')]
  ]
  const scale = rows.filter(r => r.id.startsWith('S9.') && r.id !== 'S9.0')
  if (scale.length > 0) {
    const worst = Math.max(...scale.map(r => r.p99))
    targets.push(['S9 listings at scale, 4 connections: p99 < 20 ms (round one)', `worst ${worst.toFixed(1)} ms`, worst < 20 ? 'met' : 'missed'])
  }
  for (const id of ['S10', 'S11']) {
    const r = get(id)
    if (r) targets.push([`${id} ${r.what}: new path, no ratio target`, `${n0(r.rps)} req/s, p99 ${r.p99.toFixed(1)} ms, ${r.non2xx} failed`, r.non2xx === 0 ? '—' : 'FAILURES'])
  }
  console.log(`\n### Targets (issue 15): ${label}\n`)
  console.log('| target | this run | |')
  console.log('|---|---|---|')
  for (const [what, value, result] of targets) console.log(`| ${what} | ${result === 'not run' ? '—' : value} | ${result} |`)
}

async function withServices<T> (job: (env: Record<string, string>) => Promise<T>): Promise<T> {
  const { DATABASE_URL: dbUrl = '', REDIS_URL: redisUrl = '' } = process.env
  const name = `taskflow_bench_${randomBytes(4).toString('hex')}`
  const prefix = `tfb:${name}:`
  const admin = new pg.Client({ connectionString: dbUrl })
  await admin.connect()
  await admin.query(`create database ${name}`)
  const url = new URL(dbUrl)
  url.pathname = `/${name}`
  try {
    return await job({ DATABASE_URL: url.toString(), REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix })
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`)
    await admin.end()
    const redis = new Redis(redisUrl)
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length) await redis.del(...keys)
    redis.disconnect()
  }
}

/** The reference app as JavaScript beside the build: transpiled alone (npm run typecheck checks it), its `../src/` imports pointed at dist/. */
function compileReference (): void {
  const source = readFileSync(join(root, 'scripts/bench-reference.ts'), 'utf8')
  const { outputText } = ts.transpileModule(source, { fileName: 'bench-reference.ts', compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true } })
  writeFileSync(referenceJs, outputText.replaceAll('from \'../src/', 'from \'./'))
}

const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
if (build.status !== 0) process.exit(1)
compileReference()

try {
  console.log(`# TaskFlow benchmark — ${new Date().toISOString()}, ${cores} cores, Node ${process.version}, wrk ${connections} connections, ${seconds} s per scenario, ${finiteRequests.toLocaleString('en')} requests per finite scenario`)
  const dataDir = mkdtempSync(join(work, 'data-'))
  const embedded = await benchmark('embedded', { DATA_DIR: dataDir })
  print('embedded (PGlite + in-process store)', embedded, true)
  if (process.env.DATABASE_URL && process.env.REDIS_URL) {
    const services = await withServices(env => benchmark('services', env))
    print('PostgreSQL + Redis', services, false)
  }
} finally {
  rmSync(work, { recursive: true, force: true })
  rmSync(referenceJs, { force: true })
}

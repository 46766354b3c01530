// `npm run bench`: starts TaskFlow itself (embedded; and again on PostgreSQL + Redis when DATABASE_URL
// and REDIS_URL are set, in a database and key prefix of its own), creates fixtures through the API,
// drives it with wrk (Debian's `wrk`: cheap next to a JavaScript load generator) and prints one table.
// Rate limits are off. Every run is bounded: each scenario lasts BENCH_SECONDS (default 5).
// The server runs as in production: the compiled build (npm run build), `node dist/cli.js serve`.
// On PostgreSQL it also seeds 1,000,000 tasks (BENCH_SCALE_TASKS) for one user and measures the listings.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { hash } from '@node-rs/argon2'
import pg from 'pg'
import { Redis } from 'ioredis'
import { ARGON2_PARAMS } from '../src/modules/auth/passwords.js'
import { LISTING_CASES, seedTasksSql } from './seed-tasks.js'

const root = new URL('..', import.meta.url).pathname
const seconds = Number(process.env.BENCH_SECONDS ?? 5)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16)
const scaleTasks = Number(process.env.BENCH_SCALE_TASKS ?? 1_000_000)
const chains = 16
/** BENCH_ONLY=S2,S2p runs only those scenarios (the fixtures are made anyway): to check a scenario on a busy machine. */
const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : undefined
const work = mkdtempSync(join(tmpdir(), 'taskflow-bench-'))

interface Row { id: string, what: string, rps: number, p50: number, p99: number, non2xx: number, rssMb: number | null, note?: string }

if (spawnSync('wrk', ['--version']).error) {
  console.error('npm run bench needs wrk (Debian: apt-get install wrk)')
  process.exit(1)
}

function lua (name: string, text: string): string {
  const file = join(work, `${name}.lua`)
  writeFileSync(file, text)
  return file
}

/** Runs wrk and parses requests/s, p50 and p99 (ms) and the non-2xx count. */
function wrk (url: string, options: { script?: string, headers?: Record<string, string>, threads?: number, connections?: number, duration?: number } = {}): Promise<Omit<Row, 'id' | 'what' | 'rssMb'>> {
  const args = ['-t', String(options.threads ?? 1), '-c', String(options.connections ?? connections), '-d', `${options.duration ?? seconds}s`, '--latency', '--timeout', '10s']
  for (const [k, v] of Object.entries(options.headers ?? {})) args.push('-H', `${k}: ${v}`)
  if (options.script) args.push('-s', options.script)
  args.push(url)
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args)
    let out = ''
    child.stdout.on('data', (d) => { out += String(d) })
    child.on('exit', () => {
      const ms = (label: string) => {
        const m = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(out)
        if (!m) return NaN
        const v = Number(m[1])
        return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v
      }
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN)
      if (Number.isNaN(rps)) return reject(new Error(`wrk output not understood:\n${out}`))
      resolve({ rps, p50: ms('50'), p99: ms('99'), non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) + Number(/Socket errors:.*timeout (\d+)/.exec(out)?.[1] ?? 0) })
    })
    child.on('error', reject)
  })
}

const resetPeak = (pid: number) => { try { writeFileSync(`/proc/${pid}/clear_refs`, '5') } catch {} }
const peakMb = (pid: number) => {
  try { return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024 } catch { return null }
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

async function json<T> (base: string, path: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) })
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  return res.json() as Promise<T>
}

async function benchmark (label: string, env: Record<string, string>): Promise<{ rows: Row[], hashMs: number }> {
  const port = 20000 + Math.floor(Math.random() * 20000)
  const base = `http://127.0.0.1:${port}`
  const rows: Row[] = []
  const server = start(['--max-old-space-size=96', 'dist/cli.js', 'serve'], env, port) // as in deploy/Dockerfile
  let hashMs = NaN
  const pid = server.pid ?? 0
  try {
    await waitReady(base, server)
    const password = 'benchmark passphrase 42'
    const email = `bench-${randomBytes(4).toString('hex')}@example.test`
    const { access_token: token } = await json<{ access_token: string }>(base, '/v1/auth/register', { email, password })
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

    const run: Run = async (id, what, job, note) => {
      if (only && !only.has(id)) return
      resetPeak(pid)
      const result = await job()
      rows.push({ id, what, ...result, rssMb: peakMb(pid), ...(note ? { note } : {}) })
      process.stderr.write(`  ${label} ${id} ${what}: ${result.rps.toFixed(0)} req/s\n`)
    }
    // Warm-ups (not measured) for the read paths: JIT, pools, prepared statements, caches.
    for (const path of ['/v1/users/me', `/v1/tasks/${taskId}`, '/v1/tasks?limit=50']) await wrk(`${base}${path}`, { headers: auth, duration: 3 })
    await wrk(`${base}/v1/tasks/${taskId}`, { headers: patAuth, duration: 3 })
    await run('S1', 'GET /v1/users/me', () => wrk(`${base}/v1/users/me`, { headers: auth }))
    await run('S2', 'GET /v1/tasks/{id}', () => wrk(`${base}/v1/tasks/${taskId}`, { headers: auth }))
    await run('S2p', 'GET /v1/tasks/{id} with a personal access token', () => wrk(`${base}/v1/tasks/${taskId}`, { headers: patAuth }))
    await run('S3', 'POST /v1/tasks', () => wrk(`${base}/v1/tasks`, {
      headers: auth,
      script: lua('create', 'wrk.method = "POST"\nwrk.body = \'{"title":"bench","priority":"high","tags":["x"]}\'\nwrk.headers["Content-Type"] = "application/json"\n')
    }))
    await run('S4', 'GET /v1/tasks (50 of 1,000+)', () => wrk(`${base}/v1/tasks?limit=50`, { headers: auth }))
    hashMs = await hashTime()
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
    if (env.DATABASE_URL && scaleTasks > 0) {
      // A user of their own, whose tasks are exactly the seeded ones (S3's rows would skew the filters).
      const scaleEmail = `scale-${randomBytes(4).toString('hex')}@example.test`
      const { access_token: scaleToken } = await json<{ access_token: string }>(base, '/v1/auth/register', { email: scaleEmail, password })
      await listingAtScale(env.DATABASE_URL, scaleEmail, base, { authorization: `Bearer ${scaleToken}` }, run)
    }
  } finally {
    await stop(server)
  }

  // R0 and R1: a bare Fastify app on the same database (for PGlite: the same DATA_DIR, after the server let go of it).
  const ref = start(['--import', 'tsx', 'scripts/bench-reference.ts'], env, port)
  try {
    await waitReady(base, ref)
    const id = await fetch(`${base}/any-task-id`).then(r => r.text())
    await wrk(`${base}/r0`, { duration: 3 })
    await wrk(`${base}/r1/${id}`, { duration: 3 })
    for (const [rid, what, url] of [['R0', 'bare Fastify, constant JSON', `${base}/r0`], ['R1', 'bare Fastify, primary-key SELECT', `${base}/r1/${id}`]] as const) {
      resetPeak(ref.pid ?? 0)
      const result = await wrk(url)
      rows.push({ id: rid, what, ...result, rssMb: peakMb(ref.pid ?? 0) })
      process.stderr.write(`  ${label} ${rid}: ${result.rps.toFixed(0)} req/s\n`)
    }
  } finally {
    await stop(ref)
  }
  return { rows, hashMs }
}

type Run = (id: string, what: string, job: () => Promise<Omit<Row, 'id' | 'what' | 'rssMb'>>, note?: string) => Promise<void>

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

function print (label: string, rows: Row[], hashMs: number): void {
  const cores = availableParallelism()
  const get = (id: string) => rows.find(r => r.id === id)
  console.log(`\n## ${label}\n`)
  console.log('| scenario | what | req/s | p50 ms | p99 ms | non-2xx | server peak RSS MB |')
  console.log('|---|---|---:|---:|---:|---:|---:|')
  for (const r of rows) console.log(`| ${r.id} | ${r.what}${r.note ? ` (${r.note})` : ''} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.non2xx} | ${r.rssMb?.toFixed(0) ?? '?'} |`)
  const ceiling = cores / (hashMs / 1000)
  console.log(`| R2 | one argon2id hash (m=19456, t=2, p=1) | ${ceiling.toFixed(0)} (ceiling: ${cores} cores ÷ hash) | ${hashMs.toFixed(1)} | | | |`)
  const r1 = get('R1')?.rps ?? NaN
  const ratio = (id: string) => `${((get(id)?.rps ?? NaN) / r1 * 100).toFixed(0)}%`
  console.log(`\nS1/R1 ${ratio('S1')}, S2/R1 ${ratio('S2')} (target ≥ 70%); S5 = ${((get('S5')?.rps ?? NaN) / ceiling * 100).toFixed(0)}% of the hash ceiling (target ≥ 90%); ` +
    `S6 p99 = ${((get('S6')?.p99 ?? NaN) / (get('S1')?.p99 ?? NaN)).toFixed(1)}× S1 p99 (target ≤ 3×); S8 = ${((get('S8')?.rps ?? NaN) / cores).toFixed(0)} refreshes/s per core (target ≥ 1,000).`)
  console.log(`S2p (personal access token) = ${((get('S2p')?.rps ?? NaN) / (get('S2')?.rps ?? NaN) * 100).toFixed(0)}% of S2 (access token) in this run (target ≥ 90%); p99 ${get('S2p')?.p99.toFixed(2) ?? '?'} vs ${get('S2')?.p99.toFixed(2) ?? '?'} ms.`)
  const scale = rows.filter(r => r.id.startsWith('S9'))
  const served = rows.filter(r => r.id.startsWith('S'))
  const peak = (list: Row[]) => Math.max(...list.map(r => r.rssMb ?? NaN)).toFixed(0)
  if (scale.length > 0) console.log(`S9: worst listing p99 at scale, 4 connections: ${Math.max(...scale.filter(r => r.id !== 'S9.0').map(r => r.p99)).toFixed(1)} ms (target < 20 ms).`)
  // S8 runs after the login scenarios, while their hashing threads (and argon2 memory) are still alive.
  const reads = served.filter(r => ['S1', 'S2', 'S2p', 'S3', 'S4'].includes(r.id) || r.id.startsWith('S9'))
  console.log(`Server peak RSS: ${peak(reads)} MB serving reads and task writes (S1–S4, S9), ${peak(served)} MB in all, with logins (target < 150 MB).`)
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

const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
if (build.status !== 0) process.exit(1)

try {
  console.log(`# TaskFlow benchmark — ${new Date().toISOString()}, ${availableParallelism()} cores, Node ${process.version}, wrk ${connections} connections, ${seconds} s per scenario`)
  const dataDir = mkdtempSync(join(work, 'data-'))
  const embedded = await benchmark('embedded', { DATA_DIR: dataDir })
  print('embedded (PGlite + in-process store)', embedded.rows, embedded.hashMs)
  if (process.env.DATABASE_URL && process.env.REDIS_URL) {
    const services = await withServices(env => benchmark('services', env))
    print('PostgreSQL + Redis', services.rows, services.hashMs)
  }
} finally {
  rmSync(work, { recursive: true, force: true })
}

#!/usr/bin/env node
// Runs every test twice: on the embedded default (PGlite + in-process cache), and again on the real
// PostgreSQL and Redis named by DATABASE_URL and REDIS_URL. The second run creates a database and a
// Redis key prefix of its own and removes both afterwards, so concurrent runs never see each other.
// If DATABASE_URL/REDIS_URL are set but unreachable, this fails: it never skips silently.
// A full run (no file filter) also gates coverage: V8 coverage of every test process (and the servers
// they start) is merged by c8 and checked against the thresholds in .c8rc.json (lines and branches of
// src/) when both paths run, as in CI; TEST_COVERAGE=off skips it, TEST_COVERAGE=on reports a filtered run.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { register } from 'tsx/esm/api'

const root = new URL('..', import.meta.url).pathname
const filter = process.argv.slice(2)
const files = ['src', 'test']
  .flatMap(dir => readdirSync(join(root, dir), { recursive: true }).map(f => join(dir, String(f))))
  .filter(f => f.endsWith('.test.ts'))
  .filter(f => filter.length === 0 || filter.some(x => f.includes(x)))
  .sort()
if (files.length === 0) {
  console.error('no test files found')
  process.exit(1)
}

function runSuite (label, env) {
  console.log(`\n=== ${label}: ${files.length} test files ===`)
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=120000', ...files], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', NODE_ENV: 'test', ...(coverageDir ? { NODE_V8_COVERAGE: coverageDir } : {}), ...env }
    })
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)))
  })
}

/** A migrated PGlite, dumped once, so each test process starts in under a second instead of several. */
async function pgliteSnapshot (dir) {
  register()
  const { createDb } = await import('../src/core/db.ts')
  const { runMigrations } = await import('../src/core/migrate.ts')
  const database = await createDb({})
  await runMigrations(database)
  const client = database.db.$client
  const dump = await client.dumpDataDir('none')
  const file = join(dir, 'pglite.tar')
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()))
  await database.close()
  return file
}

async function withServices (run) {
  const { DATABASE_URL: dbUrl, REDIS_URL: redisUrl } = process.env
  if (!dbUrl || !redisUrl) throw new Error('both DATABASE_URL and REDIS_URL are needed for the services run')
  const pg = (await import('pg')).default
  const { Redis } = await import('ioredis')
  const suffix = randomBytes(6).toString('hex')
  const dbName = `taskflow_test_${suffix}`
  const prefix = `tft:${suffix}:`

  const admin = new pg.Client({ connectionString: dbUrl, connectionTimeoutMillis: 5000 })
  await admin.connect().catch(err => { throw new Error(`PostgreSQL at DATABASE_URL is unreachable: ${err.message}`) })
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: () => null })
  redis.on('error', () => {})
  try {
    await redis.connect()
    await redis.ping()
  } catch (err) {
    await admin.end()
    throw new Error(`Redis at REDIS_URL is unreachable: ${err.message}`)
  }
  try {
    return await run({ TEST_ADMIN_DATABASE_URL: dbUrl, TEST_DATABASE_PREFIX: dbName, TEST_REDIS_URL: redisUrl, TEST_REDIS_PREFIX: prefix })
  } finally {
    // Each test process drops its own database; this removes any a crashed process left behind.
    const { rows } = await admin.query('select datname from pg_database where datname like $1', [`${dbName}%`])
    for (const { datname } of rows) {
      await admin.query(`drop database if exists ${datname} with (force)`).catch(err => console.error(`could not drop ${datname}: ${err.message}`))
    }
    await admin.end()
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length) await redis.del(...keys)
    } while (cursor !== '0')
    redis.disconnect()
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'taskflow-test-'))
const coverageWanted = process.env.TEST_COVERAGE === 'on' || (filter.length === 0 && process.env.TEST_COVERAGE !== 'off')
const coverageDir = coverageWanted ? join(tmp, 'coverage') : undefined
// The thresholds are for the whole suite on both paths (what CI runs); other runs only report.
const enforceCoverage = filter.length === 0 && Boolean(process.env.DATABASE_URL || process.env.REDIS_URL)

/** c8 over the merged coverage of both runs, with .c8rc.json's thresholds; resolves to its exit code. */
function coverageGate () {
  console.log('\n=== coverage (c8, thresholds in .c8rc.json) ===')
  return new Promise((resolve) => {
    const args = ['report', '--temp-directory', coverageDir, ...(enforceCoverage ? [] : ['--check-coverage=false'])]
    if (!enforceCoverage) console.log('(reported only: the gate applies to the full run on both paths)')
    const child = spawn(process.execPath, [join(root, 'node_modules/c8/bin/c8.js'), ...args], { cwd: root, stdio: 'inherit' })
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)))
  })
}

let failed = false
try {
  const snapshot = await pgliteSnapshot(tmp)
  failed = (await runSuite('embedded (PGlite + in-process store)', { TEST_PGLITE_SNAPSHOT: snapshot, TEST_DATA_ROOT: tmp })) !== 0 || failed
  if (process.env.DATABASE_URL || process.env.REDIS_URL) {
    const code = await withServices(env => runSuite('PostgreSQL + Redis', { ...env, TEST_DATA_ROOT: tmp }))
    failed = code !== 0 || failed
  } else {
    console.log('\nDATABASE_URL and REDIS_URL are not set: the PostgreSQL + Redis run was not requested.')
  }
  if (coverageDir) failed = (await coverageGate()) !== 0 || failed
} catch (err) {
  console.error(`\ntest run failed: ${err.message}`)
  failed = true
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)

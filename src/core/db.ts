import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { sql, type SQL } from 'drizzle-orm'
import pg from 'pg'
import * as schema from '../db-schema.js'
import { lockDataDir } from './data-dir-lock.js'

/** The typed Drizzle handle, over PGlite or node-postgres alike. A transaction is one too. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>

/** An open database: the Drizzle handle, a liveness ping for /readyz and close(). */
export interface Database {
  readonly db: Db
  readonly kind: 'pglite' | 'postgres'
  ping: () => Promise<void>
  close: () => Promise<void>
}

/** `url` (PostgreSQL) wins; otherwise an embedded PGlite in `dataDir` (or in memory when absent). `poolSize` in connections. */
export interface DbOptions {
  url?: string | undefined
  /** A directory for PGlite, or undefined for an in-memory PGlite (tests). */
  dataDir?: string | undefined
  poolSize?: number
  /** A PGlite data-dir dump to start from (tests: skips initdb, several times faster). */
  loadDataDir?: Blob | undefined
}

/**
 * PostgreSQL settings for the embedded database, added to PGlite's own start parameters on every
 * start. PGlite keeps PostgreSQL's shared memory inside its WebAssembly heap and touches all of it
 * at start, and a WebAssembly memory never shrinks: PostgreSQL's default shared_buffers (128 MB)
 * was 120 MB of the embedded server's resident memory from its first second. 16 MB holds the hot
 * pages of a zero-setup database many times over; a page it misses is a read from the operating
 * system's file cache. See docs/benchmarks.md, Memory.
 */
export const PGLITE_SETTINGS = ['shared_buffers=16MB'] as const

/**
 * V8 compiles PGlite's WebAssembly (PostgreSQL, 9 MB) with its baseline compiler, Liftoff, and by
 * default recompiles the busiest functions with TurboFan in background threads. Those
 * recompilations peak at ~90 MB of compiler memory that the C heap keeps afterwards: 50-90 MB of the
 * embedded server's RSS, at a time that varied from run to run. Liftoff's code is slower: the embedded
 * server spends 6-14% more CPU per request and serves 6-18% fewer requests per second (S1-S4 in
 * alternating runs; docs/benchmarks.md, Memory). The embedded path is for zero-setup use; a server
 * that needs throughput runs on PostgreSQL. Process-wide, so set on the embedded path only,
 * before PGlite compiles (the other WebAssembly in Node is undici's small HTTP parser). Node keeps
 * V8's flags writable after start (v8.setFlagsFromString).
 */
function useLiftoffOnly (): void {
  setFlagsFromString('--liftoff-only')
}

/**
 * Runs PGlite's initdb for `dataDir` in a child process (pglite-initdb.js) and waits for it: its
 * transient memory then leaves with that process instead of staying in the server's heap. Throws
 * an Error carrying the child's stderr when it fails.
 */
async function initDataDir (dataDir: string, startParams: readonly string[]): Promise<void> {
  const script = fileURLToPath(new URL('./pglite-initdb.js', import.meta.url))
  // Liftoff only there too (see useLiftoffOnly): initdb's peak 740 → 670 MB, and 6 → 4 s.
  const child = spawn(process.execPath, ['--liftoff-only', script, dataDir, JSON.stringify(startParams)], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  if (code !== 0) throw new Error(`cannot initialise the embedded database in ${dataDir}: ${stderr.trim() || `initdb exited with ${code}`}`)
}

/** Opens the database named by `options` (node-postgres pool or PGlite). Throws when PostgreSQL is unreachable or the data directory is locked (DataDirLockedError). */
export async function createDb (options: DbOptions): Promise<Database> {
  if (options.url) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30_000,
      application_name: 'taskflow'
    })
    // An idle client that loses its connection emits here; without a listener the process would crash.
    pool.on('error', () => {})
    const db = drizzlePg(pool, { schema }) as unknown as Db
    return {
      db,
      kind: 'postgres',
      ping: async () => { await pool.query('select 1') },
      close: async () => { await pool.end() }
    }
  }
  const release = options.dataDir ? lockDataDir(options.dataDir) : () => {}
  try {
    useLiftoffOnly()
    // Loaded only on the embedded path: a server on PostgreSQL never loads PGlite.
    const [{ PGlite }, { pg_trgm: pgTrgm }, { drizzle: drizzlePglite }] = await Promise.all([
      import('@electric-sql/pglite'), import('@electric-sql/pglite/contrib/pg_trgm'), import('drizzle-orm/pglite')
    ])
    const startParams = [...PGlite.defaultStartParams, ...PGLITE_SETTINGS.flatMap(setting => ['-c', setting])]
    if (options.dataDir && !options.loadDataDir && !existsSync(join(options.dataDir, 'PG_VERSION'))) await initDataDir(options.dataDir, startParams)
    const client = await PGlite.create({ dataDir: options.dataDir, loadDataDir: options.loadDataDir, extensions: { pg_trgm: pgTrgm }, startParams })
    const db = drizzlePglite(client, { schema }) as unknown as Db
    return {
      db,
      kind: 'pglite',
      ping: async () => { await db.execute(sql`select 1`) },
      close: async () => {
        try { await client.close() } finally { release() }
      }
    }
  } catch (err) {
    release()
    throw err
  }
}

const preparedByDb = new WeakMap<Db, Map<string, unknown>>()

/**
 * A Drizzle prepared statement for `db`, built on first use and kept: a hot query then skips Drizzle's
 * query building (measured at ~14% of an authenticated read's CPU) and, on PostgreSQL, runs as a
 * named server-side statement. `name` must be unique per query text.
 */
export function prepared<T> (db: Db, name: string, build: (db: Db, name: string) => T): T {
  let statements = preparedByDb.get(db)
  if (!statements) preparedByDb.set(db, statements = new Map())
  let statement = statements.get(name) as T | undefined
  if (statement === undefined) statements.set(name, statement = build(db, name))
  return statement
}

/** A statement made by preparedSql: runs with positional values ($1…$n) and resolves to its rows. */
export type PreparedSql<T> = (values: readonly unknown[]) => Promise<T[]>

/**
 * A hand-written SQL statement (`text`, with $1…$n placeholders) for a hot path the query builder
 * cannot say in one statement: on PostgreSQL a named server-side prepared statement (parsed and
 * planned once per connection: PostgreSQL's extended query protocol), on PGlite an ordinary
 * parameterised query. Rows come with the driver's own types (timestamptz → Date, arrays → arrays).
 * `db` must be the root handle (not a transaction); `name` unique per text. Rejects with the driver's
 * error (a pg DatabaseError carries the SQLSTATE) when the statement fails.
 */
export function preparedSql<T> (db: Db, name: string, text: string): PreparedSql<T> {
  const client = (db as unknown as { $client: unknown }).$client
  if (client instanceof pg.Pool) {
    return async (values) => (await client.query({ name, text, values: [...values] })).rows as T[]
  }
  const pglite = client as { query: (text: string, values: unknown[]) => Promise<{ rows: T[] }> }
  return async (values) => (await pglite.query(text, [...values])).rows
}

/** Runs a raw SQL statement (for what the query builder cannot say) and returns its rows, on either driver. */
export async function rawRows<T> (db: Db, statement: SQL): Promise<T[]> {
  const result = await db.execute(statement) as unknown as { rows: T[] }
  return result.rows
}

/** The Postgres error code (e.g. 23505 unique_violation) behind a driver or Drizzle error, if any. */
export function pgErrorCode (err: unknown): string | undefined {
  let current: unknown = err
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

/** The constraint a unique violation names, if the driver reports it. */
export function pgConstraint (err: unknown): string | undefined {
  let current: unknown = err
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const c = (current as { constraint?: unknown }).constraint
    if (typeof c === 'string') return c
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

/** True when an error means the database cannot be reached or is shutting down (answer 503, not 500). */
export function isDbUnavailable (err: unknown): boolean {
  const code = pgErrorCode(err)
  if (code && (code.startsWith('08') || code.startsWith('57P') || code === '53300')) return true
  let current: unknown = err
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const c = (current as { code?: unknown }).code
    if (c === 'ECONNREFUSED' || c === 'ECONNRESET' || c === 'ETIMEDOUT' || c === 'EPIPE') return true
    const message = String((current as { message?: unknown }).message ?? '')
    if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|PGlite is closed/i.test(message)) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}

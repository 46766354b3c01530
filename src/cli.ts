import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { CliInputError, createAdmin } from './cli/create-admin.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { systemClock } from './core/clock.js'
import { DataDirLockedError } from './core/data-dir-lock.js'
import { createDb } from './core/db.js'
import { runMigrations } from './core/migrate.js'
import { startServer } from './server.js'

const USAGE = `Usage:
  taskflow serve [--workers N]     start the server (N > 1 needs DATABASE_URL and REDIS_URL; 0 = one per core)
  taskflow migrate                 apply database migrations
  taskflow create-admin --email E --password P [--username U]
                                   create an admin, or promote the existing user with that email`

/**
 * Reads `./.env` into process.env (Node's own parser, process.loadEnvFile); variables already set
 * win. A missing file is fine; any other read error is reported.
 */
function loadDotEnv (): void {
  try {
    process.loadEnvFile()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') fail(`cannot read .env: ${(err as Error).message}`)
  }
}

function fail (message: string, code = 1): never {
  process.stderr.write(`taskflow: ${message}\n`)
  process.exit(code)
}

async function withDb<T> (config: Config, job: (db: Awaited<ReturnType<typeof createDb>>) => Promise<T>): Promise<T> {
  const database = await createDb({ url: config.db.url, dataDir: config.db.dataDir, poolSize: 2 })
  try {
    await runMigrations(database)
    return await job(database)
  } finally {
    await database.close()
  }
}

async function serve (config: Config, workersArg: string | undefined): Promise<void> {
  const workers = workersArg === undefined ? 1 : Number(workersArg)
  if (!Number.isInteger(workers) || workers < 0 || workers > 256) fail('--workers must be a whole number (0 = one per core)', 2)
  const count = workers === 0 ? availableParallelism() : workers
  if (count > 1 && (!config.db.url || !config.redis.url)) {
    fail('--workers above 1 needs DATABASE_URL and REDIS_URL: the embedded database and in-process store belong to one process', 2)
  }
  if (count > 1 && cluster.isPrimary) {
    let stopping = false
    for (let i = 0; i < count; i++) cluster.fork()
    cluster.on('exit', (worker, code, signal) => {
      if (stopping) return
      process.stderr.write(`taskflow: worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`)
      setTimeout(() => cluster.fork(), 500).unref()
    })
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        stopping = true
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM')
      })
    }
    return
  }
  const server = await startServer(config)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      server.app.log.info({ signal }, 'shutting down: draining in-flight requests')
      server.close().then(() => process.exit(0), (err: unknown) => {
        server.app.log.error({ err }, 'shutdown failed')
        process.exit(1)
      })
    })
  }
}

async function main (argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  if (!command || command === '--help' || command === 'help') {
    process.stdout.write(`${USAGE}\n`)
    if (!command) process.exitCode = 2
    return
  }
  loadDotEnv()
  let config: Config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) fail(`configuration error: ${err.message}`, 2)
    throw err
  }
  switch (command) {
    case 'serve': {
      const { values } = parseArgs({ args: rest, options: { workers: { type: 'string' } } })
      return serve(config, values.workers)
    }
    case 'migrate':
      await withDb(config, async () => {})
      process.stdout.write('migrations applied\n')
      return
    case 'create-admin': {
      const { values } = parseArgs({ args: rest, options: { email: { type: 'string' }, password: { type: 'string' }, username: { type: 'string' } } })
      if (!values.email || !values.password) fail(`create-admin needs --email and --password\n${USAGE}`, 2)
      const result = await withDb(config, ({ db }) => createAdmin({ db, clock: systemClock, config }, { email: values.email ?? '', password: values.password ?? '', username: values.username }))
      process.stdout.write(result.created ? `created admin ${values.email} (${result.id})\n` : `promoted existing user ${values.email} (${result.id}) to admin; password unchanged\n`)
      return
    }
    default:
      fail(`unknown command "${command}"\n${USAGE}`, 2)
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof DataDirLockedError || err instanceof CliInputError) fail(err.message)
  if (err instanceof Error && 'code' in err && err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') fail(`${err.message}\n${USAGE}`, 2)
  process.stderr.write(`taskflow: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})

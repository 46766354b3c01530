import { fileURLToPath } from 'node:url'
import { sql } from 'drizzle-orm'
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator'
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator'
import type { NodePgDatabase } from 'drizzle-orm/node-postgres'
import type { PgliteDatabase } from 'drizzle-orm/pglite'
import type { Database } from './db.js'

const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url))
/** Any constant: serialises migrations between instances that start together on one PostgreSQL. */
const MIGRATION_LOCK = 727_401

/** Applies the committed SQL migrations in drizzle/; used by `serve`, `migrate` and the tests. */
export async function runMigrations (database: Database): Promise<void> {
  if (database.kind === 'pglite') {
    await migratePglite(database.db as unknown as PgliteDatabase, { migrationsFolder })
    return
  }
  await database.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${MIGRATION_LOCK})`)
    await migratePg(tx as unknown as NodePgDatabase, { migrationsFolder })
  })
}

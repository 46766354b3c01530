import { sql } from 'drizzle-orm'
import { rawRows, type Db } from './db.js'

/**
 * PostgreSQL advisory lock keys (any constants, one per job), so that work meant for one instance at
 * a time runs on one instance at a time. The migration lock (727_401) lives in migrate.ts.
 */
export const LOCKS = {
  signingKeys: 727_402,
  cleanup: 727_403,
  auditChain: 727_404
} as const

/**
 * Takes a transaction-level advisory lock if no one else holds it, without waiting; it is released
 * when `tx` ends. Returns false when another instance holds it (then skip the work this time).
 */
export async function tryXactLock (tx: Db, key: number): Promise<boolean> {
  const [row] = await rawRows<{ locked: boolean }>(tx, sql`select pg_try_advisory_xact_lock(${key}) as locked`)
  return row?.locked === true
}

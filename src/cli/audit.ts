import type { Clock } from '../core/clock.js'
import type { Db } from '../core/db.js'
import type { Config } from '../config.js'
import { CliInputError } from './create-admin.js'

/** `taskflow audit verify` (filled in with the audit chain). */
export async function auditCommand (_deps: { db: Db, clock: Clock, config: Config }, args: readonly string[]): Promise<{ ok: boolean, message: string }> {
  if (args[0] !== 'verify' || args.length > 1) throw new CliInputError('usage: taskflow audit verify')
  return { ok: false, message: 'not implemented' }
}

import type { Clock } from '../core/clock.js'
import type { Db } from '../core/db.js'
import type { Config } from '../config.js'
import { createAuditChain } from '../modules/audit/index.js'
import { CliInputError } from './create-admin.js'

/**
 * `taskflow audit verify`: seals pending events, then checks the hash chain. ok → "N events
 * checked"; otherwise the first changed, inserted or removed event (the caller exits non-zero).
 */
export async function auditCommand (deps: { db: Db, clock: Clock, config: Config }, args: readonly string[]): Promise<{ ok: boolean, message: string }> {
  if (args[0] !== 'verify' || args.length > 1) throw new CliInputError('usage: taskflow audit verify')
  const chain = createAuditChain({ db: deps.db })
  await chain.seal()
  const result = await chain.verify()
  if (result.ok) return { ok: true, message: `audit log intact: ${result.checked} events checked` }
  const which = result.first_invalid_id ? `first bad event: ${result.first_invalid_id}` : 'no event to name'
  return { ok: false, message: `audit log broken after ${result.checked} good events; ${which} (${result.reason ?? 'unknown'})` }
}

import type { Clock } from '../core/clock.js'
import type { Db } from '../core/db.js'
import type { Config } from '../config.js'
import { loadEncryption } from '../core/encryption.js'
import { createSigningKeys, KeyNotFoundError, type KeyInfo } from '../modules/auth/index.js'
import { CliInputError } from './create-admin.js'

const iso = (date: Date | null) => (date ? date.toISOString() : '-')

/** One line per key: kid, state, created, signing since (API.md "Command line"). */
export function formatKeys (keys: readonly KeyInfo[]): string {
  const rows = [['KID', 'STATE', 'CREATED', 'SIGNING SINCE', 'RETIRED', 'REVOKED'],
    ...keys.map(k => [k.kid, k.state, iso(k.created_at), iso(k.signs_from), iso(k.retired_at), iso(k.revoked_at)])]
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map(r => (r[i] ?? '').length))) ?? []
  return rows.map(r => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n')
}

/**
 * `taskflow keys list | rotate | revoke KID`: the EdDSA signing keys. Returns the text to print;
 * throws CliInputError for a wrong use (HS256 configured, unknown sub-command or kid). New keys are
 * sealed with the data key the server uses (loadEncryption: DATA_ENCRYPTION_KEY, or outside
 * production the generated key kept in the database); the server's start-up warns when that is
 * generated, so the command stays quiet about it.
 */
export async function keysCommand (deps: { db: Db, clock: Clock, config: Config }, args: readonly string[]): Promise<string> {
  if (deps.config.auth.alg !== 'EdDSA') throw new CliInputError('signing keys exist only with JWT_ALG=EdDSA (HS256 uses JWT_SECRET and JWT_SECRET_PREVIOUS)')
  const quiet = { warn: () => {}, info: () => {} }
  const encryption = await loadEncryption({ db: deps.db, clock: deps.clock, key: deps.config.encryption.key, production: deps.config.production, log: quiet })
  const keys = createSigningKeys({ db: deps.db, clock: deps.clock, accessTtl: deps.config.auth.accessTtl, rotationDays: deps.config.auth.keyRotationDays, encryption })
  const [sub, kid, ...extra] = args
  if (extra.length > 0) throw new CliInputError(`unexpected arguments: ${extra.join(' ')}`)
  switch (sub) {
    case 'list':
      await keys.maintain()
      return formatKeys(await keys.list())
    case 'rotate': {
      await keys.maintain()
      const next = await keys.rotate()
      return `published ${next.kid}; it signs from ${next.signs_from.toISOString()}`
    }
    case 'revoke': {
      if (!kid) throw new CliInputError('keys revoke needs a KID (see taskflow keys list)')
      try {
        const result = await keys.revoke(kid)
        return `revoked ${result.kid}; every instance refuses its tokens within 60 s; ${result.signing} signs now`
      } catch (err) {
        if (err instanceof KeyNotFoundError) throw new CliInputError(err.message)
        throw err
      }
    }
    default:
      throw new CliInputError('usage: taskflow keys list | rotate | revoke KID')
  }
}

import { sql } from 'drizzle-orm'
import { rawRows, type Db } from '../../core/db.js'
import type { CleanupRule } from '../../jobs/cleanup.js'
import { mfaChallengesTable, mfaTotpTable } from './mfa.table.js'

const count = async (tx: Db, statement: ReturnType<typeof sql>) => (await rawRows<{ n: number }>(tx, statement))[0]?.n ?? 0

/**
 * The MFA rows the retention clean-up removes (API.md "Signing keys, retention and audit integrity":
 * used or expired MFA tokens), in batches of at most `limit`:
 * - `mfa_challenges`: a login's `mfa_token` once used or past its 300 s (either way it can never be
 *   redeemed again, so the row only keeps a token hash and a user id around);
 * - `mfa_totp`: a pending set-up past its 600 s (activation already refuses it; an active factor is
 *   never touched).
 * Recovery codes are not here: at most 10 per account, replaced as a set on regeneration.
 */
export function mfaCleanupRules (): CleanupRule[] {
  const c = mfaChallengesTable
  const t = mfaTotpTable
  return [
    {
      table: 'mfa_challenges',
      deleteBatch: (tx, now, limit) => count(tx, sql`
        with doomed as (
          select ${c.id} as id from ${c} where ${c.used_at} is not null or ${c.expires_at} <= ${now} limit ${limit}
        ), deleted as (delete from ${c} where ${c.id} in (select id from doomed) returning 1)
        select count(*)::int as n from deleted`)
    },
    {
      table: 'mfa_totp',
      deleteBatch: (tx, now, limit) => count(tx, sql`
        with doomed as (
          select ${t.user_id} as user_id from ${t} where ${t.status} = 'pending' and ${t.pending_expires_at} <= ${now} limit ${limit}
        ), deleted as (delete from ${t} where ${t.user_id} in (select user_id from doomed) and ${t.status} = 'pending' returning 1)
        select count(*)::int as n from deleted`)
    }
  ]
}

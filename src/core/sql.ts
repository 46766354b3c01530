import { sql, type SQL } from 'drizzle-orm'
import type { PgColumn } from 'drizzle-orm/pg-core'

/** An ILIKE pattern for a substring search in which `%`, `_` and `\` are literal characters. */
export const likePattern = (q: string): string => `%${q.replace(/[\\%_]/g, '\\$&')}%`

/**
 * `<column> in ('a', 'b', …)` for a table's check constraint, from the same `as const` array the
 * TypeBox schema's enum is built from (core/schemas.ts `StringEnum`). The values are our own
 * constants (never input), quoted as SQL string literals.
 */
export function sqlIn (column: PgColumn, values: readonly string[]): SQL {
  return sql`${column} in (${sql.raw(values.map(v => `'${v.replaceAll("'", "''")}'`).join(', '))})`
}

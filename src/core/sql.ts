import { sql, type SQL } from 'drizzle-orm'
import { customType, type PgColumn } from 'drizzle-orm/pg-core'

/** An ILIKE pattern for a substring search in which `%`, `_` and `\` are literal characters. */
export const likePattern = (q: string): string => `%${q.replace(/[\\%_]/g, '\\$&')}%`

const PG_TIMESTAMPTZ = /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?|Z)?$/

/**
 * Reads PostgreSQL's ISO output of a `timestamptz` (`0001-01-01 00:00:00+00`, offsets of hours,
 * minutes and seconds). `new Date(text)` cannot: V8 reads years 0–99 as 1900–1999. Throws on any
 * other shape (e.g. ` BC` dates, which validation never lets in).
 */
export function parsePgTimestamptz (text: string): Date {
  const m = PG_TIMESTAMPTZ.exec(text)
  if (!m) throw new Error('unexpected timestamptz text from the database')
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(hour, minute, second, Number((m[7] ?? '.').slice(1).padEnd(3, '0').slice(0, 3)))
  const sign = m[8] === '-' ? -1 : 1
  const offsetSeconds = Number(m[9] ?? 0) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0)
  return new Date(date.getTime() - sign * offsetSeconds * 1000)
}

/**
 * `timestamp with time zone` as a `Date`, for columns that hold client-given instants (any year
 * 0001–9999, API.md Conventions): written as ISO 8601 UTC, read with parsePgTimestamptz rather than
 * Drizzle's `new Date(text)`, which turns year 0001 into 2001.
 */
export const timestamptz = customType<{ data: Date, driverData: string | Date }>({
  dataType: () => 'timestamp with time zone',
  toDriver: (value) => value.toISOString(),
  fromDriver: (value) => (value instanceof Date ? value : parsePgTimestamptz(value))
})

/**
 * `<column> in ('a', 'b', …)` for a table's check constraint, from the same `as const` array the
 * TypeBox schema's enum is built from (core/schemas.ts `StringEnum`). The values are our own
 * constants (never input), quoted as SQL string literals.
 */
export function sqlIn (column: PgColumn, values: readonly string[]): SQL {
  return sql`${column} in (${sql.raw(values.map(v => `'${v.replaceAll("'", "''")}'`).join(', '))})`
}

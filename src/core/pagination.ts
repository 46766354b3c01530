import { ValidationError } from './errors.js'

/** An opaque cursor: base64url JSON of the last row's sort position. Its shape is checked on the way back in. */
export function encodeCursor (position: unknown[]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url')
}

/** The position array inside a cursor. Throws ValidationError (400) when it is not base64url JSON of an array. */
export function decodeCursor (cursor: string): unknown[] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(value)) return value
  } catch {}
  throw invalidCursor()
}

/** The 400 for a cursor that does not decode to a position of this list. */
export function invalidCursor (): ValidationError {
  return new ValidationError('cursor is invalid or belongs to another query', [{ field: 'cursor', message: 'is invalid' }])
}

/** A page as services return it (the `Page(T)` schema in core/schemas.ts). */
export interface Page<T> { data: T[], next_cursor: string | null }

/** The id in a cursor of a list ordered by (time-ordered) id; undefined for the first page. */
export function idFromCursor (cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined
  const [id] = decodeCursor(cursor)
  if (typeof id !== 'string' || !/^[0-9a-f-]{36}$/i.test(id)) throw invalidCursor()
  return id
}

/** A page from `limit + 1` rows ordered by id: the extra row only says whether there is a next page. */
export function pageById<T extends { id: string }> (rows: T[], limit: number): Page<T> {
  const data = rows.slice(0, limit)
  const last = data.at(-1)
  return { data, next_cursor: rows.length > limit && last ? encodeCursor([last.id]) : null }
}

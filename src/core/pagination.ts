import { createHmac, timingSafeEqual } from 'node:crypto'
import { ValidationError } from './errors.js'

/**
 * What a cursor is bound to: the list (`list`, e.g. `tasks`) and every filter and sort of the query
 * that issued it. A cursor opens only under the same scope; `limit` is not part of it (a client may
 * change the page size between pages). Undefined values count as absent.
 */
export type CursorScope = { list: string } & Record<string, string | number | boolean | null | undefined>

/** Seals and opens pagination cursors; see {@link createCursors}. */
export interface Cursors {
  /** The opaque cursor for `position` (JSON values: the last row's sort key and id) under `scope`. */
  seal: (scope: CursorScope, position: unknown[]) => string
  /**
   * The position sealed in `cursor`. Throws ValidationError `invalid_cursor` (400) when the cursor was
   * not issued by this server for exactly this scope: edited, made by hand, or taken from another list.
   */
  open: (scope: CursorScope, cursor: string) => unknown[]
}

const MAC_BYTES = 16

function canonicalScope (scope: CursorScope): string {
  return JSON.stringify(Object.keys(scope).sort().filter(k => scope[k] !== undefined).map(k => [k, scope[k]]))
}

/**
 * Cursors authenticated with HMAC-SHA-256 (RFC 2104) under a server key, truncated to 128 bits
 * (RFC 2104 §5 allows truncation to half the output): base64url(mac ‖ JSON position). The MAC covers
 * the scope too, so a cursor cannot be edited, forged, or replayed against another list, filter or
 * sort. `key` must be the same on every instance sharing a database (see loadServerSecret).
 */
export function createCursors (key: Uint8Array): Cursors {
  const mac = (scope: CursorScope, payload: Buffer) =>
    createHmac('sha256', key).update('taskflow-cursor-v1\0').update(canonicalScope(scope)).update('\0').update(payload).digest().subarray(0, MAC_BYTES)
  return {
    seal (scope, position) {
      const payload = Buffer.from(JSON.stringify(position), 'utf8')
      return Buffer.concat([mac(scope, payload), payload]).toString('base64url')
    },
    open (scope, cursor) {
      const raw = Buffer.from(cursor, 'base64url')
      // base64url decoding ignores stray characters: only the canonical form of the bytes is accepted.
      if (raw.length <= MAC_BYTES || raw.toString('base64url') !== cursor) throw invalidCursor()
      const payload = raw.subarray(MAC_BYTES)
      if (!timingSafeEqual(raw.subarray(0, MAC_BYTES), mac(scope, payload))) throw invalidCursor()
      try {
        const value: unknown = JSON.parse(payload.toString('utf8'))
        if (Array.isArray(value)) return value
      } catch {}
      throw invalidCursor()
    }
  }
}

/** 400 `invalid_cursor` (API.md, Conventions), naming the `cursor` field. */
export function invalidCursor (): ValidationError {
  return new ValidationError('cursor was not issued for this list, filter and sort', [{ field: 'cursor', message: 'is invalid' }], 'invalid_cursor')
}

/** A page as services return it (the `Page(T)` schema in core/schemas.ts). */
export interface Page<T> { data: T[], next_cursor: string | null }

/** The id in a cursor of a list ordered by (time-ordered) id; undefined for the first page. Throws as `open`. */
export function idFromCursor (cursors: Cursors, scope: CursorScope, cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined
  const [id] = cursors.open(scope, cursor)
  if (typeof id !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw invalidCursor()
  return id
}

/** A page from `limit + 1` rows ordered by id: the extra row only says whether there is a next page. */
export function pageById<T extends { id: string }> (rows: T[], limit: number, cursors: Cursors, scope: CursorScope): Page<T> {
  const data = rows.slice(0, limit)
  const last = data.at(-1)
  return { data, next_cursor: rows.length > limit && last ? cursors.seal(scope, [last.id]) : null }
}

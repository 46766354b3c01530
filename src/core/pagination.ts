import Type from 'typebox'
import { ValidationError } from './errors.js'

export const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Page size (1–100, default 50)' })
export const Cursor = Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$', description: 'Opaque cursor from next_cursor' })

/** An opaque cursor: base64url JSON of the last row's sort position. Its shape is checked on the way back in. */
export function encodeCursor (position: unknown[]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url')
}

export function decodeCursor (cursor: string): unknown[] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(value)) return value
  } catch {}
  throw invalidCursor()
}

export function invalidCursor (): ValidationError {
  return new ValidationError('cursor is invalid or belongs to another query', [{ field: 'cursor', message: 'is invalid' }])
}

export interface Page<T> { data: T[], next_cursor: string | null }

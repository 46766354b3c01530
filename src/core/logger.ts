import type { FastifyServerOptions } from 'fastify'

/** Anything that may carry a secret, wherever it sits in a log object. */
export const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
  'headers.authorization', 'headers.cookie',
  '*.password', '*.current_password', '*.new_password', '*.refresh_token', '*.access_token', '*.token', '*.secret',
  '*.password_hash', 'password', 'refresh_token', 'access_token', 'token',
  '*.params', '*.parameters', 'params', 'parameters'
]

// A type alias, not an interface: pino's serializer type wants an index signature.
/** What a logged error becomes: never its SQL parameters, nor a message or field that may quote them. */
export type LoggedError = {
  type: string
  message: string
  /** The frames only, under a first line rebuilt from `type` and the logged message. */
  stack: string
  code?: string
  /** Schema names a database error reports (never values). */
  constraint?: string
  table?: string
  column?: string
  routine?: string
  /** The SQL text with its `$n` placeholders (at most 2,000 characters). */
  query?: string
  cause?: LoggedError
}

const SQLSTATE = /^[0-9A-Z]{5}$/
const MAX_QUERY = 2000
const MAX_DEPTH = 5

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

/**
 * A database error (Drizzle's DrizzleQueryError, a pg or PGlite DatabaseError): its message may quote
 * a parameter (`Failed query … params: …`, `invalid input syntax for type integer: "…"`) and its
 * `detail` a stored value (`Key (email)=(…) already exists`), so neither is logged.
 */
function isDatabaseError (err: Record<string, unknown>): boolean {
  return 'params' in err || 'query' in err || 'severity' in err || (typeof err.code === 'string' && SQLSTATE.test(err.code))
}

/**
 * pino's `err` serializer (replaces pino-std-serializers'): an allow-list of fields, so an error can
 * never log SQL parameters, row values, hashes or tokens (OWASP ASVS 5.0 16.2.5; SECURITY.md). Database
 * errors keep their SQLSTATE, the constraint, table, column and the SQL text with its `$n`
 * placeholders, not their message; other errors keep message and stack. Follows `cause` 5 deep.
 */
export function serializeError (value: unknown, depth = 0): LoggedError {
  if (value === null || typeof value !== 'object') return { type: typeof value, message: String(value).slice(0, 200), stack: '' }
  const err = value as Record<string, unknown>
  const type = text(err.name) ?? text(value.constructor?.name) ?? 'Error'
  const code = text(err.code)
  const database = isDatabaseError(err)
  const message = database ? `database error${code ? ` ${code}` : ''}` : text(err.message) ?? ''
  // The stack's first lines repeat the message: keep only the frames.
  const frames = (text(err.stack) ?? '').split('\n').filter(line => /^\s+at /.test(line))
  const out: LoggedError = { type, message, stack: [`${type}: ${message}`, ...frames].join('\n') }
  if (code) out.code = code
  if (database) {
    for (const key of ['constraint', 'table', 'column', 'routine'] as const) {
      const v = text(err[key])
      if (v) out[key] = v
    }
    const query = text(err.query)
    if (query) out.query = query.slice(0, MAX_QUERY)
  }
  if (err.cause !== undefined && depth < MAX_DEPTH) out.cause = serializeError(err.cause, depth + 1)
  return out
}

/** pino options at `level`, with REDACT_PATHS censored (authorization and cookie headers, passwords, hashes, tokens, secrets, SQL parameters) and errors through serializeError. */
export function loggerOptions (level: string): Exclude<FastifyServerOptions['logger'], boolean | undefined> {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: serializeError, error: serializeError },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) }
  }
}

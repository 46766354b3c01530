import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify'
type Bindings = Parameters<FastifyBaseLogger['child']>[0]

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

type LevelName = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1]

/** pino's `isLevelEnabled`; a logger without one (not pino) is taken to write every level. */
function enabled (logger: FastifyBaseLogger, level: string): boolean {
  const check = (logger as FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled
  return check === undefined || check.call(logger, level)
}

/**
 * A request's logger that makes its pino child (with the `reqId` binding) only when a line is first
 * written at an enabled level: pino redacts a child's bindings when it is made, which costs more than
 * a small route's own work, and most requests write nothing at levels above `info`.
 * Lines, bindings and redaction are exactly those of `parent.child(bindings, options)`.
 */
class LazyChildLogger {
  #child: FastifyBaseLogger | undefined
  readonly #parent: FastifyBaseLogger
  readonly #bindings: Bindings
  readonly #options: ChildOptions

  constructor (parent: FastifyBaseLogger, bindings: Bindings, options: ChildOptions) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  #real (): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options)
    return this.#child
  }

  #write (level: LevelName, args: unknown[]): void {
    if (!enabled(this.#child ?? this.#parent, level)) return
    const log = this.#real()[level] as (...line: unknown[]) => void
    log.apply(this.#child, args)
  }

  get level (): string { return (this.#child ?? this.#parent).level }
  set level (value: string) { this.#real().level = value }
  isLevelEnabled (level: string): boolean { return enabled(this.#child ?? this.#parent, level) }
  fatal (...args: unknown[]): void { this.#write('fatal', args) }
  error (...args: unknown[]): void { this.#write('error', args) }
  warn (...args: unknown[]): void { this.#write('warn', args) }
  info (...args: unknown[]): void { this.#write('info', args) }
  debug (...args: unknown[]): void { this.#write('debug', args) }
  trace (...args: unknown[]): void { this.#write('trace', args) }
  silent (): void {}
  child (bindings: Bindings, options?: ChildOptions): FastifyBaseLogger { return this.#real().child(bindings, options) }
}

/**
 * Fastify's `childLoggerFactory` (server option): a LazyChildLogger, or pino's own child when the
 * route sets a level or serializers of its own. `parent` is the app's pino logger, `bindings` Fastify's
 * `{ reqId }`; the result is what `request.log` and `reply.log` are.
 */
export function lazyChildLogger (parent: FastifyBaseLogger, bindings: Bindings, options: ChildOptions): FastifyBaseLogger {
  if (options !== undefined && Object.keys(options).length > 0) return parent.child(bindings, options)
  return new LazyChildLogger(parent, bindings, options) as unknown as FastifyBaseLogger
}

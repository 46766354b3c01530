import { Ajv, type ErrorObject, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyInstance } from 'fastify'

/** The first and last instants a timestamp may name (API.md, Conventions), in ms since the epoch. */
export const MIN_TIMESTAMP_MS = Date.parse('0001-01-01T00:00:00.000Z')
export const MAX_TIMESTAMP_MS = Date.parse('9999-12-31T23:59:59.999Z')

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/

/**
 * RFC 3339 §5.6 `date-time`, narrowed to what PostgreSQL `timestamptz` and JavaScript `Date` both hold:
 * a real calendar date, no leap second (`:60`, which `Date` cannot represent), a numeric offset of
 * at most 23:59, and an instant between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z once
 * converted to UTC. `Date.parse` must read it as the same instant, so `new Date(value)` downstream
 * is always valid.
 */
export function isStorableTimestamp (value: string): boolean {
  const m = RFC3339.exec(value)
  if (!m) return false
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeapYear(year) ? 1 : 0)
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return false
  const offsetHours = Number(m[9] ?? 0)
  const offsetMinutes = Number(m[10] ?? 0)
  if (offsetHours > 23 || offsetMinutes > 59) return false
  const local = new Date(0)
  local.setUTCFullYear(year, month - 1, day) // not Date.UTC: it maps years 0–99 to 1900–1999
  local.setUTCHours(hour, minute, second, Number((m[7] ?? '.').slice(1).padEnd(3, '0').slice(0, 3)))
  const sign = m[8] === '-' ? -1 : 1
  const instant = local.getTime() - sign * (offsetHours * 60 + offsetMinutes) * 60_000
  return instant >= MIN_TIMESTAMP_MS && instant <= MAX_TIMESTAMP_MS && Date.parse(value) === instant
}

function isLeapYear (year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
}

/**
 * Where `value` (parsed JSON, a query string or path parameters) holds text PostgreSQL cannot store
 * as given: U+0000, which `text` refuses, or an unpaired UTF-16 surrogate, which no UTF-8 encoding can
 * carry (drivers would silently replace it). Returns an Ajv-style error naming the field, or undefined.
 * Iterative, so a deeply nested body cannot exhaust the stack.
 */
export function findUnstorableText (value: unknown): ErrorObject | undefined {
  const stack: Array<[unknown, string]> = [[value, '']]
  while (stack.length > 0) {
    const [current, path] = stack.pop() as [unknown, string]
    if (typeof current === 'string') {
      const message = textProblem(current)
      if (message) return { instancePath: path, schemaPath: '#/text', keyword: 'text', params: {}, message }
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push([current[i], `${path}/${i}`])
    } else if (current !== null && typeof current === 'object') {
      const entries = Object.entries(current)
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown]
        stack.push([child, `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`])
      }
    }
  }
  return undefined
}

/** In a `u` regex a surrogate pair is one code point: only an unpaired surrogate is category Cs. */
const LONE_SURROGATE = /\p{Cs}/u

/** Why `text` cannot be stored as given, or undefined when it can. */
export function textProblem (text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain U+0000 (NUL)'
  if (LONE_SURROGATE.test(text)) return 'must be well-formed Unicode (no unpaired surrogates)'
  return undefined
}

function makeAjv (options: Options): Ajv {
  const ajv = new Ajv({ allErrors: false, strict: false, useDefaults: true, removeAdditional: false, ...options })
  addFormats.default(ajv)
  ajv.addFormat('date-time', { type: 'string', validate: isStorableTimestamp })
  return ajv
}

/**
 * Strict input validation (ASVS 5.0 15.3.3/15.3.5): bodies are never coerced and unknown fields are
 * rejected, not stripped. Query strings, params and headers are text on the wire, so they are coerced.
 * Every string of every part, whatever its schema, must be storable text (see findUnstorableText), and
 * every `date-time` a storable instant (see isStorableTimestamp): otherwise 400 naming the field.
 * Runs at Fastify's validation step, so authentication and role checks (onRequest) answer first.
 */
export function registerValidators (app: FastifyInstance): void {
  const bodyAjv = makeAjv({ coerceTypes: false })
  const textAjv = makeAjv({ coerceTypes: true })
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? bodyAjv : textAjv
    const validate = ajv.compile(schema)
    const checked = (data: unknown): boolean => {
      const unstorable = findUnstorableText(data)
      checked.errors = unstorable ? [unstorable] : null
      if (unstorable) return false
      const ok = validate(data) as boolean
      checked.errors = validate.errors ?? null
      return ok
    }
    checked.errors = null as ErrorObject[] | null
    return checked
  })
}

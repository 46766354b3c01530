// regression: #9 §1 — make "an input that passes validation crashes the database" impossible to come back:
// every documented route (read from the app's own OpenAPI document, so new routes are covered
// without touching this file) gets generated hostile path, query, header and body values, as a user
// and as an admin. Nothing may answer 5xx, and no log line may carry SQL parameters, a hash, a
// password or a body value.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildTestApp, type TestApp } from '../build-test-app.js'
import { DEFAULT_PASSWORD, uniqueEmail } from '../factories.js'
import { captureLog } from '../log-capture.js'
import { storageLabel } from '../test-env.js'

/** Runs per storage path: fixed, so the run time does not depend on the seed (about 20–50 s per path on 2 busy cores). */
const NUM_RUNS = 200

type Schema = Record<string, unknown>
interface Operation {
  method: string
  path: string
  pathParams: string[]
  query: Array<{ name: string, schema: Schema }>
  headers: Array<{ name: string }>
  body?: { type: 'json' | 'form', schema: Schema }
}

/** Every operation of the OpenAPI document, with its parameters and body schema ($refs resolved). */
function operationsOf (doc: { paths: Record<string, Record<string, Schema>>, components?: { schemas?: Record<string, Schema> } }): Operation[] {
  const resolve = (schema: unknown): Schema => {
    let s = (schema ?? {}) as Schema
    for (let i = 0; i < 10 && typeof s.$ref === 'string'; i++) s = doc.components?.schemas?.[s.$ref.split('/').pop() ?? ''] ?? {}
    return s
  }
  const ops: Operation[] = []
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue
      const params = (op.parameters ?? []) as Array<{ in: string, name: string, schema?: unknown }>
      const content = ((op.requestBody as Schema | undefined)?.content ?? {}) as Record<string, { schema?: unknown }>
      const json = content['application/json']
      const form = content['application/x-www-form-urlencoded']
      ops.push({
        method: method.toUpperCase(),
        path,
        pathParams: params.filter(p => p.in === 'path').map(p => p.name),
        query: params.filter(p => p.in === 'query').map(p => ({ name: p.name, schema: resolve(p.schema) })),
        headers: params.filter(p => p.in === 'header').map(p => ({ name: p.name })),
        ...(json ? { body: { type: 'json' as const, schema: resolve(json.schema) } } : form ? { body: { type: 'form' as const, schema: resolve(form.schema) } } : {})
      })
    }
  }
  return ops
}

/** A JSON number literal written as is (1e400, 30 digits): JSON.stringify cannot produce these. */
class RawNumber { constructor (readonly text: string) {} }

function toJson (value: unknown): string {
  if (value instanceof RawNumber) return value.text
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`
  if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(',')}}`
  return JSON.stringify(value) ?? 'null'
}

/** Percent-encodes any string, lone surrogates included (as their WTF-8 bytes, which are not valid UTF-8). */
function percentEncode (text: string): string {
  let out = ''
  for (const char of text) {
    const cp = char.codePointAt(0) ?? 0
    if (/^[A-Za-z0-9\-._~]$/.test(char)) { out += char; continue }
    const bytes = cp < 0x80
      ? [cp]
      : cp < 0x800
        ? [0xc0 | cp >> 6, 0x80 | (cp & 63)]
        : cp < 0x10000
          ? [0xe0 | cp >> 12, 0x80 | (cp >> 6 & 63), 0x80 | (cp & 63)]
          : [0xf0 | cp >> 18, 0x80 | (cp >> 12 & 63), 0x80 | (cp >> 6 & 63), 0x80 | (cp & 63)]
    out += bytes.map(b => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')
  }
  return out
}

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map(c => String.fromCharCode(c))
const control = fc.integer({ min: 0, max: 0x1f }).map(c => String.fromCharCode(c))
const ODD_TIMES = [
  '2016-12-31T23:59:60Z', '0000-01-01T00:00:00Z', '0001-01-01T00:30:00+01:00', '9999-12-31T23:59:59-01:00', '+100000-01-01T00:00:00Z',
  '-000001-01-01T00:00:00Z', '2024-02-30T00:00:00Z', '2024-01-01T00:00:00+24:00', '2024-01-01T00:00:00-23:59', '2024-01-01T24:00:00Z',
  '0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z', '2024-01-01', '2024-01-01T00:00:00', '1970-01-01T00:00:00.0000000001Z', '2024-01-01t00:00:00z'
]
const hostileString = fc.oneof(
  fc.constantFrom('\u0000', 'a\u0000b', '\uD800', 'x\uDC00y', '\uFFFD', '\uFFFF', '\u202E', '\r\n', '%00', '%', '..', '', ' ', "' OR 1=1 --", '9'.repeat(400), 'x'.repeat(5000), ...ODD_TIMES),
  fc.string({ unit: fc.oneof(control, loneSurrogate, fc.constantFrom('a', 'é', '😀', '\u0301')), maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom(...ODD_TIMES)
)
const hostileNumber = fc.oneof(
  fc.constantFrom(1e308, -1e308, 5e-324, -5e-324, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 0, -0, -1, 1.5, 101, 32768, 2147483648),
  fc.constantFrom('1e400', '-1e400', `1${'0'.repeat(400)}`, '1e-400', '-0.0').map(text => new RawNumber(text)),
  fc.double()
)
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 2, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.constantFrom(true, false, null, [], {}, [null], { $ne: null }) },
  { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 25 }) }
)

/** Values the server holds (ids, cursors), looked up when a request is made: actors can be remade. */
interface State { userId: string, adminId: string, taskId: string, cursors: string[] }
const MISSING = '01a20000-0000-7000-8000-000000000000'
const stateRef = fc.constantFrom<keyof Pick<State, 'userId' | 'adminId' | 'taskId'> | 'missing'>('userId', 'adminId', 'taskId', 'missing')

/** A cursor the server issued, then maybe edited: one bit, truncated, extended, or made by hand. */
const cursorValue = (state: () => State) => fc.tuple(fc.nat(), fc.nat(), fc.constantFrom('asis', 'flip', 'cut', 'grow', 'hand')).map(([pick, at, how]) => {
  const cursors = state().cursors
  const cursor = cursors[pick % cursors.length] ?? 'AAAA'
  const raw = Buffer.from(cursor, 'base64url')
  switch (how) {
    case 'asis': return cursor
    case 'flip': { const i = at % raw.length; raw[i] = (raw[i] ?? 0) ^ (1 << (at % 8)); return raw.toString('base64url') }
    case 'cut': return cursor.slice(0, at % cursor.length)
    case 'grow': return `${cursor}${'A'.repeat(1 + at % 4)}`
    case 'hand': return Buffer.from(JSON.stringify([['-'.repeat(36), 99999, 1e300, 'a\u0000b', '0000-01-01T00:00:00.000Z'][at % 5], '0'.repeat(36)])).toString('base64url')
  }
  return cursor
})

/** `arbitrary` with probability `p`, else null (absent). */
function sometimes<T> (arbitrary: fc.Arbitrary<T>, p: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: Math.round((1 - p) * 100), arbitrary: fc.constant(null) }, { weight: Math.round(p * 100), arbitrary })
}

/** A plausible value for `schema` (so requests get past validation and reach the database) or a hostile one. */
function valueFor (schema: Schema, state: () => State, depth = 0): fc.Arbitrary<unknown> {
  const plausible = plausibleFor(schema, state, depth)
  // Mostly plausible, so that many requests get past validation with one or two hostile fields.
  return fc.oneof({ weight: 6, arbitrary: plausible }, { weight: 1, arbitrary: hostileValue })
}

function plausibleFor (schema: Schema, state: () => State, depth: number): fc.Arbitrary<unknown> {
  const variants = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined
  if (variants?.length) return fc.oneof(...variants.map(v => plausibleFor(v, state, depth)))
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]))
  if ('const' in schema) return fc.constant(schema.const)
  switch (schema.type) {
    case 'string':
      if (schema.format === 'uuid') return stateRef.map(ref => (ref === 'missing' ? MISSING : state()[ref]))
      if (schema.format === 'date-time') return fc.oneof({ weight: 4, arbitrary: fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }).map(d => d.toISOString()) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_TIMES) })
      if (schema.format === 'email') return fc.constant(null).map(() => uniqueEmail('prop'))
      return fc.string({
        unit: fc.oneof({ weight: 200, arbitrary: fc.constantFrom('a', 'Z', '0', ' ', 'é', '😀', '_', '-', '.', 'e\u0301', 'ｔ') }, { weight: 2, arbitrary: control }, { weight: 1, arbitrary: loneSurrogate }),
        minLength: Number(schema.minLength ?? 0),
        maxLength: Math.min(Number(schema.maxLength ?? 40), 40)
      })
    case 'integer': return fc.integer({ min: Number(schema.minimum ?? -1000), max: Number(schema.maximum ?? 1000) })
    case 'number': return fc.double()
    case 'boolean': return fc.boolean()
    case 'null': return fc.constant(null)
    case 'array': return depth > 3 ? fc.constant([]) : fc.array(valueFor((schema.items ?? {}) as Schema, state, depth + 1), { maxLength: 4 })
    case 'object': {
      if (depth > 3) return fc.constant({})
      const props = (schema.properties ?? {}) as Record<string, Schema>
      const record = Object.fromEntries(Object.entries(props).map(([k, s]) => [k, valueFor(s, state, depth + 1)]))
      const required = ((schema.required ?? []) as string[]).filter(k => k in record)
      return fc.tuple(fc.record(record, { requiredKeys: required }), sometimes(fc.tuple(fc.constantFrom('extra', '__proto__', 'constructor', 'a\u0000'), hostileValue), 1 / 12))
        .map(([obj, extra]) => (extra ? { ...obj, [extra[0]]: extra[1] } : obj))
    }
  }
  return hostileValue
}

interface GeneratedRequest {
  op: Operation
  actor: 'user' | 'admin'
  pathValues: string[]
  query: Array<[string, unknown]>
  headers: Array<[string, string]>
  body: unknown
}

function requestFor (op: Operation, state: () => State): fc.Arbitrary<GeneratedRequest> {
  const pathValue = fc.oneof(stateRef.map(ref => (ref === 'missing' ? MISSING : state()[ref])), hostileString.filter(s => s !== ''))
  const queryEntry = (q: { name: string, schema: Schema }) => (q.name === 'cursor' ? fc.oneof(cursorValue(state), hostileString) : valueFor(q.schema, state))
  const query = fc.tuple(...op.query.map(q => sometimes(queryEntry(q), 1 / 3).map(v => [q.name, v] as [string, unknown])))
  const headerValue = fc.constantFrom('*', '"1"', 'W/"1"', '"999999999999999999999"', '"a", "b"', '', 'x'.repeat(300))
  const headers = fc.tuple(...op.headers.map(h => sometimes(headerValue, 1 / 3).map(v => [h.name, v] as [string, string | null])))
  const body = op.body ? valueFor(op.body.schema.type === undefined && op.body.type === 'form' ? { type: 'object', properties: {} } : op.body.schema, state) : fc.constant(undefined)
  return fc.record({
    op: fc.constant(op),
    actor: fc.constantFrom<'user' | 'admin'>('user', 'admin'),
    pathValues: fc.tuple(...op.pathParams.map(() => pathValue)),
    query: query.map(entries => entries.filter(([, v]) => v !== null)),
    headers: headers.map(entries => entries.filter((e): e is [string, string] => e[1] !== null)),
    body
  })
}

/** The request as URL and payload: query values are strings (arrays repeat the key), bodies JSON or a form. */
function toInject (req: GeneratedRequest, token: string) {
  let i = 0
  const path = req.op.path.replace(/\{[^}]+\}/g, () => percentEncode(req.pathValues[i++] ?? ''))
  const scalar = (v: unknown) => (v instanceof RawNumber ? v.text : typeof v === 'string' ? v : JSON.stringify(v) ?? '')
  const qs = req.query.flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map(x => `${k}=${percentEncode(scalar(x))}`)).join('&')
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...Object.fromEntries(req.headers) }
  let payload: string | undefined
  if (req.op.body?.type === 'json' && req.body !== undefined) {
    payload = toJson(req.body)
    headers['content-type'] = 'application/json'
  } else if (req.op.body?.type === 'form') {
    const fields = req.body !== null && typeof req.body === 'object' && !Array.isArray(req.body) ? Object.entries(req.body) : []
    payload = [['grant_type', 'password'], ...fields].map(([k, v]) => `${percentEncode(String(k))}=${percentEncode(scalar(v))}`).join('&')
    headers['content-type'] = 'application/x-www-form-urlencoded'
  }
  return { method: req.op.method as 'GET', url: qs ? `${path}?${qs}` : path, headers, ...(payload === undefined ? {} : { payload }) }
}

/** Every string inside a body (as it appears JSON-escaped in a log line), long enough to be unmistakable. */
function bodyStrings (value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string' && value.length >= 12) out.push(JSON.stringify(value).slice(1, -1))
  else if (Array.isArray(value)) value.forEach(v => bodyStrings(v, out))
  else if (value !== null && typeof value === 'object' && !(value instanceof RawNumber)) Object.values(value).forEach(v => bodyStrings(v, out))
  return out
}

async function makeActors (t: TestApp) {
  const { app, make } = t
  const user = await make.user()
  const admin = await make.admin()
  const task = await make.task(user.tokens.access_token, { title: 'Seed', due_at: '2030-01-01T00:00:00Z', tags: ['seed'] })
  await make.task(user.tokens.access_token, { title: 'Seed 2' })
  return { user, admin, task, app }
}

async function issuedCursors (app: FastifyInstance, userToken: string, adminToken: string): Promise<string[]> {
  const urls: Array<[string, string]> = [
    ...['created_at', '-created_at', 'due_at', '-due_at', 'priority', 'title', '-updated_at'].map(sort => [`/v1/tasks?limit=1&sort=${sort}`, userToken] as [string, string]),
    ['/v1/admin/users?limit=1', adminToken], ['/v1/admin/audit-events?limit=1', adminToken], ['/v1/admin/tasks?limit=1', adminToken]
  ]
  const cursors: string[] = []
  for (const [url, token] of urls) {
    const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })
    const next = res.json<{ next_cursor?: string | null }>().next_cursor
    if (next) cursors.push(next)
  }
  return cursors
}

describe(`hostile input on every route (property-based) [${storageLabel}]`, () => {
  it('when any route gets generated hostile path, query, header and body values, as a user or an admin, then nothing answers 5xx and no log line leaks a parameter', async (t) => {
    const { stream, lines } = captureLog()
    const testApp = await buildTestApp(t, { LOG_LEVEL: 'info' }, { logStream: stream })
    const { app } = testApp
    let { user, admin, task } = await makeActors(testApp)
    const cursors = await issuedCursors(app, user.tokens.access_token, admin.tokens.access_token)
    assert.ok(cursors.length >= 3, 'the lists issued cursors to edit')
    const state = (): State => ({ userId: user.id, adminId: admin.id, taskId: task.id, cursors })
    await app.ready()
    const ops = operationsOf(app.swagger() as unknown as Parameters<typeof operationsOf>[0])
    for (const expected of ['POST /v1/tasks', 'GET /v1/tasks', 'PATCH /v1/tasks/{id}', 'POST /v1/auth/token', 'POST /v1/auth/login', 'GET /v1/admin/users', 'GET /v1/admin/audit-events']) {
      assert.ok(ops.some(op => `${op.method} ${op.path}` === expected), `the document lists ${expected}`)
    }

    const seen = new Map<string, number>()
    await fc.assert(fc.asyncProperty(fc.oneof(...ops.map(op => requestFor(op, state))), async (req) => {
      const token = req.actor === 'admin' ? admin.tokens.access_token : user.tokens.access_token
      const from = lines.length
      const request = toInject(req, token)
      const res: LightMyRequestResponse = await app.inject(request)
      const label = `${req.op.method} ${req.op.path} → ${res.statusCode}`
      seen.set(`${req.op.method} ${req.op.path}`, (seen.get(`${req.op.method} ${req.op.path}`) ?? 0) + 1)
      assert.ok(res.statusCode < 500, `${label}: ${res.body}\n${request.url}\n${request.payload ?? ''}`)

      const secrets = [user.password, admin.password, DEFAULT_PASSWORD, ...bodyStrings(req.body)]
      for (const line of lines.slice(from)) {
        assert.doesNotMatch(line, /"params"\s*:|params: |\$argon2id\$|"internal_error"/, `${label}: ${line}`)
        for (const secret of secrets) assert.ok(!line.includes(secret), `${label}: a log line carries ${secret.slice(0, 40)}: ${line.slice(0, 400)}`)
      }

      // Logout, deletion or an admin's change can end an actor's sessions: make new ones, so later runs still get past 401.
      if (req.op.method !== 'GET' && res.statusCode < 300) {
        const alive = async (tok: string) => (await app.inject({ method: 'GET', url: '/v1/users/me', headers: { authorization: `Bearer ${tok}` } })).statusCode === 200
        if (!await alive(user.tokens.access_token) || !await alive(admin.tokens.access_token)) ({ user, admin, task } = await makeActors(testApp))
      }
    }), { numRuns: NUM_RUNS })

    assert.ok(seen.size >= ops.length * 0.8, `most operations were tried: ${seen.size} of ${ops.length}`)
  })
})

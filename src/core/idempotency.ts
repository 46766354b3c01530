import { and, eq, lte, or, sql } from 'drizzle-orm'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import Type from 'typebox'
import type { Clock } from './clock.js'
import type { Db } from './db.js'
import { AppError, ValidationError } from './errors.js'
import { sha256 } from './ids.js'
import { idempotencyKeysTable as keys } from './idempotency.table.js'
import { Problem } from './schemas.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Opts a POST route into `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header): a retried
     * request with the same key and body replays the first success instead of running again. The
     * route must be behind `authenticate` (keys are per user).
     */
    idempotency?: boolean
  }
}

export const IDEMPOTENCY_HEADER = 'idempotency-key'
/** Kept successes are replayed for this long (API.md: 24 hours). */
const RETENTION_MS = 24 * 3600 * 1000
/** An `in_progress` key older than this is abandoned (its instance died): the next request may take it. Above the 30 s request timeout. */
const LOCK_TIMEOUT_MS = 120 * 1000
/** Response headers a replay repeats (besides status and body). */
const KEPT_HEADERS = ['content-type', 'location', 'etag'] as const

/** A bare key: 1–255 printable ASCII characters. Quoted: an RFC 8941 sf-string (`\"` and `\\` escapes) holding the same. */
const BARE = /^[\x20-\x7e]{1,255}$/
const QUOTED = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\]){1,255})"$/

/**
 * The key of an `Idempotency-Key` header, bare (`abc`) or as a quoted string (`"abc"`, the draft's
 * Structured Field form); undefined when absent. Throws ValidationError (400) for a repeated header,
 * an empty or over-long key, or any character outside printable ASCII.
 */
export function parseIdempotencyKey (req: FastifyRequest): string | undefined {
  const value = req.headers[IDEMPOTENCY_HEADER]
  if (value === undefined) return undefined
  const raw = req.raw.rawHeaders
  let seen = 0
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === IDEMPOTENCY_HEADER) seen++
  const invalid = (message: string) => new ValidationError(`Idempotency-Key ${message}`, [{ field: 'Idempotency-Key', message }])
  if (seen > 1 || Array.isArray(value)) throw invalid('must be sent once')
  if (value.startsWith('"')) {
    const quoted = QUOTED.exec(value)
    const key = quoted?.[1]?.replace(/\\(["\\])/g, '$1')
    if (key === undefined || key.length > 255) throw invalid('must be a quoted string of 1–255 printable ASCII characters')
    return key
  }
  if (!BARE.test(value)) throw invalid('must be 1–255 printable ASCII characters')
  return value
}

/** JSON with object keys sorted at every level: two bodies that differ only in key order are the same request. */
function canonicalJson (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/** What makes two requests "the same" for a key: method, route and canonical JSON body (SHA-256, base64url). */
export function requestFingerprint (method: string, route: string, body: unknown): string {
  return sha256(canonicalJson([method, route, body ?? null]))
}

interface Held { userId: string, key: string, settled: boolean }
const held = new WeakMap<FastifyRequest, Held>()

/** Deletes at most `limit` keys whose `expires_at` has come at `now`, in `db` (or a transaction); returns how many. */
async function deleteExpired (db: Db, now: Date, limit: number): Promise<number> {
  const rows = await db.delete(keys).where(sql`ctid in (select ctid from ${keys} where ${keys.expires_at} <= ${now} limit ${limit})`).returning({ key: keys.key })
  return rows.length
}

/**
 * The retention clean-up's rule for idempotency keys (a CleanupRule of src/jobs/cleanup.ts): keys
 * whose 24 hours have passed (API.md "Signing keys, retention and audit integrity"), in batches.
 */
export function idempotencyCleanupRule (): { table: string, deleteBatch: (tx: Db, now: Date, limit: number) => Promise<number> } {
  return { table: 'idempotency_keys', deleteBatch: deleteExpired }
}

/** The store of keys, in the database: every instance sees the same keys. */
export function createIdempotencyStore ({ db, clock }: { db: Db, clock: Clock }) {
  return {
    /**
     * Takes the key for a new request, or the row that holds it. A key whose kept response expired, or
     * whose first request was abandoned, is taken over. One statement, so of concurrent requests with
     * one key exactly one takes it.
     */
    async take (userId: string, key: string, fingerprint: string): Promise<{ taken: true } | { taken: false, row: typeof keys.$inferSelect | undefined }> {
      const now = clock.now()
      const fresh = { fingerprint, state: 'in_progress' as const, locked_at: now, response_status: null, response_headers: null, response_body: null, created_at: now, expires_at: new Date(now.getTime() + RETENTION_MS) }
      const [took] = await db.insert(keys).values({ user_id: userId, key, ...fresh })
        .onConflictDoUpdate({
          target: [keys.user_id, keys.key],
          set: fresh,
          setWhere: or(lte(keys.expires_at, now), and(eq(keys.state, 'in_progress'), lte(keys.locked_at, new Date(now.getTime() - LOCK_TIMEOUT_MS))))
        })
        .returning({ user_id: keys.user_id })
      if (took) return { taken: true }
      const [row] = await db.select().from(keys).where(and(eq(keys.user_id, userId), eq(keys.key, key))).limit(1)
      return { taken: false, row }
    },

    /** Keeps a success for replay, for 24 hours from now. */
    async complete (userId: string, key: string, response: { status: number, headers: Record<string, string>, body: string }): Promise<void> {
      const now = clock.now()
      await db.update(keys).set({ state: 'done', response_status: response.status, response_headers: response.headers, response_body: response.body, expires_at: new Date(now.getTime() + RETENTION_MS) })
        .where(and(eq(keys.user_id, userId), eq(keys.key, key), eq(keys.state, 'in_progress')))
    },

    /** Frees a key whose request failed: it stays unused. */
    async release (userId: string, key: string): Promise<void> {
      await db.delete(keys).where(and(eq(keys.user_id, userId), eq(keys.key, key), eq(keys.state, 'in_progress')))
    },

    /** Deletes keys past their 24 hours; returns how many. */
    purgeExpired: async (limit = 1000): Promise<number> => deleteExpired(db, clock.now(), limit)
  }
}
export type IdempotencyStore = ReturnType<typeof createIdempotencyStore>

const asArray = <T>(hook: T | T[] | undefined): T[] => (hook === undefined ? [] : Array.isArray(hook) ? hook : [hook])

/**
 * Registers the `config.idempotency` route option (call before the routes are added). An opted-in
 * route gets, after validation and authentication: the header check (400), then per user and key —
 * a first request runs and its success (2xx) is kept 24 hours with status, body, `Location` and
 * `ETag`; the same key and body again is replayed with `Idempotent-Replayed: true`; another body is
 * 422 `idempotency_key_reused`; while the first still runs, 409 `idempotency_key_in_progress`. A
 * failed request (4xx, 5xx) frees its key. The schema gains the header and the 409/422 responses.
 */
export function registerIdempotency (app: FastifyInstance, store: IdempotencyStore): void {
  async function preHandler (req: FastifyRequest, reply: FastifyReply) {
    const key = parseIdempotencyKey(req)
    if (key === undefined) return
    const userId = req.principal?.userId
    if (!userId) throw new Error('config.idempotency needs an authenticated route')
    const fingerprint = requestFingerprint(req.method, req.routeOptions.url ?? req.url, req.body)
    for (let attempt = 0; attempt < 3; attempt++) {
      const result = await store.take(userId, key, fingerprint)
      if (result.taken) {
        held.set(req, { userId, key, settled: false })
        return
      }
      const row = result.row
      if (!row) continue // freed by a failed first request meanwhile: try again
      if (row.fingerprint !== fingerprint) {
        throw new AppError('idempotency_key_reused', { detail: 'This Idempotency-Key was already used with a different request' })
      }
      if (row.state === 'in_progress' || row.response_status === null || row.response_body === null) {
        throw new AppError('idempotency_key_in_progress', { detail: 'A request with this Idempotency-Key is still running: retry once it has finished' })
      }
      for (const [name, value] of Object.entries(row.response_headers ?? {})) reply.header(name, value)
      reply.header('idempotent-replayed', 'true')
      return reply.code(row.response_status).send(row.response_body)
    }
    throw new AppError('idempotency_key_in_progress', { detail: 'A request with this Idempotency-Key is still running: retry once it has finished' })
  }

  async function onSend (req: FastifyRequest, reply: FastifyReply, payload: unknown) {
    const hold = held.get(req)
    if (!hold || hold.settled) return payload
    hold.settled = true
    try {
      if (reply.statusCode >= 200 && reply.statusCode < 300 && typeof payload === 'string') {
        const headers: Record<string, string> = {}
        for (const name of KEPT_HEADERS) {
          const value = reply.getHeader(name)
          if (value !== undefined) headers[name] = String(value)
        }
        await store.complete(hold.userId, hold.key, { status: reply.statusCode, headers, body: payload })
      } else {
        await store.release(hold.userId, hold.key)
      }
    } catch (err) {
      // The response stands; the key stays in_progress until the lock timeout frees it.
      req.log.error({ err, code: 'idempotency_store_failed' }, 'idempotency key not settled')
    }
    return payload
  }

  /** A request that ended without reaching onSend (an error while sending) frees its key too. */
  async function onResponse (req: FastifyRequest) {
    const hold = held.get(req)
    if (!hold || hold.settled) return
    hold.settled = true
    await store.release(hold.userId, hold.key).catch((err: unknown) => { req.log.error({ err, code: 'idempotency_store_failed' }, 'idempotency key not released') })
  }

  app.addHook('onRoute', (route: RouteOptions) => {
    if (route.config?.idempotency !== true) return
    route.preHandler = [...asArray(route.preHandler), preHandler]
    route.onSend = [...asArray(route.onSend), onSend]
    route.onResponse = [...asArray(route.onResponse), onResponse]
    const schema = route.schema
    if (!schema) return
    const headers = (schema.headers ?? Type.Object({})) as { properties?: Record<string, unknown> }
    schema.headers = {
      ...headers,
      type: 'object',
      properties: {
        ...headers.properties,
        // 512: the longest quoted key (255 characters, each an escape of 2) with its quotes; the
        // checks above refuse any longer one anyway, so the limit changes nothing that is accepted.
        [IDEMPOTENCY_HEADER]: Type.Optional(Type.String({
          maxLength: 2 + 255 * 2,
          description: 'Makes a retry safe: 1–255 printable ASCII characters, bare or quoted. The same key and body within 24 hours replays the first success (with `Idempotent-Replayed: true`); another body is 422; while the first runs, 409.'
        }))
      }
    }
    schema.response = { ...(schema.response as Record<string, unknown> | undefined), 409: Problem, 422: Problem }
  })
}

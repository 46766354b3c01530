import type { FastifyBaseLogger } from 'fastify'
import type { Actor, RequestMeta } from '../../core/actor.js'
import type { Clock } from '../../core/clock.js'
import type { Db } from '../../core/db.js'
import { RejectedTokenError } from '../../core/http/authenticate.js'
import { AppError, ValidationError } from '../../core/errors.js'
import { newId, sha256 } from '../../core/ids.js'
import { idFromCursor, pageById, type Cursors, type Page } from '../../core/pagination.js'
import type { Scope } from '../../core/scopes.js'
import type { AuditService } from '../audit/index.js'
import type { CachedToken, TokenCache } from './token-cache.js'
import { displayPrefix, isWellFormedPersonalAccessToken, newPersonalAccessToken } from './token-format.js'
import { tokensRepository } from './tokens.repository.js'
import { MAX_LIVE_TOKENS, type CreateTokenBody, type TokenPageQuery } from './tokens.schemas.js'
import type { PersonalAccessTokenRow } from './tokens.table.js'
import type { Notifier } from '../mail/index.js'

export { MAX_LIVE_TOKENS }
const DEFAULT_LIFETIME_DAYS = 90
/** A live cache entry lasts at most this long; a revocation's tombstone outlives it. */
const LIVE_TTL_SECONDS = 300
const TOMBSTONE_TTL_SECONDS = LIVE_TTL_SECONDS + 60
/** last_used_at is kept to the minute: at most one write a minute per token. */
const TOUCH_INTERVAL_MS = 60_000
const MAX_TOUCH_ENTRIES = 10_000

export interface TokensDeps {
  db: Db
  clock: Clock
  cache: TokenCache
  audit: AuditService
  /** Seals the admin token list's cursors (bound to the user). */
  cursors: Cursors
  /** True when `password` is the account's current password (same cost whether right or wrong). */
  confirmPassword: (userId: string, password: string) => Promise<boolean>
  /** Absent: no notice mail is sent. */
  notifier?: Notifier | undefined
  log?: FastifyBaseLogger | undefined
}

/** A token as the API shows it: without its hash (the response schemas are the allow-list too). */
export type TokenRecord = PersonalAccessTokenRow
export type CreatedToken = TokenRecord & { token: string }

/**
 * Personal access tokens: long-lived, scoped bearer tokens for scripts (API.md, "Personal access
 * tokens"). The database row is the source of truth; the cache mirrors it like the session cache, so
 * a revocation holds on every instance at once and survives a cache flush or restart.
 */
export function createTokensService ({ db, clock, cache, audit, cursors, confirmPassword, notifier, log }: TokensDeps) {
  /**
   * Revocations the cache could not be told about (Redis down): this instance refuses those tokens
   * itself and keeps retrying, so that once Redis is back no live entry can re-validate them anywhere.
   */
  const undelivered = new Set<string>()
  let retrying: NodeJS.Timeout | undefined
  /** When this instance last recorded each token's use (epoch ms): bounds last_used_at writes. */
  const touched = new Map<string, number>()

  async function markRevoked (hashes: readonly string[]): Promise<void> {
    if (hashes.length === 0) return
    try {
      await cache.markRevoked(hashes, TOMBSTONE_TTL_SECONDS)
    } catch {
      for (const hash of hashes) undelivered.add(hash)
      retrying ??= setInterval(() => { redeliver().catch(() => {}) }, 1000).unref()
    }
  }

  async function redeliver (): Promise<void> {
    const hashes = [...undelivered]
    try {
      await cache.markRevoked(hashes, TOMBSTONE_TTL_SECONDS)
      for (const hash of hashes) undelivered.delete(hash)
      if (undelivered.size === 0 && retrying) { clearInterval(retrying); retrying = undefined }
    } catch {}
  }

  async function lookup (hash: string, now: Date): Promise<CachedToken | undefined> {
    let cached: CachedToken | false | undefined
    try { cached = await cache.get(hash) } catch { cached = undefined }
    if (cached === false) return undefined
    if (cached !== undefined) return cached
    const row = await tokensRepository.findLiveByHash(db, hash, now)
    const entry: CachedToken | undefined = row && { id: row.id, user_id: row.user_id, role: row.role, email: row.email, scopes: row.scopes, expires_at: row.expires_at.getTime() }
    try {
      if (entry) await cache.addLive(hash, entry, Math.min(LIVE_TTL_SECONDS, (entry.expires_at - now.getTime()) / 1000))
      else await cache.markRevoked([hash], TOMBSTONE_TTL_SECONDS)
    } catch {}
    return entry
  }

  /** Records the use in last_used_at at most once a minute per token: this instance's map, then a conditional UPDATE across instances. */
  async function touch (id: string, now: Date): Promise<void> {
    const last = touched.get(id)
    if (last !== undefined && now.getTime() - last < TOUCH_INTERVAL_MS) return
    if (touched.size >= MAX_TOUCH_ENTRIES) touched.clear()
    touched.set(id, now.getTime())
    try {
      await tokensRepository.touch(db, id, now, TOUCH_INTERVAL_MS)
    } catch (err) {
      // Bookkeeping only: a failed write must not fail the request it belongs to.
      log?.warn({ err, code: 'pat_touch_failed' }, 'last_used_at not recorded')
    }
  }

  function refuseTokens (actor: Actor): void {
    if (actor.scopes !== undefined) throw new AppError('insufficient_scope', { detail: 'A personal access token cannot manage personal access tokens: use an access token' })
  }

  async function revokeOne (actor: Actor, userId: string, id: string, reason: 'revoked_by_owner' | 'revoked_by_admin', meta: RequestMeta): Promise<void> {
    const revoked = await db.transaction(async (tx) => {
      const row = await tokensRepository.revoke(tx, userId, id, clock.now(), reason)
      if (!row) throw new AppError('token_not_found', { detail: 'No live personal access token with this id' })
      await audit.record({ type: 'pat.revoked', actorId: actor.userId, userId, meta, details: { pat_id: id, reason } }, tx)
      return row
    })
    await markRevoked([revoked.token_hash])
  }

  return {
    /**
     * Creates a token for the caller, who confirms with the current password (400 `wrong_password`).
     * Refused to a personal access token (403 `insufficient_scope`) and beyond 50 live tokens (409
     * `too_many_tokens`, checked under a per-user lock, so concurrent creations cannot overshoot).
     * The secret is returned here only; the database keeps its SHA-256.
     */
    async create (actor: Actor, input: CreateTokenBody, meta: RequestMeta): Promise<CreatedToken> {
      refuseTokens(actor)
      if (!await confirmPassword(actor.userId, input.current_password)) {
        throw new ValidationError('current_password is incorrect', [{ field: 'current_password', message: 'is incorrect' }], 'wrong_password')
      }
      const token = newPersonalAccessToken()
      const now = clock.now()
      const days = input.expires_in_days ?? DEFAULT_LIFETIME_DAYS
      const scopes: Scope[] = [...new Set(input.scopes)]
      const row = await db.transaction(async (tx) => {
        await tokensRepository.lockUser(tx, actor.userId)
        if (await tokensRepository.countLive(tx, actor.userId, now) >= MAX_LIVE_TOKENS) {
          throw new AppError('too_many_tokens', { detail: `An account can have at most ${MAX_LIVE_TOKENS} live personal access tokens: delete one first` })
        }
        const inserted = await tokensRepository.insert(tx, {
          id: newId(),
          user_id: actor.userId,
          name: input.name,
          token_hash: sha256(token),
          token_prefix: displayPrefix(token),
          scopes,
          created_at: now,
          expires_at: new Date(now.getTime() + days * 86_400_000),
          last_used_at: null
        })
        await audit.record({ type: 'pat.created', actorId: actor.userId, userId: actor.userId, meta, details: { pat_id: inserted.id, name: inserted.name, scopes, expires_at: inserted.expires_at.toISOString() } }, tx)
        await notifier?.notify(tx, actor.userId, 'pat_created', { name: inserted.name, prefix: inserted.token_prefix, scopes: scopes.join(' '), expires_at: inserted.expires_at.toISOString() })
        return inserted
      })
      return { ...row, token }
    },

    /** The caller's live tokens, newest first (at most 50). */
    async list (actor: Actor): Promise<{ data: TokenRecord[] }> {
      refuseTokens(actor)
      return { data: await tokensRepository.listLive(db, actor.userId, clock.now(), { limit: MAX_LIVE_TOKENS }) }
    },

    /** Revokes one of the caller's live tokens (404 `token_not_found` otherwise); effective at once everywhere. */
    async revoke (actor: Actor, id: string, meta: RequestMeta): Promise<void> {
      refuseTokens(actor)
      await revokeOne(actor, actor.userId, id, 'revoked_by_owner', meta)
    },

    /** Admin: a page of a user's live tokens (no secrets), newest first. The caller checks the user exists. */
    async listForUser (userId: string, query: TokenPageQuery): Promise<Page<TokenRecord>> {
      const scope = { list: 'admin_user_tokens', user: userId }
      const rows = await tokensRepository.listLive(db, userId, clock.now(), { limit: query.limit + 1, beforeId: idFromCursor(cursors, scope, query.cursor) })
      return pageById(rows, query.limit, cursors, scope)
    },

    /** Admin: revokes one live token of `userId` (404 `token_not_found` otherwise). */
    revokeForUser: (actor: Actor, userId: string, id: string, meta: RequestMeta) => revokeOne(actor, userId, id, 'revoked_by_admin', meta),

    /**
     * Revokes every live token of a user inside the caller's transaction (deactivation, role change,
     * deletion, password reset) and records one `pat.revoked` event. Returns the revoked tokens'
     * hashes: once the transaction has committed, pass them to `markRevoked` so every instance refuses
     * them at once (until then the database already does, for any instance without a cache entry).
     */
    async revokeAllForUser (tx: Db, userId: string, reason: string, event?: { actorId?: string | null, meta?: RequestMeta }): Promise<string[]> {
      const rows = await tokensRepository.revokeAll(tx, userId, clock.now(), reason)
      if (rows.length > 0) {
        await audit.record({ type: 'pat.revoked', actorId: event?.actorId ?? null, userId, meta: event?.meta, details: { pat_ids: rows.map(r => r.id), reason } }, tx)
      }
      return rows.map(r => r.token_hash)
    },

    /** Tells the cache about revocations made inside a transaction, once it has committed. */
    markRevoked,

    /**
     * Authenticates a presented personal access token: well-formed with a matching checksum (else
     * refused without any lookup), then one cache round trip, or the database on a miss. Throws
     * RejectedTokenError for a malformed, unknown, expired or revoked token; a database
     * failure propagates (503), it never lets the request through.
     */
    async authenticate (token: string): Promise<CachedToken> {
      if (!isWellFormedPersonalAccessToken(token)) throw new RejectedTokenError('malformed or checksum mismatch')
      const hash = sha256(token)
      if (undelivered.has(hash)) throw new RejectedTokenError('revoked')
      const now = clock.now()
      const entry = await lookup(hash, now)
      if (!entry) throw new RejectedTokenError('unknown, expired or revoked')
      if (entry.expires_at <= now.getTime()) throw new RejectedTokenError('expired')
      await touch(entry.id, now)
      return entry
    }
  }
}
export type TokensService = ReturnType<typeof createTokensService>

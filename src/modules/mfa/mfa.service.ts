import { Counter } from 'prom-client'
import type { Actor, RequestMeta } from '../../core/actor.js'
import type { Clock } from '../../core/clock.js'
import type { Db } from '../../core/db.js'
import type { Metrics } from '../../core/metrics.js'
import { DecryptionError, type Encryption } from '../../core/encryption.js'
import { newId, newSecret, sha256 } from '../../core/ids.js'
import type { AuditService } from '../audit/index.js'
import type { UserRow, UsersStore } from '../users/index.js'
import { mfaErrors } from './mfa.errors.js'
import { mfaRepository } from './mfa.repository.js'
import { newRecoveryCode, normaliseRecoveryCode, RECOVERY_CODE_COUNT, RECOVERY_CODE_PURPOSE } from './recovery-codes.js'
import { matchTotp, newTotpSecret, otpauthUri, secretBase32 } from './totp.js'
import type { Notifier, NoticeEvent } from '../mail/index.js'

/** Seconds a pending set-up waits for its activation code. */
export const SETUP_TTL = 600
/** Seconds an mfa_token lives, and how many codes it may check. */
export const CHALLENGE_TTL = 300
export const CHALLENGE_MAX_ATTEMPTS = 5
export const MFA_METHODS = ['totp', 'recovery_code'] as const
/** RFC 8176 `amr` of a session: a password alone, or a password and a second factor. */
export const AMR_PASSWORD = ['pwd'] as const
export const AMR_MFA = ['pwd', 'otp', 'mfa'] as const

/** What MFA needs from sessions: ending a user's sessions inside the change's transaction. */
export interface MfaSessionsPort {
  revokeAllForUser: (userId: string, reason: string, keep: string | undefined, tx: Db) => Promise<string[]>
  markRevoked: (sids: readonly string[]) => Promise<void>
}

/** The account's failed-login budget (auth's account throttle): wrong codes spend it like wrong passwords. */
export interface MfaThrottlePort {
  assertOpen: (accountKey: string, onExceeded: () => Promise<void>) => Promise<void>
  recordFailure: (accountKey: string) => Promise<void>
}

export interface MfaDeps {
  db: Db
  users: UsersStore
  clock: Clock
  encryption: Encryption
  audit: AuditService
  sessions: MfaSessionsPort
  throttle: MfaThrottlePort
  /** False for a password-less account (social sign-in only): flows needing current_password answer 400 wrong_password. */
  verifyPassword: (stored: string | null, password: string) => Promise<boolean>
  /** MFA_ISSUER: the name authenticator apps show. */
  issuer: string
  /** auth_rate_limited_total, and the registry auth_mfa_verify_total joins. */
  metrics: Metrics
  notifier?: Notifier | undefined
}

/** A second factor as presented: a TOTP code or a recovery code. */
export type MfaProof = { kind: 'totp', code: string } | { kind: 'recovery_code', code: string }

/** The answer to a correct first factor when MFA is on (API.md `mfa_required` members). */
export interface MfaChallenge { mfa_token: string, expires_in: number, methods: Array<typeof MFA_METHODS[number]> }

/** A redeemed challenge: whose session to start, and how they signed in. */
export interface MfaPassed { userId: string, method: string, amr: string[], factor: MfaProof['kind'] }

export type VerifyResult = 'success' | 'invalid_code' | 'invalid_token' | 'rate_limited'

const secretContext = (userId: string) => `mfa_totp:${userId}`
/** A 6-digit TOTP code; anything else in a `code` field is read as a recovery code. */
const TOTP_SHAPE = /^[0-9]{6}$/

/**
 * Multi-factor authentication (RFC 6238 TOTP and recovery codes; ASVS v5.0.0 6.3.3, 6.5): set-up,
 * activation, recovery codes, turning it off (the user or an admin), and the login challenge that every
 * path to a session goes through once MFA is on. TOTP secrets are stored encrypted; recovery codes and
 * mfa_tokens only as hashes; no response after set-up ever returns a secret.
 */
export function createMfaService (deps: MfaDeps) {
  const { db, users, clock, encryption, audit, sessions, throttle, issuer } = deps
  const verifyTotal = new Counter({ name: 'auth_mfa_verify_total', help: 'Second-factor checks at login, by result', labelNames: ['result'] as const, registers: [deps.metrics.registry] })
  /** The account's failed-login budget refused a code: counted and audited like a refused password. */
  const accountLimited = (userId: string, route: string, meta: RequestMeta) => async () => {
    deps.metrics.rateLimited.inc({ route: `${route}_account` })
    await audit.note({ type: 'rate_limit.exceeded', userId, meta, details: { limit: 'login_account', route } })
  }
  const notify = async (tx: Db, userId: string, event: NoticeEvent, data?: Record<string, string | number>) => {
    if (deps.notifier) await deps.notifier.notify(tx, userId, event, data)
  }

  async function loadUser (id: string): Promise<UserRow> {
    const user = await users.findById(id)
    if (!user) throw mfaErrors.userNotFound()
    return user
  }

  async function assertPassword (user: UserRow, password: string): Promise<void> {
    if (!await deps.verifyPassword(user.password_hash, password)) throw mfaErrors.wrongPassword()
  }

  function decryptSecret (userId: string, envelope: string): Uint8Array {
    try {
      return encryption.decrypt(envelope, secretContext(userId))
    } catch (err) {
      // A wrong or missing DATA_ENCRYPTION_KEY: a server fault, never the client's (503, logged).
      if (err instanceof DecryptionError) throw mfaErrors.unavailable(err)
      throw err
    }
  }

  /**
   * Checks a second factor of an account with MFA on. A TOTP code counts only for a step later than
   * the last accepted one (recorded atomically: of two requests with one code exactly one passes); a
   * recovery code is spent atomically. Returns false for a wrong, replayed or spent code.
   */
  async function checkProof (userId: string, proof: MfaProof, meta: RequestMeta): Promise<boolean> {
    const now = clock.now()
    if (proof.kind === 'totp') {
      const factor = await mfaRepository.findActive(db, userId)
      if (!factor) return false
      const step = matchTotp(decryptSecret(userId, factor.secret_enc), proof.code, now)
      if (step === null || (factor.last_used_step !== null && step <= factor.last_used_step)) return false
      return mfaRepository.acceptStep(db, userId, step)
    }
    const normalised = normaliseRecoveryCode(proof.code)
    if (!normalised) return false
    if (!await mfaRepository.spendRecoveryCode(db, userId, encryption.keyedHashes(normalised, RECOVERY_CODE_PURPOSE), now)) return false
    const remaining = await mfaRepository.countUnusedRecoveryCodes(db, userId)
    await audit.note({ type: 'mfa.recovery_code_used', actorId: userId, userId, meta, details: { remaining } })
    await notify(db, userId, 'recovery_code_used', { remaining })
    return true
  }

  /** A signed-in user confirms a sensitive MFA change with a code; wrong codes spend the account's budget. */
  async function assertOwnCode (user: UserRow, code: string, meta: RequestMeta): Promise<void> {
    await throttle.assertOpen(user.id, accountLimited(user.id, 'mfa', meta))
    const proof: MfaProof = TOTP_SHAPE.test(code.trim()) ? { kind: 'totp', code: code.trim() } : { kind: 'recovery_code', code }
    if (!await checkProof(user.id, proof, meta)) {
      await throttle.recordFailure(user.id)
      throw mfaErrors.wrongCode()
    }
  }

  /** Ten new recovery codes for `userId`, replacing the old set in `tx`; returns them in clear, once. */
  async function newRecoveryCodes (tx: Db, userId: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode)
    const hashes = codes.map(code => encryption.keyedHash(normaliseRecoveryCode(code) ?? code, RECOVERY_CODE_PURPOSE))
    await mfaRepository.replaceRecoveryCodes(tx, userId, hashes, clock.now())
    return codes
  }

  return {
    /**
     * Step 1 of the set-up: a new 160-bit secret, pending for 600 s (replacing an older pending one).
     * Throws 400 wrong_password, 409 mfa_already_enabled.
     */
    async startSetup (actor: Actor, currentPassword: string): Promise<{ secret: string, otpauth_uri: string, expires_in: number }> {
      const user = await loadUser(actor.userId)
      await assertPassword(user, currentPassword)
      if (user.mfa_enabled) throw mfaErrors.alreadyEnabled()
      const secret = newTotpSecret()
      const now = clock.now()
      const stored = await mfaRepository.putPending(db, {
        user_id: user.id,
        secret_enc: encryption.encrypt(secret, secretContext(user.id)),
        pending_expires_at: new Date(now.getTime() + SETUP_TTL * 1000),
        created_at: now
      })
      if (!stored) throw mfaErrors.alreadyEnabled()
      return { secret: secretBase32(secret), otpauth_uri: otpauthUri({ issuer, account: user.email, secret }), expires_in: SETUP_TTL }
    },

    /**
     * Step 2: a code of the pending secret turns MFA on, returns 10 recovery codes (shown only here)
     * and ends every other session of the user. Throws 400 (wrong code, no pending set-up), 429.
     */
    async activate (actor: Actor, code: string, meta: RequestMeta): Promise<{ recovery_codes: string[] }> {
      const user = await loadUser(actor.userId)
      await throttle.assertOpen(user.id, accountLimited(user.id, 'mfa', meta))
      let revoked: string[] = []
      const outcome = await db.transaction(async (tx) => {
        const now = clock.now()
        const pending = await mfaRepository.lockPending(tx, user.id, now)
        if (!pending) return 'no_setup' as const
        const step = matchTotp(decryptSecret(user.id, pending.secret_enc), code, now)
        if (step === null) return 'wrong_code' as const
        await mfaRepository.activate(tx, user.id, step, now)
        await users.update(user.id, { mfa_enabled: true, updated_at: now }, tx)
        const codes = await newRecoveryCodes(tx, user.id)
        revoked = await sessions.revokeAllForUser(user.id, 'mfa_enabled', actor.sessionId, tx)
        await audit.record({ type: 'mfa.enabled', actorId: user.id, userId: user.id, meta, details: { sessions_revoked: revoked.length } }, tx)
        await notify(tx, user.id, 'mfa_enabled')
        return codes
      })
      if (outcome === 'no_setup') throw mfaErrors.noPendingSetup()
      if (outcome === 'wrong_code') {
        await throttle.recordFailure(user.id)
        throw mfaErrors.wrongCode()
      }
      await sessions.markRevoked(revoked)
      return { recovery_codes: outcome }
    },

    /** A new set of 10 recovery codes; the old set stops working. Throws 400, 409 mfa_not_enabled, 429. */
    async regenerateRecoveryCodes (actor: Actor, currentPassword: string, code: string, meta: RequestMeta): Promise<{ recovery_codes: string[] }> {
      const user = await loadUser(actor.userId)
      await assertPassword(user, currentPassword)
      if (!user.mfa_enabled) throw mfaErrors.notEnabled()
      await assertOwnCode(user, code, meta)
      const codes = await db.transaction(tx => newRecoveryCodes(tx, user.id))
      return { recovery_codes: codes }
    },

    /** Turns MFA off (the factor, recovery codes and open challenges go). Throws 400, 409 mfa_not_enabled, 429. */
    async disable (actor: Actor, currentPassword: string, code: string, meta: RequestMeta): Promise<void> {
      const user = await loadUser(actor.userId)
      await assertPassword(user, currentPassword)
      if (!user.mfa_enabled) throw mfaErrors.notEnabled()
      await assertOwnCode(user, code, meta)
      await db.transaction(async (tx) => {
        await mfaRepository.removeAll(tx, user.id)
        await users.update(user.id, { mfa_enabled: false, updated_at: clock.now() }, tx)
        await audit.record({ type: 'mfa.disabled', actorId: user.id, userId: user.id, meta }, tx)
        await notify(tx, user.id, 'mfa_disabled')
      })
    },

    /**
     * An admin turns a user's MFA off (a lost phone): factor and recovery codes gone, every session of
     * the user revoked, audited, a notice mailed. Throws 404 user_not_found, 409 mfa_not_enabled.
     */
    async adminReset (actor: Actor, userId: string, meta: RequestMeta): Promise<void> {
      let revoked: string[] = []
      await db.transaction(async (tx) => {
        const target = await users.findById(userId, tx)
        if (!target) throw mfaErrors.userNotFound()
        if (!target.mfa_enabled) throw mfaErrors.notEnabled()
        await mfaRepository.removeAll(tx, userId)
        await users.update(userId, { mfa_enabled: false, updated_at: clock.now() }, tx)
        revoked = await sessions.revokeAllForUser(userId, 'mfa_reset_by_admin', undefined, tx)
        await audit.record({ type: 'mfa.reset_by_admin', actorId: actor.userId, userId, meta, details: { sessions_revoked: revoked.length } }, tx)
        await notify(tx, userId, 'mfa_reset_by_admin')
      })
      await sessions.markRevoked(revoked)
    },

    /**
     * Opens the second step of a login whose first factor (`method`: password, google, github) was
     * right: an opaque mfa_token (256 bits, stored as a SHA-256 hash), valid 300 s, single use.
     */
    async challenge (userId: string, method: string): Promise<MfaChallenge> {
      const token = newSecret()
      const now = clock.now()
      await mfaRepository.insertChallenge(db, { id: newId(), token_hash: sha256(token), user_id: userId, method, created_at: now, expires_at: new Date(now.getTime() + CHALLENGE_TTL * 1000) })
      return { mfa_token: token, expires_in: CHALLENGE_TTL, methods: [...MFA_METHODS] }
    },

    /**
     * Redeems an mfa_token with a TOTP or recovery code. Order: a live token (else 401
     * mfa_token_invalid), the account's failed-login budget (else 429, even with a right code), one
     * of the token's 5 attempts, then the code (a wrong or replayed one: 401 mfa_code_invalid, a failed
     * login of the account). Returns whose session to start and its `amr`.
     */
    async redeem (mfaToken: string, proof: MfaProof, meta: RequestMeta, route: string): Promise<MfaPassed> {
      const now = clock.now()
      const challenge = mfaToken.length <= 512 ? await mfaRepository.findLiveChallenge(db, sha256(mfaToken), now, CHALLENGE_MAX_ATTEMPTS) : undefined
      if (!challenge) {
        verifyTotal.inc({ result: 'invalid_token' })
        throw mfaErrors.tokenInvalid()
      }
      const userId = challenge.user_id
      try {
        await throttle.assertOpen(userId, accountLimited(userId, route, meta))
      } catch (err) {
        verifyTotal.inc({ result: 'rate_limited' })
        throw err
      }
      if (!await mfaRepository.takeAttempt(db, challenge.id, now, CHALLENGE_MAX_ATTEMPTS)) {
        verifyTotal.inc({ result: 'invalid_token' })
        throw mfaErrors.tokenInvalid()
      }
      if (!await checkProof(userId, proof, meta)) {
        await throttle.recordFailure(userId)
        verifyTotal.inc({ result: 'invalid_code' })
        await audit.note({ type: 'login.failure', userId, meta, details: { reason: 'mfa_code_invalid', route, factor: proof.kind } })
        throw mfaErrors.codeInvalid()
      }
      if (!await mfaRepository.complete(db, challenge.id, clock.now())) {
        verifyTotal.inc({ result: 'invalid_token' })
        throw mfaErrors.tokenInvalid()
      }
      verifyTotal.inc({ result: 'success' })
      // RFC 8176: the first factor's method (`pwd` for a password, `fed` for Google or GitHub), then the second.
      const amr = challenge.method === 'password' ? [...AMR_MFA] : ['fed', 'otp', 'mfa']
      return { userId, method: challenge.method, amr, factor: proof.kind }
    }
  }
}
export type MfaService = ReturnType<typeof createMfaService>

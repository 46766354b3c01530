import type { Actor, RequestMeta } from '../../core/actor.js'
import type { AuditService } from '../audit/index.js'
import type { Clock } from '../../core/clock.js'
import type { Db } from '../../core/db.js'
import { AppError, ValidationError, type FieldError } from '../../core/errors.js'
import type { UserRow } from './users.table.js'
import type { UsersStore } from './users.store.js'
import type { UpdateMeBody } from './users.schemas.js'

/** What the users service needs from auth, kept narrow so the two modules stay apart. */
export interface UsersAuthPort {
  hashPassword: (password: string) => Promise<string>
  /** False for a password-less account (social sign-in only): flows needing current_password answer 400 wrong_password. */
  verifyPassword: (stored: string | null, password: string) => Promise<boolean>
  checkPolicy: (password: string, context: { email: string, username: string | null }, field: string) => FieldError | null
  revokeAllSessions: (userId: string, reason: string, keep?: string) => Promise<void>
  conflictFromUniqueViolation: (err: unknown) => AppError | undefined
}

/** What the users service needs of personal access tokens: revoking all of a user's, at once on every instance. */
export interface UsersTokensPort {
  revokeAll: (userId: string, reason: string) => Promise<void>
}

/** The users port, clock, what users needs from auth and from personal access tokens, and the audit log; optionally the account module's password-change hook. */
export interface UsersDeps {
  store: UsersStore
  clock: Clock
  auth: UsersAuthPort
  tokens: UsersTokensPort
  audit: AuditService
  /** Runs `work` in one transaction (the password change and its consequences commit together). */
  transaction?: <T>(work: (tx: Db) => Promise<T>) => Promise<T>
  /** After a password change, in its transaction: reset links die and a notice is mailed (account module). */
  onPasswordChanged?: (tx: Db, userId: string) => Promise<void>
}

/** The signed-in user's own account: profile, password, deletion. */
export function createUsersService ({ store, clock, auth, tokens, audit, transaction, onPasswordChanged }: UsersDeps) {
  async function load (actor: Actor): Promise<UserRow> {
    const user = await store.findById(actor.userId)
    if (!user) throw new AppError('user_not_found', { detail: 'This account no longer exists' })
    return user
  }

  async function assertPassword (user: UserRow, password: string, field: string): Promise<void> {
    if (!await auth.verifyPassword(user.password_hash, password)) {
      throw new ValidationError(`${field} is incorrect`, [{ field, message: 'is incorrect' }], 'wrong_password')
    }
  }

  return {
    getMe: load,

    async updateMe (actor: Actor, patch: UpdateMeBody): Promise<UserRow> {
      if (patch.name === undefined && patch.username === undefined) return load(actor)
      try {
        const user = await store.update(actor.userId, { ...patch, updated_at: clock.now() })
        if (!user) throw new AppError('user_not_found', { detail: 'This account no longer exists' })
        return user
      } catch (err) {
        throw auth.conflictFromUniqueViolation(err) ?? err
      }
    },

    /** Needs the current password; ends every other session of the user. */
    async changePassword (actor: Actor, currentPassword: string, newPassword: string, meta: RequestMeta): Promise<void> {
      const user = await load(actor)
      await assertPassword(user, currentPassword, 'current_password')
      const weak = auth.checkPolicy(newPassword, { email: user.email, username: user.username }, 'new_password')
      if (weak) throw new ValidationError(`new_password ${weak.message}`, [weak], 'weak_password')
      const passwordHash = await auth.hashPassword(newPassword)
      if (transaction && onPasswordChanged) {
        await transaction(async (tx) => {
          await store.update(user.id, { password_hash: passwordHash, updated_at: clock.now() }, tx)
          await onPasswordChanged(tx, user.id)
        })
      } else {
        await store.update(user.id, { password_hash: passwordHash, updated_at: clock.now() })
      }
      await auth.revokeAllSessions(user.id, 'password_change', actor.sessionId)
      await audit.note({ type: 'password.change', actorId: user.id, userId: user.id, meta })
    },

    /** Needs the password; the account, its sessions (and later its tasks) go with it. */
    async deleteMe (actor: Actor, password: string, meta: RequestMeta): Promise<void> {
      const user = await load(actor)
      await assertPassword(user, password, 'password')
      await auth.revokeAllSessions(user.id, 'account_deleted')
      await tokens.revokeAll(user.id, 'account_deleted')
      await store.remove(user.id)
      await audit.note({ type: 'user.deleted', actorId: user.id, userId: user.id, meta, details: { by: 'self' } })
    }
  }
}
export type UsersService = ReturnType<typeof createUsersService>

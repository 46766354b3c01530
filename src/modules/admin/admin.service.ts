import type { Actor, RequestMeta } from '../../core/actor.js'
import type { AuditListQuery, AuditService } from '../audit/index.js'
import type { Clock } from '../../core/clock.js'
import type { Db } from '../../core/db.js'
import { AppError } from '../../core/errors.js'
import { idFromCursor, pageById, type Page } from '../../core/pagination.js'
import type { TasksService } from '../tasks/index.js'
import type { UserRow, UsersStore } from '../users/index.js'
import type { AdminTaskQuery, AdminUserPatch, AdminUserQuery } from './admin.schemas.js'

/** What admin needs from auth: ending all of a user's sessions, inside the change's transaction. */
export interface AdminSessionsPort {
  revokeAllForUser: (userId: string, reason: string, keep: string | undefined, tx: Db) => Promise<string[]>
  markRevoked: (sids: readonly string[]) => Promise<void>
}

/** What admin needs from MFA: the lost-phone reset (404, 409 when MFA is not on). */
export interface AdminMfaPort {
  adminReset: (actor: Actor, userId: string, meta: RequestMeta) => Promise<void>
}

/** What the admin service composes: the users port, the tasks service, session revocation, the audit log and MFA's reset. */
export interface AdminDeps { db: Db, users: UsersStore, clock: Clock, tasks: TasksService, sessions: AdminSessionsPort, audit: AuditService, mfa: AdminMfaPort }

/**
 * The admin API's rules: user management with the last-active-admin guard, and anyone's tasks.
 * A role change, deactivation or deletion ends all the user's sessions at once.
 */
export function createAdminService ({ db, users, clock, tasks, sessions, audit, mfa }: AdminDeps) {
  /** Throws 409 when `target` is the only active admin and the change would remove that. */
  async function guardLastAdmin (tx: Db, target: UserRow, stillActiveAdmin: boolean): Promise<void> {
    const admins = await users.lockActiveAdmins(tx)
    const isActiveAdmin = admins.includes(target.id)
    if (isActiveAdmin && !stillActiveAdmin && admins.length <= 1) {
      throw new AppError('last_admin', { detail: 'This is the last active admin: promote another user first' })
    }
  }

  async function findUser (tx: Db, id: string): Promise<UserRow> {
    const user = await users.findById(id, tx)
    if (!user) throw new AppError('user_not_found', { detail: 'User not found' })
    return user
  }

  return {
    async listUsers (query: AdminUserQuery): Promise<Page<UserRow>> {
      const afterId = idFromCursor(query.cursor)
      const rows = await users.list({ q: query.q, role: query.role, isActive: query.is_active, limit: query.limit + 1, afterId })
      return pageById(rows, query.limit)
    },

    getUser: (id: string) => findUser(db, id),

    async updateUser (actor: Actor, id: string, patch: AdminUserPatch, meta: RequestMeta): Promise<UserRow> {
      let revoked: string[] = []
      const user = await db.transaction(async (tx) => {
        const target = await findUser(tx, id)
        const role = patch.role ?? target.role
        const isActive = patch.is_active ?? target.is_active
        await guardLastAdmin(tx, target, role === 'admin' && isActive)
        const updated = await users.update(id, { role, is_active: isActive, updated_at: clock.now() }, tx)
        if (!updated) throw new AppError('user_not_found', { detail: 'User not found' })
        if (role !== target.role || (!isActive && target.is_active)) {
          revoked = await sessions.revokeAllForUser(id, role !== target.role ? 'role_changed' : 'deactivated', undefined, tx)
        }
        await audit.record({ type: 'user.updated_by_admin', actorId: actor.userId, userId: id, meta, details: { ...patch, sessions_revoked: revoked.length } }, tx)
        return updated
      })
      await sessions.markRevoked(revoked)
      return user
    },

    async deleteUser (actor: Actor, id: string, meta: RequestMeta): Promise<UserRow> {
      let revoked: string[] = []
      const user = await db.transaction(async (tx) => {
        const target = await findUser(tx, id)
        await guardLastAdmin(tx, target, false)
        revoked = await sessions.revokeAllForUser(id, 'account_deleted', undefined, tx)
        await users.remove(id, tx)
        await audit.record({ type: 'user.deleted', actorId: actor.userId, userId: id, meta, details: { by: 'admin', email: target.email } }, tx)
        return target
      })
      await sessions.markRevoked(revoked)
      return user
    },

    /** Turns a user's MFA off (recovery codes gone, every session revoked, audited, a notice mailed). */
    resetMfa: (actor: Actor, id: string, meta: RequestMeta) => mfa.adminReset(actor, id, meta),

    listTasks: (query: AdminTaskQuery) => tasks.listAll(query),

    async deleteTask (actor: Actor, id: string, meta: RequestMeta): Promise<void> {
      const task = await tasks.removeAny(actor, id)
      await audit.note({ type: 'task.deleted_by_admin', actorId: actor.userId, userId: task.owner_id, meta, details: { task_id: task.id, title: task.title } })
    },

    listAuditEvents: (query: AuditListQuery) => audit.list(query)
  }
}
export type AdminService = ReturnType<typeof createAdminService>

import type { Db } from '../../core/db.js'
import { usersRepository, type UserListQuery } from './users.repository.js'
import type { NewUserRow, UserRow } from './users.table.js'

/** The columns other modules may change: never `id`, `email` or `created_at`. */
export type UserChanges = Partial<Pick<NewUserRow, 'role' | 'is_active' | 'password_hash' | 'email_verified' | 'mfa_enabled' | 'name' | 'username' | 'updated_at'>>

/**
 * The users module's door for account data (principle 1): auth, admin and the CLI read and write
 * users through this port, never through the repository or the table. Bound to the database; every
 * method takes an optional executor `tx` (a transaction) as its last argument, so the change commits
 * with the caller's other writes. Rows are returned whole (`UserRow`, with the password hash): the
 * HTTP response schemas are what keep the hash out of responses.
 */
export function createUsersStore (db: Db) {
  return {
    /** The user with this id, or undefined. */
    findById: (id: string, tx: Db = db): Promise<UserRow | undefined> => usersRepository.findById(tx, id),
    /** By email, compared case-insensitively. */
    findByEmail: (email: string, tx: Db = db): Promise<UserRow | undefined> => usersRepository.findByEmail(tx, email),
    /** By login name: an email (it contains `@`) or a username, both case-insensitive. */
    findByLogin: (identifier: string, tx: Db = db): Promise<UserRow | undefined> => usersRepository.findByLogin(tx, identifier),
    /** Inserts a user. Throws the driver's unique violation (23505) on a taken email or username: map it with `conflictFromUniqueViolation`. */
    create: (row: NewUserRow, tx: Db = db): Promise<UserRow> => usersRepository.insert(tx, row),
    /** Applies `changes`; undefined when the user no longer exists. */
    update: (id: string, changes: UserChanges, tx: Db = db): Promise<UserRow | undefined> => usersRepository.update(tx, id, changes),
    /**
     * Moves the account to a new address (lower-cased) that a mailed link just proved, so it is also
     * verified. Throws the driver's unique violation (23505) when the address is taken.
     */
    changeEmail: (id: string, email: string, at: Date, tx: Db = db): Promise<UserRow | undefined> =>
      usersRepository.update(tx, id, { email: email.toLowerCase(), email_verified: true, updated_at: at }),
    /** Deletes the user (sessions and tasks go with it, by foreign-key cascade); false when there was none. */
    remove: (id: string, tx: Db = db): Promise<boolean> => usersRepository.delete(tx, id),
    /** Up to `limit` users, newest first, after the id `afterId` (keyset paging). */
    list: (query: UserListQuery, tx: Db = db): Promise<UserRow[]> => usersRepository.list(tx, query),
    /** Locks the active admins' rows (FOR UPDATE) until `tx` ends and returns their ids: serialises "last admin" checks. */
    lockActiveAdmins: (tx: Db): Promise<string[]> => usersRepository.lockActiveAdmins(tx)
  }
}
/** See {@link createUsersStore}. */
export type UsersStore = ReturnType<typeof createUsersStore>

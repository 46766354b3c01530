import { and, desc, eq, lt, or, sql } from 'drizzle-orm'
import { prepared, type Db } from '../../core/db.js'
import { likePattern } from '../../core/sql.js'
import { usersTable, type NewUserRow, type UserRow } from './users.table.js'

const byId = (db: Db, name: string) => db.select().from(usersTable).where(eq(usersTable.id, sql.placeholder('id'))).limit(1).prepare(name)

/** Case-insensitive lookups, served by the lower(email) and lower(username) unique indexes. */
const byLowerColumn = (column: typeof usersTable.email | typeof usersTable.username) => (db: Db, name: string) =>
  db.select().from(usersTable).where(sql`lower(${column}) = lower(${sql.placeholder('value')})`).limit(1).prepare(name)

/** Filters of the admin's user list; `limit` rows after `afterId` (newest first). */
export interface UserListQuery { q?: string | undefined, role?: UserRow['role'] | undefined, isActive?: boolean | undefined, limit: number, afterId?: string | undefined }

/** SQL for users; every function takes the executor (the db or a transaction). Private to the users module: others use the UsersStore port. */
export const usersRepository = {
  async insert (db: Db, row: NewUserRow): Promise<UserRow> {
    const [user] = await db.insert(usersTable).values(row).returning()
    if (!user) throw new Error('insert returned no row')
    return user
  },

  async findById (db: Db, id: string): Promise<UserRow | undefined> {
    const [user] = await prepared(db, 'users_by_id', byId).execute({ id })
    return user
  },

  async findByEmail (db: Db, email: string): Promise<UserRow | undefined> {
    const [user] = await prepared(db, 'users_by_email', byLowerColumn(usersTable.email)).execute({ value: email })
    return user
  },

  /** An email (it has an @) or a username; both compared case-insensitively, through their unique indexes. */
  async findByLogin (db: Db, identifier: string): Promise<UserRow | undefined> {
    if (identifier.includes('@')) return usersRepository.findByEmail(db, identifier)
    const [user] = await prepared(db, 'users_by_username', byLowerColumn(usersTable.username)).execute({ value: identifier })
    return user
  },

  async update (db: Db, id: string, patch: Partial<Omit<NewUserRow, 'id' | 'created_at'>>): Promise<UserRow | undefined> {
    const [user] = await db.update(usersTable).set(patch).where(eq(usersTable.id, id)).returning()
    return user
  },

  /** Locks every active admin row (FOR UPDATE) and returns their ids: serialises "is this the last admin?" checks. */
  async lockActiveAdmins (tx: Db): Promise<string[]> {
    const rows = await tx.select({ id: usersTable.id }).from(usersTable)
      .where(and(eq(usersTable.role, 'admin'), eq(usersTable.is_active, true))).for('update')
    return rows.map(r => r.id)
  },

  /** A page of users, newest first (ids are time-ordered UUIDv7), keyset on id. */
  async list (db: Db, query: UserListQuery): Promise<UserRow[]> {
    const pattern = query.q ? likePattern(query.q) : undefined
    return db.select().from(usersTable).where(and(
      pattern ? or(sql`${usersTable.email} ilike ${pattern}`, sql`${usersTable.username} ilike ${pattern}`, sql`${usersTable.name} ilike ${pattern}`) : undefined,
      query.role ? eq(usersTable.role, query.role) : undefined,
      query.isActive === undefined ? undefined : eq(usersTable.is_active, query.isActive),
      query.afterId ? lt(usersTable.id, query.afterId) : undefined
    )).orderBy(desc(usersTable.id)).limit(query.limit)
  },

  async delete (db: Db, id: string): Promise<boolean> {
    const rows = await db.delete(usersTable).where(eq(usersTable.id, id)).returning({ id: usersTable.id })
    return rows.length > 0
  }
}
export type UsersRepository = typeof usersRepository

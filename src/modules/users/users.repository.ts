import { eq, sql } from 'drizzle-orm'
import type { Db } from '../../core/db.js'
import { usersTable, type NewUserRow, type UserRow } from './users.table.js'

/** SQL for users; every function takes the executor (the db or a transaction). */
export const usersRepository = {
  async insert (db: Db, row: NewUserRow): Promise<UserRow> {
    const [user] = await db.insert(usersTable).values(row).returning()
    if (!user) throw new Error('insert returned no row')
    return user
  },

  async findById (db: Db, id: string): Promise<UserRow | undefined> {
    const [user] = await db.select().from(usersTable).where(eq(usersTable.id, id)).limit(1)
    return user
  },

  async findByEmail (db: Db, email: string): Promise<UserRow | undefined> {
    const [user] = await db.select().from(usersTable).where(sql`lower(${usersTable.email}) = lower(${email})`).limit(1)
    return user
  },

  /** An email (it has an @) or a username; both compared case-insensitively, through their unique indexes. */
  async findByLogin (db: Db, identifier: string): Promise<UserRow | undefined> {
    if (identifier.includes('@')) return usersRepository.findByEmail(db, identifier)
    const [user] = await db.select().from(usersTable).where(sql`lower(${usersTable.username}) = lower(${identifier})`).limit(1)
    return user
  },

  async update (db: Db, id: string, patch: Partial<Omit<NewUserRow, 'id' | 'created_at'>>): Promise<UserRow | undefined> {
    const [user] = await db.update(usersTable).set(patch).where(eq(usersTable.id, id)).returning()
    return user
  },

  async delete (db: Db, id: string): Promise<boolean> {
    const rows = await db.delete(usersTable).where(eq(usersTable.id, id)).returning({ id: usersTable.id })
    return rows.length > 0
  }
}
export type UsersRepository = typeof usersRepository

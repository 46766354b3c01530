import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { eq } from 'drizzle-orm'
import type { Database } from '../src/core/db.js'
import { tasksTable } from '../src/modules/tasks/tasks.table.js'
import { createUsersStore, type UserRow } from '../src/modules/users/index.js'

export const DEFAULT_PASSWORD = 'correct horse battery staple 9'

export interface TaskJson {
  id: string
  title: string
  description: string | null
  status: string
  priority: string
  due_at: string | null
  tags: string[]
  owner_id: string
  created_at: string
  updated_at: string
  completed_at: string | null
}

export interface Tokens { access_token: string, refresh_token: string, expires_in: number, user: { id: string, email: string } }

/** Unique, readable test data: every test owns what it makes. */
export function uniqueEmail (label = 'user'): string {
  return `${label}-${randomUUID().slice(0, 8)}@example.test`
}

export function makeFactories (app: FastifyInstance, database: Database) {
  const users = createUsersStore(database.db)
  async function register (input: { email?: string, password?: string, username?: string, name?: string } = {}, headers: Record<string, string> = {}): Promise<Tokens> {
    const payload = { email: input.email ?? uniqueEmail(), password: input.password ?? DEFAULT_PASSWORD, ...(input.username ? { username: input.username } : {}), ...(input.name ? { name: input.name } : {}) }
    const res = await app.inject({ method: 'POST', url: '/v1/auth/register', payload, headers })
    if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`)
    return res.json<Tokens>()
  }

  return {
    register,
    /** A registered user with a live session; `password` is theirs. */
    async user (input: { email?: string, password?: string, username?: string } = {}) {
      const password = input.password ?? DEFAULT_PASSWORD
      const tokens = await register({ ...input, password })
      return { ...tokens.user, password, tokens }
    },
    /** An active admin with a fresh session (admins are never made over HTTP: this writes the role directly). */
    async admin () {
      const user = await register()
      await users.update(user.user.id, { role: 'admin' })
      const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.user.email, password: DEFAULT_PASSWORD } })
      const tokens = res.json<Tokens>()
      return { ...tokens.user, password: DEFAULT_PASSWORD, tokens }
    },
    async login (identifier: { email?: string, username?: string }, password = DEFAULT_PASSWORD): Promise<Tokens> {
      const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { ...identifier, password } })
      if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
      return res.json<Tokens>()
    },
    bearer: (token: string) => ({ authorization: `Bearer ${token}` }),
    /** Creates a task through the API as the holder of `token`. */
    async task (token: string, input: Record<string, unknown> = {}): Promise<TaskJson> {
      const res = await app.inject({ method: 'POST', url: '/v1/tasks', headers: { authorization: `Bearer ${token}` }, payload: { title: 'A task', ...input } })
      if (res.statusCode !== 201) throw new Error(`task create failed: ${res.statusCode} ${res.body}`)
      return res.json<TaskJson>()
    },
    reloadTask: async (id: string) => (await database.db.select().from(tasksTable).where(eq(tasksTable.id, id)))[0],
    reloadUser: (id: string): Promise<UserRow | undefined> => users.findById(id),
    updateUser: (id: string, patch: Partial<UserRow>) => users.update(id, patch)
  }
}
export type Factories = ReturnType<typeof makeFactories>

export const uniqueUsername = () => `u_${randomUUID().slice(0, 8)}`

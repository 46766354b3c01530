import type { Clock } from '../core/clock.js'
import type { Db } from '../core/db.js'
import { newId } from '../core/ids.js'
import type { Config } from '../config.js'
import { checkPassword, conflictFromUniqueViolation, createPasswordHasher } from '../modules/auth/index.js'
import { createUsersStore } from '../modules/users/index.js'

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}\.[^\s@]{1,63}$/
const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/

/** A bad command-line argument (invalid email, weak password, taken username): printed, exit code 2. */
export class CliInputError extends Error {
  override name = 'CliInputError'
}

/** Creates an admin, or promotes the existing account with that email (its password is left as it is). */
export async function createAdmin (deps: { db: Db, clock: Clock, config: Config }, input: { email: string, password: string, username?: string | undefined }): Promise<{ created: boolean, id: string }> {
  const email = input.email.trim().toLowerCase()
  if (!EMAIL.test(email) || email.length > 254) throw new CliInputError(`not a valid email address: ${input.email}`)
  if (input.username !== undefined && !USERNAME.test(input.username)) throw new CliInputError('username must be 3-32 characters of letters, digits, _ . -')
  const users = createUsersStore(deps.db)
  const existing = await users.findByEmail(email)
  if (existing) {
    await users.update(existing.id, { role: 'admin', is_active: true, updated_at: deps.clock.now() })
    return { created: false, id: existing.id }
  }
  const weak = checkPassword(input.password, { email, username: input.username }, deps.config.passwords)
  if (weak) throw new CliInputError(`weak password: it ${weak.message}`)
  const hasher = await createPasswordHasher({ concurrency: 1, queueLimit: 1 })
  const now = deps.clock.now()
  try {
    const user = await users.create({
      id: newId(), email, username: input.username ?? null, name: null, password_hash: await hasher.hash(input.password), role: 'admin', created_at: now, updated_at: now
    })
    return { created: true, id: user.id }
  } catch (err) {
    const conflict = conflictFromUniqueViolation(err)
    if (conflict) throw new CliInputError(conflict.message)
    throw err
  } finally {
    await hasher.close()
  }
}

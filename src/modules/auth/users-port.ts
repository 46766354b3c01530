import type { UsersAuthPort } from '../users/index.js'
import { conflictFromUniqueViolation } from './auth.service.js'
import { checkPassword, type PolicyOptions } from './password-policy.js'
import type { PasswordHasher } from './passwords.js'
import type { Sessions } from './sessions.js'

/** What the users module needs from auth (password hashing and policy, ending sessions), built from auth's parts. */
export function createUsersAuthPort ({ hasher, sessions, policy }: { hasher: PasswordHasher, sessions: Sessions, policy: PolicyOptions }): UsersAuthPort {
  return {
    hashPassword: hasher.hash,
    verifyPassword: async (stored, password) => (await hasher.verify(stored, password)).ok,
    checkPolicy: (password, context, field) => checkPassword(password, context, policy, field),
    revokeAllSessions: async (userId, reason, keep) => { await sessions.revokeAllForUser(userId, reason, keep) },
    conflictFromUniqueViolation
  }
}

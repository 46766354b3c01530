import type { preHandlerHookHandler } from 'fastify'
import type { Actor } from '../actor.js'
import { AppError } from '../errors.js'

/** The one role guard: a preHandler after `authenticate`. Handlers never check roles themselves. */
export function requireRole (role: Actor['role']): preHandlerHookHandler {
  return async function roleGuard (req) {
    if (!req.principal) throw new AppError('unauthenticated', { detail: 'Authentication required' })
    if (req.principal.role !== role) {
      req.log.info({ code: 'forbidden', userId: req.principal.userId, required: role }, 'role required')
      throw new AppError('forbidden', { detail: `This action needs the ${role} role` })
    }
  }
}

import type { FastifyRequest } from 'fastify'
import type { Actor } from '../actor.js'
import { AppError } from '../errors.js'
import type { Role } from '../schemas.js'

/**
 * Who may call a route, declared on the route (`config: { auth: { role: 'admin' } }`) or for a whole
 * module (see `requireForModule`). Checked by the authenticate hook right after the token, in
 * onRequest: no or bad credentials → 401, then this → 403, and only then is the input validated
 * (API.md Conventions, order of checks).
 */
export interface RouteAuth {
  /** The role the caller must have (403 `forbidden` otherwise). */
  role?: Role
  /**
   * The scope a personal access token must carry (403 `insufficient_scope` with
   * `WWW-Authenticate: Bearer error="insufficient_scope"`, RFC 6750 §3.1). Access tokens carry every
   * scope. A route without `scope` is closed to scoped tokens altogether (API.md).
   */
  scope?: string
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route; see RouteAuth. */
    auth?: RouteAuth
  }
}

/**
 * Throws when `actor` may not call a route with `rule`: 403 `forbidden` for a missing role,
 * 403 `insufficient_scope` for a scoped token without the route's scope. Pure: unit-testable.
 */
export function assertAllowed (actor: Actor, rule: RouteAuth | undefined): void {
  if (actor.scopes !== undefined && (rule?.scope === undefined || !actor.scopes.includes(rule.scope))) {
    throw new AppError('insufficient_scope', { detail: rule?.scope === undefined ? 'This route cannot be called with a personal access token' : `This route needs the ${rule.scope} scope` })
  }
  if (rule?.role !== undefined && actor.role !== rule.role) {
    throw new AppError('forbidden', { detail: `This action needs the ${rule.role} role` })
  }
}

/** Applies the route's `config.auth` to the authenticated request (called by the authenticate hook). */
export function authorizeRequest (req: FastifyRequest, actor: Actor): void {
  try {
    assertAllowed(actor, req.routeOptions.config?.auth)
  } catch (err) {
    req.log.info({ code: (err as AppError).code, userId: actor.userId, required: req.routeOptions.config?.auth }, 'route refused')
    throw err
  }
}

/**
 * An onRoute hook for a module plugin: every route registered in it gets `rule` (a route's own
 * `config.auth` members win). Encapsulated: it applies only to the module's routes.
 */
export function requireForModule (rule: RouteAuth) {
  return (route: { config?: unknown }) => {
    const config = (route.config ?? {}) as { auth?: RouteAuth }
    route.config = { ...config, auth: { ...rule, ...config.auth } }
  }
}

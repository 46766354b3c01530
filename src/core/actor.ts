import type { Role } from './schemas.js'

/** The authenticated caller, as established by a verified access token whose session is live. */
export interface Actor {
  readonly userId: string
  readonly sessionId: string
  readonly role: Role
  readonly email: string
  /**
   * Scopes of a personal access token; undefined for an access token, which may do everything its
   * role allows. Checked against the route's `config.auth.scope` (core/http/authorize.ts).
   */
  readonly scopes?: readonly string[]
}

/** Where a request came from, for sessions and (later) the audit log. */
export interface RequestMeta {
  readonly ip: string | null
  readonly userAgent: string | null
}

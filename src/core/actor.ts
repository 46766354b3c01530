import type { Scope } from './scopes.js'

/**
 * The authenticated caller: a verified access token whose session is live, or a live personal access
 * token (then `scopes` and `tokenId` are set, and `sessionId` is the token's id: it has no session).
 */
export interface Actor {
  readonly userId: string
  readonly sessionId: string
  readonly role: 'user' | 'admin'
  readonly email: string
  /** Only for a personal access token: the routes it may reach. An access token has none and reaches what its role allows. */
  readonly scopes?: readonly Scope[]
  /** Only for a personal access token: its id. */
  readonly tokenId?: string
}

/** Where a request came from, for sessions and (later) the audit log. */
export interface RequestMeta {
  readonly ip: string | null
  readonly userAgent: string | null
}

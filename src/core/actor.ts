/** The authenticated caller, as established by a verified access token whose session is live. */
export interface Actor {
  readonly userId: string
  readonly sessionId: string
  readonly role: 'user' | 'admin'
  readonly email: string
}

/** Where a request came from, for sessions and (later) the audit log. */
export interface RequestMeta {
  readonly ip: string | null
  readonly userAgent: string | null
}

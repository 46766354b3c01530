/**
 * Scopes of personal access tokens (API.md, "Personal access tokens"). An access token from a login
 * has no scopes and reaches every route its role allows; a personal access token reaches only the
 * routes that declare one of its scopes, and no route that declares none.
 */
export const SCOPES = ['tasks:read', 'tasks:write', 'profile:read'] as const
export type Scope = typeof SCOPES[number]

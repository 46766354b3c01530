import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify'
import { authRoutes } from './auth.routes.js'
import type { AuthService } from './auth.service.js'
import type { AuthRateLimits } from './rate-limits.js'
import { tokenRoutes, type AuthorizationCodeGrant } from './token.routes.js'

export { createAuthService, conflictFromUniqueViolation, type AuthService, type TokenPair } from './auth.service.js'
export type { AuthorizationCodeGrant } from './token.routes.js'
export { createAccessTokens, type AccessTokens, type AccessClaims } from './access-tokens.js'
export { createSigningKeys, KeyNotFoundError, loadKeyRing, SigningKeyUnreadableError, type KeyInfo, type KeyRing, type SigningKeys } from './signing-keys.js'
export { createPasswordHasher, type PasswordHasher } from './passwords.js'
export { checkPassword } from './password-policy.js'
export { createSessions, sessionCleanupRules, type Sessions } from './sessions.js'
export { createRefreshTokens, type RefreshTokens } from './refresh-tokens.js'
export { createMemorySessionCache, createRedisSessionCache, type SessionCache } from './session-cache.js'
export { wellKnownRoutes } from './well-known.routes.js'
export { authComponents } from './auth.schemas.js'
export { createAuthRateLimits, type AuthRateLimits } from './rate-limits.js'
export { createUsersAuthPort } from './users-port.js'

export interface AuthModuleOptions {
  auth: AuthService
  authenticate: onRequestHookHandler
  rateLimits: AuthRateLimits
  /** Social sign-in's code exchange at the token endpoint (identities module); absent: that grant is unsupported. */
  authorizationCode?: AuthorizationCodeGrant | undefined
}

/** `/v1/auth`: the JSON auth routes and the OAuth2 token endpoint. */
export const authModule: FastifyPluginAsync<AuthModuleOptions> = async (app, { auth, authenticate, rateLimits, authorizationCode }) => {
  await app.register(authRoutes, { auth, authenticate, rateLimits })
  await app.register(tokenRoutes, { auth, rateLimit: rateLimits.token, authorizationCode })
}

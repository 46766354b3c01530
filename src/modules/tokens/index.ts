import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify'
import { tokensRoutes } from './tokens.routes.js'
import type { TokensService } from './tokens.service.js'

export { createTokensService, MAX_LIVE_TOKENS, type TokensService, type TokenRecord } from './tokens.service.js'
export { createMemoryTokenCache, createRedisTokenCache, type TokenCache, type CachedToken } from './token-cache.js'
export { looksLikePersonalAccessToken } from './token-format.js'
export { TokenPage, TokenPageQuery, TokenView, tokensComponents } from './tokens.schemas.js'

/** The caller's personal access tokens, under /v1/users/me/tokens. */
export const tokensModule: FastifyPluginAsync<{ tokens: TokensService, authenticate: onRequestHookHandler }> = async (app, { tokens, authenticate }) => {
  app.addHook('onRequest', authenticate)
  await app.register(tokensRoutes, { tokens })
}

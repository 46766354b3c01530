import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify'
import type { Config } from '../../config.js'
import type { ProviderName } from './identities.table.js'
import { identitiesRoutes } from './identities.routes.js'
import type { IdentitiesService } from './identities.service.js'
import { oauthRoutes } from './oauth.routes.js'
import { createGitHubProvider } from './providers/github.js'
import { createGoogleProvider } from './providers/google.js'
import type { OAuthProvider } from './providers/provider.js'

export { createIdentitiesService, AMR_FEDERATED, type IdentitiesService } from './identities.service.js'
export { PROVIDERS, type ProviderName } from './identities.table.js'
export { identitiesComponents } from './identities.schemas.js'

/** The providers whose client id and secret are configured; their callback is `<PUBLIC_URL>/v1/auth/oauth/<provider>/callback`. */
export function createProviders (oauth: Config['oauth'], publicUrl: string): Partial<Record<ProviderName, OAuthProvider>> {
  const callbackUrl = (name: ProviderName) => `${publicUrl}/v1/auth/oauth/${name}/callback`
  return {
    ...(oauth.google ? { google: createGoogleProvider({ ...oauth.google, callbackUrl: callbackUrl('google') }) } : {}),
    ...(oauth.github ? { github: createGitHubProvider({ ...oauth.github, callbackUrl: callbackUrl('github') }) } : {})
  }
}

/** /v1/auth/oauth/{provider}/… (no authentication: the browser comes and goes). */
export const oauthModule: FastifyPluginAsync<{ identities: IdentitiesService, publicUrl: string }> = async (app, { identities, publicUrl }) => {
  await app.register(oauthRoutes, { identities, publicUrl })
}

/** /v1/users/me/identities… (registered at /v1/users/me): every route needs a valid access token. */
export const identitiesModule: FastifyPluginAsync<{ identities: IdentitiesService, authenticate: onRequestHookHandler }> = async (app, { identities, authenticate }) => {
  app.addHook('onRequest', authenticate)
  await app.register(identitiesRoutes, { identities })
}

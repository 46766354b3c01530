import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { requestMeta } from '../../core/http/request-meta.js'
import { Problem } from '../../core/schemas.js'
import { AuthorizeQuery, CallbackQuery, ProviderParams } from './identities.schemas.js'
import type { IdentitiesService } from './identities.service.js'

/** Redirect headers: never cached, and no Referer carrying the query to the next site. */
const redirectHeaders = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }

/**
 * /v1/auth/oauth/{provider}/authorize and …/callback (API.md "Sign-in with Google and GitHub"):
 * errors before a flow is known (bad redirect_uri or code_challenge, unknown state) are 400
 * problem+json and never redirect; after that, every outcome is a redirect to the app.
 */
export const oauthRoutes: FastifyPluginAsyncTypebox<{ identities: IdentitiesService, publicUrl: string }> = async (app, { identities, publicUrl }) => {
  app.get('/:provider/authorize', {
    schema: {
      tags: ['auth'],
      operationId: 'startOAuthSignIn',
      summary: 'Start sign-in with a provider (302 to it)',
      params: ProviderParams,
      querystring: AuthorizeQuery,
      response: { 302: { type: 'null', description: 'To the provider (or to redirect_uri with error=temporarily_unavailable)' }, 400: Problem, 404: Problem }
    }
  }, async (req, reply) => {
    const { location } = await identities.authorize(req.params.provider, req.query)
    return reply.code(302).headers(redirectHeaders).header('location', location).send(null)
  })

  app.get('/:provider/callback', {
    schema: {
      tags: ['auth'],
      operationId: 'handleOAuthCallback',
      summary: 'The provider\'s callback (302 to the app with a one-time code or an error)',
      params: ProviderParams,
      querystring: CallbackQuery,
      response: { 302: { type: 'null', description: 'To the app\'s redirect_uri with code and state, or error, error_description and state' }, 400: Problem, 404: Problem }
    }
  }, async (req, reply) => {
    // The URL the provider redirected to, as openid-client checks it (its path is the redirect_uri we registered).
    const callbackUrl = new URL(`${publicUrl}/v1/auth/oauth/${encodeURIComponent(req.params.provider)}/callback`)
    const query = req.url.indexOf('?')
    if (query >= 0) callbackUrl.search = req.url.slice(query)
    const { location } = await identities.callback(req.params.provider, callbackUrl, requestMeta(req))
    return reply.code(302).headers(redirectHeaders).header('location', location).send(null)
  })
}

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principal } from '../../core/http/authenticate.js'
import { bearerSecurity as security } from '../../core/http/openapi.js'
import { requestMeta } from '../../core/http/request-meta.js'
import { IdParams, NoContent, Problem } from '../../core/schemas.js'
import { IdentityList, LinkBody, LinkView } from './identities.schemas.js'
import type { IdentitiesService } from './identities.service.js'

/** /v1/users/me/identities (registered at /v1/users/me): the signed-in user's linked providers. */
export const identitiesRoutes: FastifyPluginAsyncTypebox<{ identities: IdentitiesService }> = async (app, { identities }) => {
  app.get('/identities', {
    schema: { tags: ['users'], operationId: 'listIdentities', summary: 'Linked sign-in providers', security, response: { 200: IdentityList, 401: Problem } }
  }, async (req) => ({ data: await identities.list(principal(req)) }))

  app.post('/identities', {
    schema: {
      tags: ['users'],
      operationId: 'linkIdentity',
      summary: 'Start a link flow (needs the current password)',
      security,
      body: LinkBody,
      response: { 200: LinkView, 400: Problem, 401: Problem, 404: Problem, 415: Problem }
    }
  }, async (req) => identities.startLink(principal(req), req.body))

  app.delete('/identities/:id', {
    schema: { tags: ['users'], operationId: 'unlinkIdentity', summary: 'Unlink a provider', security, params: IdParams, response: { 204: NoContent, 400: Problem, 401: Problem, 404: Problem, 409: Problem } }
  }, async (req, reply) => {
    await identities.unlink(principal(req), req.params.id, requestMeta(req))
    return reply.code(204).send(null)
  })
}

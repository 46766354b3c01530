import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principal } from '../../core/http/authenticate.js'
import { requestMeta } from '../../core/http/request-meta.js'
import { bearerSecurity as security } from '../../core/http/openapi.js'
import { IdParams, NoContent, Problem } from '../../core/schemas.js'
import { CreateTokenBody, CreatedTokenView, TokenList } from './tokens.schemas.js'
import type { TokensService } from './tokens.service.js'

/** /v1/users/me/tokens: the caller's personal access tokens. No scope covers them: a personal access token gets 403. */
export const tokensRoutes: FastifyPluginAsyncTypebox<{ tokens: TokensService }> = async (app, { tokens }) => {
  app.post('/', {
    prefixTrailingSlash: 'no-slash',
    schema: {
      tags: ['tokens'],
      operationId: 'createPersonalAccessToken',
      summary: 'Create a personal access token (its secret is shown only in this response)',
      security,
      body: CreateTokenBody,
      response: { 201: CreatedTokenView, 400: Problem, 401: Problem, 403: Problem, 409: Problem, 415: Problem }
    }
  }, async (req, reply) => {
    const created = await tokens.create(principal(req), req.body, requestMeta(req))
    return reply.code(201).send(created)
  })

  app.get('/', {
    prefixTrailingSlash: 'no-slash',
    schema: { tags: ['tokens'], operationId: 'listPersonalAccessTokens', summary: 'Your live personal access tokens (no secrets)', security, response: { 200: TokenList, 401: Problem, 403: Problem } }
  }, async (req) => tokens.list(principal(req)))

  app.delete('/:id', {
    schema: { tags: ['tokens'], operationId: 'revokePersonalAccessToken', summary: 'Revoke a personal access token (at once, everywhere)', security, params: IdParams, response: { 204: NoContent, 400: Problem, 401: Problem, 403: Problem, 404: Problem } }
  }, async (req, reply) => {
    await tokens.revoke(principal(req), req.params.id, requestMeta(req))
    return reply.code(204).send(null)
  })
}

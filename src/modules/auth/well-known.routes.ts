import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import type { KeySet } from './signing-keys.js'

const Jwks = Type.Object({
  keys: Type.Array(Type.Object({ kty: Type.String(), crv: Type.String(), x: Type.String(), kid: Type.String(), alg: Type.String(), use: Type.String() }))
})
const Metadata = Type.Object({
  issuer: Type.String(),
  token_endpoint: Type.String(),
  jwks_uri: Type.String(),
  grant_types_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  response_types_supported: Type.Array(Type.String())
})

/** JWKS and RFC 8414 metadata; `issuer` equals the tokens' `iss`. */
export const wellKnownRoutes: FastifyPluginAsyncTypebox<{ keys: KeySet, issuer: string, publicUrl: string }> = async (app, { keys, issuer, publicUrl }) => {
  const jwks = { keys: keys.jwks }
  const metadata = {
    issuer,
    token_endpoint: `${publicUrl}/v1/auth/token`,
    jwks_uri: `${publicUrl}/.well-known/jwks.json`,
    grant_types_supported: ['password', 'refresh_token', 'authorization_code', 'urn:taskflow:params:oauth:grant-type:mfa-otp'],
    token_endpoint_auth_methods_supported: ['none'],
    response_types_supported: []
  }
  app.get('/jwks.json', { schema: { tags: ['operations'], summary: 'Public signing keys (empty under HS256)', response: { 200: Jwks } } },
    async (_req, reply) => reply.header('cache-control', 'public, max-age=300').send(jwks))
  app.get('/oauth-authorization-server', { schema: { tags: ['operations'], summary: 'RFC 8414 authorization server metadata', response: { 200: Metadata } } },
    async (_req, reply) => reply.header('cache-control', 'public, max-age=300').send(metadata))
}

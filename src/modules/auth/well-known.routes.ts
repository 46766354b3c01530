import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { JWKS_MAX_AGE, type KeyRing } from './signing-keys.js'

const Short = Type.String({ maxLength: 64 })
const Url = Type.String({ format: 'uri', maxLength: 2048 })
const Names = Type.Array(Short, { maxItems: 16 })
// The published keys: the signing key, the next one and retired ones whose tokens still live.
const Jwks = Type.Object({
  keys: Type.Array(Type.Object({ kty: Short, crv: Short, x: Type.String({ maxLength: 128 }), kid: Short, alg: Short, use: Short }), { maxItems: 32 })
})
const Metadata = Type.Object({
  issuer: Url,
  token_endpoint: Url,
  jwks_uri: Url,
  grant_types_supported: Names,
  token_endpoint_auth_methods_supported: Names,
  response_types_supported: Names,
  code_challenge_methods_supported: Names
})

/** JWKS and RFC 8414 metadata; `issuer` equals the tokens' `iss`. */
export const wellKnownRoutes: FastifyPluginAsyncTypebox<{ keys: KeyRing, issuer: string, publicUrl: string }> = async (app, { keys, issuer, publicUrl }) => {
  const metadata = {
    issuer,
    token_endpoint: `${publicUrl}/v1/auth/token`,
    jwks_uri: `${publicUrl}/.well-known/jwks.json`,
    grant_types_supported: ['password', 'refresh_token', 'authorization_code', 'urn:taskflow:params:oauth:grant-type:mfa-otp'],
    token_endpoint_auth_methods_supported: ['none'],
    response_types_supported: [],
    // RFC 7636 §4.2 / RFC 8414 §2: plain is never accepted.
    code_challenge_methods_supported: ['S256']
  }
  app.get('/jwks.json', { schema: { tags: ['operations'], operationId: 'getJwks', summary: 'Public signing keys (empty under HS256)', response: { 200: Jwks } } },
    async (_req, reply) => reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE}`).send({ keys: await keys.jwks() }))
  app.get('/oauth-authorization-server', { schema: { tags: ['operations'], operationId: 'getAuthorizationServerMetadata', summary: 'RFC 8414 authorization server metadata', response: { 200: Metadata } } },
    async (_req, reply) => reply.header('cache-control', 'public, max-age=300').send(metadata))
}

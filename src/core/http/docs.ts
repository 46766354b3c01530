import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'

/** OpenAPI 3.1 generated from the route schemas, served at /openapi.json, and interactive docs at /docs. */
export async function registerDocs (app: FastifyInstance, { publicUrl }: { publicUrl: string }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'TaskFlow API',
        version: '1.0.0',
        description: 'Tasks with production-grade authentication. Use **Authorize** and the OAuth2 password flow (username = email or username) to try the protected routes.'
      },
      servers: [{ url: publicUrl }],
      tags: [
        { name: 'auth', description: 'Register, log in, tokens and sessions' },
        { name: 'users', description: 'The signed-in user' },
        { name: 'tokens', description: 'Personal access tokens for scripts and integrations' },
        { name: 'tasks', description: 'Your tasks' },
        { name: 'admin', description: 'User and task administration (role admin)' },
        { name: 'operations', description: 'Health and discovery' }
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from /v1/auth/login or /v1/auth/token, or a personal access token (`tfp_…`) for the routes its scopes cover' },
          oauth2: {
            type: 'oauth2',
            description: 'OAuth2 password grant (first-party public clients: no client secret)',
            flows: { password: { tokenUrl: '/v1/auth/token', refreshUrl: '/v1/auth/token', scopes: {} } }
          }
        }
      }
    },
    hideUntagged: true
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { persistAuthorization: false, tryItOutEnabled: true },
    staticCSP: true
  })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}

import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { API_NAME, PACKAGE } from '../package-info.js'
import { openapiComponents, type ComponentSchemas } from './openapi.js'

// A plain mark for the browser tab: no script, no inline style (the page's CSP allows neither).
const FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1f4e79"/><path d="M8 9h16v4h-6v12h-4V13H8z" fill="#fff"/></svg>'

/**
 * OpenAPI 3.1 generated from the route schemas, served at /openapi.json (its version is package.json's),
 * and interactive docs at /docs under their own strict CSP (no inline script or style). `components`
 * names the shared shapes (Problem, User, Task, pages, token responses …): each is written once under
 * `components.schemas` and referenced wherever a route uses it (see openapi.ts).
 */
export async function registerDocs (app: FastifyInstance, { publicUrl, components }: { publicUrl: string, components: ComponentSchemas }): Promise<void> {
  const { transform, transformObject } = openapiComponents(components)
  await app.register(swagger, {
    transform,
    transformObject,
    openapi: {
      openapi: '3.1.0',
      info: {
        title: API_NAME,
        version: PACKAGE.version,
        description: 'Tasks with production-grade authentication. Use **Authorize** and the OAuth2 password flow (username = email or username) to try the protected routes. Errors are RFC 9457 problem details (`application/problem+json`) with a stable `code`, except at the OAuth2 token endpoint, which answers RFC 6749 JSON.',
        contact: { name: 'TaskFlow maintainers', url: 'https://taskflow.dev' },
        license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' }
      },
      // PUBLIC_URL: the address clients use (https in production). x-internal: the API is public.
      servers: [{ url: publicUrl, 'x-internal': false } as { url: string }],
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
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from /v1/auth/login or /v1/auth/token — a JWT (typ at+jwt) signed with the one configured algorithm (EdDSA or HS256), following the JWT best current practices of RFC8725 (RFC 8725): alg none and other algorithms are refused, iss, aud, exp and typ are checked — or a personal access token (`tfp_…`) for the routes its scopes cover.' },
          oauth2: {
            type: 'oauth2',
            description: 'OAuth2 password grant (first-party public clients: no client secret). The access token is a JWT following RFC8725 (RFC 8725 JWT best current practices); the refresh token is opaque and single use.',
            flows: { password: { tokenUrl: '/v1/auth/token', refreshUrl: '/v1/auth/token', scopes: {} } }
          }
        }
      }
    },
    hideUntagged: true
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // BaseLayout: the API's own title and version head the page, without Swagger's top bar (its
    // logo and "Explore" box, and the inline <style> of that logo, which the page's CSP refuses).
    uiConfig: { layout: 'BaseLayout', persistAuthorization: false, tryItOutEnabled: true },
    theme: {
      title: `${API_NAME} ${PACKAGE.version} — documentation`,
      favicon: [{ filename: 'taskflow.svg', rel: 'icon', type: 'image/svg+xml', sizes: 'any', content: FAVICON }]
    },
    staticCSP: true
  })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}

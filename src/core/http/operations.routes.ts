import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyBaseLogger } from 'fastify'
import Type from 'typebox'
import { API_NAME, PACKAGE } from '../package-info.js'

/** A readiness check for /readyz: resolves when the dependency answers within 2 s, throws otherwise. */
export interface Probe { name: string, check: () => Promise<void> }

/**
 * Runs every probe at once, each bounded to 2 s: probe name → true when it answered. Failures are
 * logged (code `dependency_unavailable`) when a logger is given. Used by /readyz and the
 * readiness_check_ok gauge, so the dashboard and alerts see what a load balancer sees.
 */
export async function runProbes (probes: Probe[], log?: FastifyBaseLogger): Promise<Record<string, boolean>> {
  const results: Record<string, boolean> = {}
  await Promise.all(probes.map(async (probe) => {
    try {
      await Promise.race([probe.check(), new Promise((_resolve, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref())])
      results[probe.name] = true
    } catch (err) {
      log?.warn({ code: 'dependency_unavailable', dependency: probe.name, err }, 'readiness check failed')
      results[probe.name] = false
    }
  }))
  return results
}

const Index = Type.Object({
  name: Type.String({ maxLength: 100, description: 'The API\'s name' }),
  version: Type.String({ maxLength: 64, description: 'The running version (package.json)' }),
  docs: Type.String({ format: 'uri', maxLength: 2048, description: 'Interactive documentation' }),
  openapi: Type.String({ format: 'uri', maxLength: 2048, description: 'The OpenAPI 3.1 document' })
}, { description: 'Where to start: name, version and documentation links', examples: [{ name: 'TaskFlow API', version: '0.1.0', docs: 'https://api.taskflow.example/docs', openapi: 'https://api.taskflow.example/openapi.json' }] })
const Health = Type.Object({ status: Type.String({ maxLength: 16 }) })
const Ready = Type.Object({
  status: Type.String({ maxLength: 200, description: 'ok, or unavailable: the failing dependencies' }),
  checks: Type.Record(Type.String({ maxLength: 32 }), Type.String({ maxLength: 16 }), { description: 'Each dependency: ok or unavailable' })
})

/**
 * `GET /` (the index: name, version, links built from PUBLIC_URL), /healthz (the process serves) and
 * /readyz (every dependency answers, else 503 naming the failing one).
 */
export const operationsRoutes: FastifyPluginAsyncTypebox<{ probes: Probe[], publicUrl: string }> = async (app, { probes, publicUrl }) => {
  const index = { name: API_NAME, version: PACKAGE.version, docs: `${publicUrl}/docs`, openapi: `${publicUrl}/openapi.json` }
  app.get('/', { schema: { tags: ['operations'], operationId: 'getApiIndex', summary: 'API index: name, version and where the docs are', response: { 200: Index } } }, async () => index)

  app.get('/healthz', { schema: { tags: ['operations'], operationId: 'getHealth', summary: 'Liveness', response: { 200: Health } } }, async () => ({ status: 'ok' }))

  app.get('/readyz', { schema: { tags: ['operations'], operationId: 'getReadiness', summary: 'Readiness: database and cache', response: { 200: Ready, 503: Ready } } }, async (req, reply) => {
    const checks = Object.fromEntries(Object.entries(await runProbes(probes, req.log)).map(([name, ok]) => [name, ok ? 'ok' : 'unavailable']))
    const failing = Object.entries(checks).filter(([, v]) => v !== 'ok').map(([k]) => k)
    return reply.code(failing.length ? 503 : 200).send({ status: failing.length ? `unavailable: ${failing.join(', ')}` : 'ok', checks })
  })
}

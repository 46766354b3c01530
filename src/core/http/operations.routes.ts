import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'

/** A readiness check for /readyz: resolves when the dependency answers within 2 s, throws otherwise. */
export interface Probe { name: string, check: () => Promise<void> }

const Health = Type.Object({ status: Type.String() })
const Ready = Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.String()) })

/** /healthz (the process serves) and /readyz (every dependency answers, else 503 naming the failing one). */
export const operationsRoutes: FastifyPluginAsyncTypebox<{ probes: Probe[] }> = async (app, { probes }) => {
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness', response: { 200: Health } } }, async () => ({ status: 'ok' }))

  app.get('/readyz', { schema: { tags: ['operations'], summary: 'Readiness: database and cache', response: { 200: Ready, 503: Ready } } }, async (req, reply) => {
    const checks: Record<string, string> = {}
    await Promise.all(probes.map(async (probe) => {
      try {
        await Promise.race([probe.check(), new Promise((_resolve, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref())])
        checks[probe.name] = 'ok'
      } catch (err) {
        req.log.warn({ code: 'dependency_unavailable', dependency: probe.name, err }, 'readiness check failed')
        checks[probe.name] = 'unavailable'
      }
    }))
    const failing = Object.entries(checks).filter(([, v]) => v !== 'ok').map(([k]) => k)
    return reply.code(failing.length ? 503 : 200).send({ status: failing.length ? `unavailable: ${failing.join(', ')}` : 'ok', checks })
  })
}

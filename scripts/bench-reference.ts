// The reference rows of `npm run bench`: a bare Fastify app (no auth, no hooks, no plugins) with
// R0, a constant JSON body, and R1, the same primary-key SELECT as GET /v1/tasks/{id}, on the same database.
import Fastify from 'fastify'
import { sql } from 'drizzle-orm'
import { createDb } from '../src/core/db.js'
import { tasksRepository } from '../src/modules/tasks/tasks.repository.js'

const database = await createDb({ url: process.env.DATABASE_URL || undefined, dataDir: process.env.DATA_DIR })
const app = Fastify({ logger: false })
const Task = {
  type: 'object',
  properties: { id: { type: 'string' }, title: { type: 'string' }, description: { type: ['string', 'null'] }, status: { type: 'string' }, priority: { type: 'string' }, due_at: { type: ['string', 'null'], format: 'date-time' }, tags: { type: 'array', items: { type: 'string' } }, owner_id: { type: 'string' }, created_at: { type: 'string', format: 'date-time' }, updated_at: { type: 'string', format: 'date-time' }, completed_at: { type: ['string', 'null'], format: 'date-time' } }
}
app.get('/readyz', async () => ({ status: 'ok' }))
app.get('/r0', { schema: { response: { 200: { type: 'object', properties: { hello: { type: 'string' } } } } } }, async () => ({ hello: 'world' }))
app.get<{ Params: { id: string } }>('/r1/:id', { schema: { response: { 200: Task } } }, async (req) => tasksRepository.findById(database.db, req.params.id))
app.get('/any-task-id', async (_req, reply) => {
  const rows = await database.db.execute<{ id: string }>(sql`select id from tasks limit 1`)
  const list = Array.isArray(rows) ? rows : (rows as { rows: Array<{ id: string }> }).rows
  return reply.type('text/plain').send(list[0]?.id ?? '')
})
process.once('SIGTERM', () => { app.close().then(() => database.close()).then(() => process.exit(0), () => process.exit(1)) })
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3000) })

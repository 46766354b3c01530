import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { principal } from '../../core/http/authenticate.js'
import { ifNoneMatchHolds } from '../../core/http/conditional.js'
import { bearerSecurity as security } from '../../core/http/openapi.js'
import { NoContent, Problem } from '../../core/schemas.js'
import { TaskInput, TaskPage, TaskParams, TaskPatch, TaskQuery, TaskView } from './tasks.schemas.js'
import { sendTaskPage } from './tasks.json.js'
import { etagOf, type TasksService } from './tasks.service.js'

const IfMatch = Type.Object({ 'if-match': Type.Optional(Type.String({ maxLength: 512, description: 'ETag from a GET: the change only applies to that version (else 412)' })) })
const IfNoneMatch = Type.Object({ 'if-none-match': Type.Optional(Type.String({ maxLength: 1024, description: 'ETags you hold (or *): 304 without a body when the task still has one of them' })) })
// Typed `undefined` so the 304 goes out with no body and no Content-Length (RFC 9110 §15.4.5).
const NotModified = Type.Unsafe<undefined>({ type: 'null', description: 'Not Modified: the ETag sent in If-None-Match is still current' })
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem }

/** `/v1/tasks` routes: schemas, ETag/If-Match headers and one service call each. */
export const tasksRoutes: FastifyPluginAsyncTypebox<{ tasks: TasksService, publicUrl: string }> = async (app, { tasks, publicUrl }) => {
  app.post('/', {
    prefixTrailingSlash: 'no-slash',
    config: { auth: { scope: 'tasks:write' }, idempotency: true },
    schema: { tags: ['tasks'], operationId: 'createTask', summary: 'Create a task', security, body: TaskInput, response: { 201: TaskView, 400: Problem, 401: Problem, 415: Problem } }
  }, async (req, reply) => {
    const task = await tasks.create(principal(req), req.body)
    return reply.code(201).header('location', `${publicUrl}/v1/tasks/${task.id}`).header('etag', etagOf(task)).send(task)
  })

  app.get('/', {
    prefixTrailingSlash: 'no-slash',
    config: { auth: { scope: 'tasks:read' } },
    schema: { tags: ['tasks'], operationId: 'listTasks', summary: 'List your tasks (filters, sort, cursor pagination)', security, querystring: TaskQuery, response: { 200: TaskPage, 400: Problem, 401: Problem } }
  }, async (req, reply) => sendTaskPage(reply, publicUrl, await tasks.list(principal(req), req.query)))

  app.get('/:id', {
    config: { auth: { scope: 'tasks:read' } },
    schema: { tags: ['tasks'], operationId: 'getTask', summary: 'Read a task (with its ETag)', security, params: TaskParams, headers: IfNoneMatch, response: { 200: TaskView, 304: NotModified, ...errors } }
  }, async (req, reply) => {
    const task = await tasks.get(principal(req), req.params.id)
    const etag = etagOf(task)
    // After the owner check: a 304 must not tell a stranger that the task exists.
    if (ifNoneMatchHolds(req.headers['if-none-match'], etag)) return reply.code(304).header('etag', etag).send(undefined)
    return reply.header('etag', etag).send(task)
  })

  app.put('/:id', {
    config: { auth: { scope: 'tasks:write' } },
    schema: { tags: ['tasks'], operationId: 'replaceTask', summary: 'Replace a task', security, params: TaskParams, headers: IfMatch, body: TaskInput, response: { 200: TaskView, ...errors, 412: Problem } }
  }, async (req, reply) => {
    const task = await tasks.replace(principal(req), req.params.id, req.body, req.headers['if-match'])
    return reply.header('etag', etagOf(task)).send(task)
  })

  app.patch('/:id', {
    config: { auth: { scope: 'tasks:write' } },
    schema: { tags: ['tasks'], operationId: 'updateTask', summary: 'Change some fields of a task', security, params: TaskParams, headers: IfMatch, body: TaskPatch, response: { 200: TaskView, ...errors, 412: Problem } }
  }, async (req, reply) => {
    const task = await tasks.update(principal(req), req.params.id, req.body, req.headers['if-match'])
    return reply.header('etag', etagOf(task)).send(task)
  })

  app.delete('/:id', {
    config: { auth: { scope: 'tasks:write' } },
    schema: { tags: ['tasks'], operationId: 'deleteTask', summary: 'Delete a task', security, params: TaskParams, headers: IfMatch, response: { 204: NoContent, ...errors, 412: Problem } }
  }, async (req, reply) => {
    await tasks.remove(principal(req), req.params.id, req.headers['if-match'])
    return reply.code(204).send(null)
  })
}

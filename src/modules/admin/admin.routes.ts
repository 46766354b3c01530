import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principal } from '../../core/http/authenticate.js'
import { requestMeta } from '../../core/http/request-meta.js'
import { bearerSecurity as security } from '../../core/http/openapi.js'
import { IdParams, NoContent, Problem } from '../../core/schemas.js'
import { TaskPage } from '../tasks/index.js'
import { UserView } from '../users/index.js'
import { AuditPage, AuditQuery } from '../audit/index.js'
import { AdminTaskQuery, AdminUserPatch, AdminUserQuery, UserPage } from './admin.schemas.js'
import type { AdminService } from './admin.service.js'

const errors = { 400: Problem, 401: Problem, 403: Problem }

/** `/v1/admin/*` routes: schemas and one service call each; the admin role is enforced by the module (index.ts). */
export const adminRoutes: FastifyPluginAsyncTypebox<{ admin: AdminService }> = async (app, { admin }) => {
  app.get('/users', {
    schema: { tags: ['admin'], summary: 'List users', security, querystring: AdminUserQuery, response: { 200: UserPage, ...errors } }
  }, async (req) => admin.listUsers(req.query))

  app.get('/users/:id', {
    schema: { tags: ['admin'], summary: 'Read a user', security, params: IdParams, response: { 200: UserView, ...errors, 404: Problem } }
  }, async (req) => admin.getUser(req.params.id))

  app.patch('/users/:id', {
    schema: { tags: ['admin'], summary: 'Change a user\'s role or active flag (ends their sessions)', security, params: IdParams, body: AdminUserPatch, response: { 200: UserView, ...errors, 404: Problem, 409: Problem } }
  }, async (req) => admin.updateUser(principal(req), req.params.id, req.body, requestMeta(req)))

  app.delete('/users/:id', {
    schema: { tags: ['admin'], summary: 'Delete a user with their sessions and tasks', security, params: IdParams, response: { 204: NoContent, ...errors, 404: Problem, 409: Problem } }
  }, async (req, reply) => {
    await admin.deleteUser(principal(req), req.params.id, requestMeta(req))
    return reply.code(204).send(null)
  })

  app.delete('/users/:id/mfa', {
    schema: { tags: ['admin'], summary: 'Turn a user\'s MFA off (a lost phone): recovery codes gone, every session of theirs revoked', security, params: IdParams, response: { 204: NoContent, ...errors, 404: Problem, 409: Problem } }
  }, async (req, reply) => {
    await admin.resetMfa(principal(req), req.params.id, requestMeta(req))
    return reply.code(204).send(null)
  })

  app.get('/tasks', {
    schema: { tags: ['admin'], summary: 'List anyone\'s tasks', security, querystring: AdminTaskQuery, response: { 200: TaskPage, ...errors } }
  }, async (req) => admin.listTasks(req.query))

  app.get('/audit-events', {
    schema: { tags: ['admin'], summary: 'The audit log, newest first', security, querystring: AuditQuery, response: { 200: AuditPage, ...errors } }
  }, async (req) => admin.listAuditEvents(req.query))

  app.delete('/tasks/:id', {
    schema: { tags: ['admin'], summary: 'Delete anyone\'s task', security, params: IdParams, response: { 204: NoContent, ...errors, 404: Problem } }
  }, async (req, reply) => {
    await admin.deleteTask(principal(req), req.params.id, requestMeta(req))
    return reply.code(204).send(null)
  })
}

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principal } from '../../core/http/authenticate.js'
import { requestMeta } from '../../core/http/request-meta.js'
import { bearerSecurity as security } from '../../core/http/openapi.js'
import { IdParams, NoContent, Problem } from '../../core/schemas.js'
import { sendTaskPage, TaskPage } from '../tasks/index.js'
import { UserView } from '../users/index.js'
import { AuditPage, AuditQuery, AuditVerifyResult } from '../audit/index.js'
import { TokenPage, TokenPageQuery } from '../tokens/index.js'
import { AdminTaskQuery, AdminUserPatch, AdminUserQuery, TokenIdParams, UserPage } from './admin.schemas.js'
import type { AdminService } from './admin.service.js'

const errors = { 400: Problem, 401: Problem, 403: Problem }

/** `/v1/admin/*` routes: schemas and one service call each; the admin role is enforced by the module (index.ts). */
export const adminRoutes: FastifyPluginAsyncTypebox<{ admin: AdminService, publicUrl: string }> = async (app, { admin, publicUrl }) => {
  app.get('/users', {
    schema: { tags: ['admin'], operationId: 'listUsers', summary: 'List users', security, querystring: AdminUserQuery, response: { 200: UserPage, ...errors } }
  }, async (req) => admin.listUsers(req.query))

  app.get('/users/:id', {
    schema: { tags: ['admin'], operationId: 'getUser', summary: 'Read a user', security, params: IdParams, response: { 200: UserView, ...errors, 404: Problem } }
  }, async (req) => admin.getUser(req.params.id))

  app.patch('/users/:id', {
    schema: { tags: ['admin'], operationId: 'updateUser', summary: 'Change a user\'s role or active flag (ends their sessions)', security, params: IdParams, body: AdminUserPatch, response: { 200: UserView, ...errors, 404: Problem, 409: Problem } }
  }, async (req) => admin.updateUser(principal(req), req.params.id, req.body, requestMeta(req)))

  app.delete('/users/:id', {
    schema: { tags: ['admin'], operationId: 'deleteUser', summary: 'Delete a user with their sessions and tasks', security, params: IdParams, response: { 204: NoContent, ...errors, 404: Problem, 409: Problem } }
  }, async (req, reply) => {
    await admin.deleteUser(principal(req), req.params.id, requestMeta(req))
    return reply.code(204).send(null)
  })

  app.delete('/users/:id/mfa', {
    schema: { tags: ['admin'], operationId: 'resetUserMfa', summary: 'Turn a user\'s MFA off (a lost phone): recovery codes gone, every session of theirs revoked', security, params: IdParams, response: { 204: NoContent, ...errors, 404: Problem, 409: Problem } }
  }, async (req, reply) => {
    await admin.resetMfa(principal(req), req.params.id, requestMeta(req))
    return reply.code(204).send(null)
  })

  app.get('/users/:id/tokens', {
    schema: { tags: ['admin'], operationId: 'listUserPersonalAccessTokens', summary: 'A user\'s personal access tokens (no secrets)', security, params: IdParams, querystring: TokenPageQuery, response: { 200: TokenPage, ...errors, 404: Problem } }
  }, async (req) => admin.listTokens(req.params.id, req.query))

  app.delete('/users/:id/tokens/:token_id', {
    schema: { tags: ['admin'], operationId: 'revokeUserPersonalAccessToken', summary: 'Revoke a user\'s personal access token (at once, everywhere)', security, params: TokenIdParams, response: { 204: NoContent, ...errors, 404: Problem } }
  }, async (req, reply) => {
    await admin.revokeToken(principal(req), req.params.id, req.params.token_id, requestMeta(req))
    return reply.code(204).send(null)
  })

  app.get('/tasks', {
    schema: { tags: ['admin'], operationId: 'listAllTasks', summary: 'List anyone\'s tasks', security, querystring: AdminTaskQuery, response: { 200: TaskPage, ...errors } }
  }, async (req, reply) => sendTaskPage(reply, publicUrl, await admin.listTasks(req.query)))

  app.get('/audit-events', {
    schema: { tags: ['admin'], operationId: 'listAuditEvents', summary: 'The audit log, newest first', security, querystring: AuditQuery, response: { 200: AuditPage, ...errors } }
  }, async (req) => admin.listAuditEvents(req.query))

  app.get('/audit-events/verify', {
    schema: { tags: ['admin'], operationId: 'verifyAuditLog', summary: 'Check the audit log\'s hash chain; names the first changed, inserted or removed event', security, response: { 200: AuditVerifyResult, 401: Problem, 403: Problem } }
  }, async () => admin.verifyAuditLog())

  app.delete('/tasks/:id', {
    schema: { tags: ['admin'], operationId: 'deleteAnyTask', summary: 'Delete anyone\'s task', security, params: IdParams, response: { 204: NoContent, ...errors, 404: Problem } }
  }, async (req, reply) => {
    await admin.deleteTask(principal(req), req.params.id, requestMeta(req))
    return reply.code(204).send(null)
  })
}

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { NoContent, Problem } from '../../core/schemas.js'
import { principal } from '../../core/http/authenticate.js'
import { requestMeta } from '../../core/http/request-meta.js'
import { bearerSecurity as security } from '../../core/http/openapi.js'
import { ChangePasswordBody, DeleteMeBody, UpdateMeBody, UserView } from './users.schemas.js'
import type { UsersService } from './users.service.js'

const errors = { 400: Problem, 401: Problem, 415: Problem }

/** `/v1/users/me` routes. */
export const usersRoutes: FastifyPluginAsyncTypebox<{ users: UsersService }> = async (app, { users }) => {
  app.get('/me', {
    schema: { tags: ['users'], summary: 'The signed-in user', security, response: { 200: UserView, 401: Problem } }
  }, async (req) => users.getMe(principal(req)))

  app.patch('/me', {
    schema: { tags: ['users'], summary: 'Change name or username', security, body: UpdateMeBody, response: { 200: UserView, ...errors, 409: Problem } }
  }, async (req) => users.updateMe(principal(req), req.body))

  app.put('/me/password', {
    schema: { tags: ['users'], summary: 'Change password (ends every other session)', security, body: ChangePasswordBody, response: { 204: NoContent, ...errors } }
  }, async (req, reply) => {
    await users.changePassword(principal(req), req.body.current_password, req.body.new_password, requestMeta(req))
    return reply.code(204).send(null)
  })

  app.delete('/me', {
    schema: { tags: ['users'], summary: 'Delete the account, its sessions and its tasks', security, body: DeleteMeBody, response: { 204: NoContent, ...errors } }
  }, async (req, reply) => {
    await users.deleteMe(principal(req), req.body.password, requestMeta(req))
    return reply.code(204).send(null)
  })
}

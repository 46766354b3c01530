import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify'
import { usersRoutes } from './users.routes.js'
import type { UsersService } from './users.service.js'

export { createUsersStore, type UsersStore, type UserChanges } from './users.store.js'
export { createUsersService, type UsersService, type UsersAuthPort } from './users.service.js'
export type { UserRow } from './users.table.js'
export { UserView, Email, Username, DisplayName, Password } from './users.schemas.js'

/** `/v1/users`: the signed-in user's own account; every route needs a Bearer token. */
export const usersModule: FastifyPluginAsync<{ users: UsersService, authenticate: onRequestHookHandler }> = async (app, { users, authenticate }) => {
  app.addHook('onRequest', authenticate)
  await app.register(usersRoutes, { users })
}

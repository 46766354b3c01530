import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify'
import { requireForModule } from '../../core/http/authorize.js'
import { adminRoutes } from './admin.routes.js'
import type { AdminService } from './admin.service.js'

export { createAdminService, type AdminService } from './admin.service.js'
export { adminComponents } from './admin.schemas.js'

/** Every /v1/admin route: a valid token (401 otherwise), then the admin role (403 otherwise), then the input (400). */
export const adminModule: FastifyPluginAsync<{ admin: AdminService, authenticate: onRequestHookHandler, publicUrl: string }> = async (app, { admin, authenticate, publicUrl }) => {
  app.addHook('onRoute', requireForModule({ role: 'admin' }))
  app.addHook('onRequest', authenticate)
  await app.register(adminRoutes, { admin, publicUrl })
}

import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify'
import { tasksRoutes } from './tasks.routes.js'
import type { TasksService } from './tasks.service.js'

export { createTasksService, type TasksService } from './tasks.service.js'
export { TaskView, TaskPage, TaskParams, TaskFilters, tasksComponents } from './tasks.schemas.js'
export { assertCan, type TaskAction } from './tasks.policy.js'
export { sendTaskPage } from './tasks.json.js'

/** `/v1/tasks`: every route needs a Bearer token. */
export const tasksModule: FastifyPluginAsync<{ tasks: TasksService, authenticate: onRequestHookHandler, publicUrl: string }> = async (app, { tasks, authenticate, publicUrl }) => {
  app.addHook('onRequest', authenticate)
  await app.register(tasksRoutes, { tasks, publicUrl })
}

import type { Actor } from '../../core/actor.js'
import { AppError } from '../../core/errors.js'
import type { TaskRow } from './tasks.table.js'

export type TaskAction = 'task:read' | 'task:update' | 'task:delete' | 'admin:task:read' | 'admin:task:delete'

/**
 * The one decision on who may do what to a task: 404 when it does not exist, 403 when it belongs
 * to someone else. Admins act on anyone's task only through the `admin:` actions (the admin API);
 * on the owner routes an admin is an ordinary user.
 */
export function assertCan (actor: Actor, action: TaskAction, task: TaskRow | undefined): asserts task is TaskRow {
  if (!task) throw new AppError('task_not_found', { detail: 'Task not found' })
  if (action.startsWith('admin:')) {
    if (actor.role === 'admin') return
    throw new AppError('forbidden', { detail: 'This action needs the admin role' })
  }
  if (task.owner_id !== actor.userId) throw new AppError('task_forbidden', { detail: 'This task belongs to another user' })
}

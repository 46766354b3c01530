import type { Actor } from '../../core/actor.js'
import type { Clock } from '../../core/clock.js'
import type { Db } from '../../core/db.js'
import { AppError } from '../../core/errors.js'
import { newId } from '../../core/ids.js'
import type { Cursors, Page } from '../../core/pagination.js'
import { assertCan } from './tasks.policy.js'
import { tasksRepository, type TaskListQuery } from './tasks.repository.js'
import type { SortKey, TaskInput, TaskPatch, TaskQuery } from './tasks.schemas.js'
import type { NewTaskRow, TaskRow } from './tasks.table.js'

const preconditionFailed = () => new AppError('precondition_failed', { detail: 'The task has changed since you read it (If-Match does not match its ETag)' })

/** The strong ETag of a task (RFC 9110 §8.8.3): its version number, quoted. */
export const etagOf = (task: TaskRow): string => `"${task.version}"`

/** RFC 9110 If-Match: `*` or a list of strong entity tags; weak tags never match. */
function ifMatchHolds (header: string | undefined, task: TaskRow): boolean {
  if (header === undefined) return true
  if (header.trim() === '*') return true
  const etag = etagOf(task)
  return header.split(',').map(s => s.trim()).some(tag => tag === etag)
}

/** completed_at follows status: set when entering done, cleared when leaving it. */
function completion (before: TaskRow | undefined, status: TaskRow['status'], now: Date): Date | null {
  if (status !== 'done') return null
  return before?.status === 'done' ? before.completed_at ?? now : now
}

/** The whole task as POST and PUT describe it: omitted optional fields take their defaults. */
function fromInput (input: TaskInput, current: TaskRow | undefined, now: Date) {
  const status = input.status ?? 'todo'
  return {
    title: input.title,
    description: input.description ?? null,
    status,
    priority: input.priority ?? 'medium',
    due_at: input.due_at ? new Date(input.due_at) : null,
    tags: [...new Set(input.tags ?? [])],
    completed_at: completion(current, status, now)
  }
}

function toListQuery (query: TaskQuery & { owner_id?: string | undefined }, list: string): TaskListQuery {
  const descending = query.sort.startsWith('-')
  return {
    ownerId: query.owner_id,
    status: query.status,
    priority: query.priority,
    tag: query.tag,
    q: query.q,
    dueBefore: query.due_before ? new Date(query.due_before) : undefined,
    dueAfter: query.due_after ? new Date(query.due_after) : undefined,
    sort: (descending ? query.sort.slice(1) : query.sort) as SortKey,
    descending,
    limit: query.limit,
    cursor: query.cursor,
    list
  }
}

/** Storage, clock, and the sealer of list cursors (core/pagination.ts). */
export interface TasksDeps { db: Db, clock: Clock, cursors: Cursors }

/** Tasks of the signed-in user, and the admin's view of everyone's. */
export function createTasksService ({ db, clock, cursors }: TasksDeps) {
  async function load (actor: Actor, id: string, action: 'task:read' | 'task:update' | 'task:delete'): Promise<TaskRow> {
    const task = await tasksRepository.findById(db, id)
    assertCan(actor, action, task)
    return task
  }

  async function write (actor: Actor, id: string, ifMatch: string | undefined, changes: (current: TaskRow) => Partial<NewTaskRow>): Promise<TaskRow> {
    const current = await load(actor, id, 'task:update')
    if (!ifMatchHolds(ifMatch, current)) throw preconditionFailed()
    // With If-Match the update only lands on the version the client saw: of two racing writers, one gets 412.
    const updated = await tasksRepository.update(db, id, { ...changes(current), updated_at: clock.now() }, ifMatch === undefined ? undefined : current.version)
    if (updated) return updated
    // Gone or changed between the read and the write.
    if (ifMatch !== undefined) throw preconditionFailed()
    throw new AppError('task_not_found', { detail: 'Task not found' })
  }

  return {
    async create (actor: Actor, input: TaskInput): Promise<TaskRow> {
      const now = clock.now()
      return tasksRepository.insert(db, { id: newId(), owner_id: actor.userId, ...fromInput(input, undefined, now), created_at: now, updated_at: now })
    },

    get: (actor: Actor, id: string) => load(actor, id, 'task:read'),

    /** PUT: every field is replaced; omitted optional ones return to their defaults. */
    replace (actor: Actor, id: string, input: TaskInput, ifMatch?: string): Promise<TaskRow> {
      return write(actor, id, ifMatch, current => fromInput(input, current, clock.now()))
    },

    /** PATCH: only the fields sent change. */
    update (actor: Actor, id: string, patch: TaskPatch, ifMatch?: string): Promise<TaskRow> {
      return write(actor, id, ifMatch, (current) => {
        const changes: Partial<NewTaskRow> = {}
        if (patch.title !== undefined) changes.title = patch.title
        if (patch.description !== undefined) changes.description = patch.description
        if (patch.priority !== undefined) changes.priority = patch.priority
        if (patch.due_at !== undefined) changes.due_at = patch.due_at === null ? null : new Date(patch.due_at)
        if (patch.tags !== undefined) changes.tags = [...new Set(patch.tags)]
        if (patch.status !== undefined) {
          changes.status = patch.status
          changes.completed_at = completion(current, patch.status, clock.now())
        }
        return changes
      })
    },

    async remove (actor: Actor, id: string, ifMatch?: string): Promise<void> {
      const current = await load(actor, id, 'task:delete')
      if (!ifMatchHolds(ifMatch, current)) throw preconditionFailed()
      const deleted = await tasksRepository.delete(db, id, ifMatch === undefined ? undefined : current.version)
      if (!deleted && ifMatch !== undefined) throw preconditionFailed()
    },

    /** A page of the actor's tasks, each item its JSON text (see tasksRepository.list). */
    list (actor: Actor, query: TaskQuery): Promise<Page<string>> {
      return tasksRepository.list(db, { ...toListQuery(query, 'tasks'), ownerId: actor.userId }, cursors)
    },

    /** Admin: anyone's tasks, optionally one owner's; items as in `list`. */
    listAll (query: TaskQuery & { owner_id?: string | undefined }): Promise<Page<string>> {
      return tasksRepository.list(db, toListQuery(query, 'admin.tasks'), cursors)
    },

    /** Admin: deletes anyone's task; returns it (for the audit record). */
    async removeAny (actor: Actor, id: string): Promise<TaskRow> {
      const task = await tasksRepository.findById(db, id)
      assertCan(actor, 'admin:task:delete', task)
      await tasksRepository.delete(db, id)
      return task
    }
  }
}
export type TasksService = ReturnType<typeof createTasksService>

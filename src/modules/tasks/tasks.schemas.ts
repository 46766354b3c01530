import Type, { type Static } from 'typebox'
import { Timestamp } from '../../core/http/openapi.js'
import { UUID_PATTERN } from '../../core/ids.js'
import { Cursor, Limit } from '../../core/pagination.js'
import { TASK_PRIORITIES, TASK_STATUSES } from './tasks.table.js'

const Id = Type.String({ pattern: UUID_PATTERN, format: 'uuid' })
const Status = Type.Union([Type.Literal(TASK_STATUSES[0]), Type.Literal(TASK_STATUSES[1]), Type.Literal(TASK_STATUSES[2])])
const Priority = Type.Union([Type.Literal(TASK_PRIORITIES[0]), Type.Literal(TASK_PRIORITIES[1]), Type.Literal(TASK_PRIORITIES[2]), Type.Literal(TASK_PRIORITIES[3])])
const Title = Type.String({ minLength: 1, maxLength: 200 })
const Description = Type.Union([Type.String({ maxLength: 10_000 }), Type.Null()])
const DueAt = Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
const Tag = Type.String({ minLength: 1, maxLength: 32 })
const Tags = Type.Array(Tag, { maxItems: 20 })

export const TaskView = Type.Object({
  id: Id,
  title: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  status: Status,
  priority: Priority,
  due_at: Type.Union([Timestamp, Type.Null()]),
  tags: Type.Array(Type.String()),
  owner_id: Id,
  created_at: Timestamp,
  updated_at: Timestamp,
  completed_at: Type.Union([Timestamp, Type.Null()])
}, { description: 'A task' })

/** POST and PUT: the whole task. Omitted optional fields take their defaults. `owner_id` is never accepted. */
export const TaskInput = Type.Object({
  title: Title,
  description: Type.Optional(Description),
  status: Type.Optional(Status),
  priority: Type.Optional(Priority),
  due_at: Type.Optional(DueAt),
  tags: Type.Optional(Tags)
}, { additionalProperties: false })
export type TaskInput = Static<typeof TaskInput>

export const TaskPatch = Type.Object({
  title: Type.Optional(Title),
  description: Type.Optional(Description),
  status: Type.Optional(Status),
  priority: Type.Optional(Priority),
  due_at: Type.Optional(DueAt),
  tags: Type.Optional(Tags)
}, { additionalProperties: false, minProperties: 1 })
export type TaskPatch = Static<typeof TaskPatch>

export const TaskParams = Type.Object({ id: Id })

export const SORT_KEYS = ['created_at', 'updated_at', 'due_at', 'priority', 'title'] as const
export type SortKey = typeof SORT_KEYS[number]
const Sort = Type.Union([
  Type.Literal('created_at'), Type.Literal('-created_at'), Type.Literal('updated_at'), Type.Literal('-updated_at'),
  Type.Literal('due_at'), Type.Literal('-due_at'), Type.Literal('priority'), Type.Literal('-priority'), Type.Literal('title'), Type.Literal('-title')
], { default: '-created_at', description: `One of ${SORT_KEYS.join(', ')}; a leading - sorts descending` })

export const TaskFilters = {
  status: Type.Optional(Status),
  priority: Type.Optional(Priority),
  tag: Type.Optional(Tag),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Case-insensitive substring of title or description' })),
  due_before: Type.Optional(Type.String({ format: 'date-time' })),
  due_after: Type.Optional(Type.String({ format: 'date-time' })),
  sort: Sort,
  limit: Limit,
  cursor: Type.Optional(Cursor)
}
export const TaskQuery = Type.Object(TaskFilters, { additionalProperties: false })
export type TaskQuery = Static<typeof TaskQuery>

export const TaskPage = Type.Object({ data: Type.Array(TaskView), next_cursor: Type.Union([Type.String(), Type.Null()]) })

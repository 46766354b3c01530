import Type, { type Static } from 'typebox'
import { IdParams, Nullable, NullableText, Page, PageQuery, StringEnum, Timestamp, TimestampInput, Uuid } from '../../core/schemas.js'
import { TASK_PRIORITIES, TASK_STATUSES } from './tasks.table.js'

const Status = StringEnum(TASK_STATUSES)
const Priority = StringEnum(TASK_PRIORITIES)
const Title = Type.String({ minLength: 1, maxLength: 200 })
const Description = Nullable(Type.String({ maxLength: 10_000 }))
const DueAt = Nullable(TimestampInput)
const Tag = Type.String({ minLength: 1, maxLength: 32 })
const Tags = Type.Array(Tag, { maxItems: 20 })

/** The task object of API.md. */
export const TaskView = Type.Object({
  id: Uuid,
  title: Type.String(),
  description: NullableText,
  status: Status,
  priority: Priority,
  due_at: Nullable(Timestamp),
  tags: Type.Array(Type.String()),
  owner_id: Uuid,
  created_at: Timestamp,
  updated_at: Timestamp,
  completed_at: Nullable(Timestamp)
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

/** `PATCH /v1/tasks/{id}`: any subset of the fields (at least one). */
export const TaskPatch = Type.Object({
  title: Type.Optional(Title),
  description: Type.Optional(Description),
  status: Type.Optional(Status),
  priority: Type.Optional(Priority),
  due_at: Type.Optional(DueAt),
  tags: Type.Optional(Tags)
}, { additionalProperties: false, minProperties: 1 })
export type TaskPatch = Static<typeof TaskPatch>

/** `{ id }` of a task. */
export const TaskParams = IdParams

/** Sortable columns; `sort=<key>` ascending, `sort=-<key>` descending. */
export const SORT_KEYS = ['created_at', 'updated_at', 'due_at', 'priority', 'title'] as const
export type SortKey = typeof SORT_KEYS[number]
const SORTS = SORT_KEYS.flatMap(key => [key, `-${key}`] as const)
const Sort = StringEnum(SORTS, { default: '-created_at', description: `One of ${SORT_KEYS.join(', ')}; a leading - sorts descending` })

/** The list query members, shared by `GET /v1/tasks` and the admin's task list. */
export const TaskFilters = {
  status: Type.Optional(Status),
  priority: Type.Optional(Priority),
  tag: Type.Optional(Tag),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Case-insensitive substring of title or description' })),
  due_before: Type.Optional(TimestampInput),
  due_after: Type.Optional(TimestampInput),
  sort: Sort,
  ...PageQuery
}
/** `GET /v1/tasks` query. */
export const TaskQuery = Type.Object(TaskFilters, { additionalProperties: false })
export type TaskQuery = Static<typeof TaskQuery>

/** A page of tasks. */
export const TaskPage = Page(TaskView)

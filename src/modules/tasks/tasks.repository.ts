import { and, asc, desc, eq, gt, isNotNull, isNull, lt, or, sql, type SQL } from 'drizzle-orm'
import type { PgColumn } from 'drizzle-orm/pg-core'
import { prepared, rawRows, type Db } from '../../core/db.js'
import { likePattern } from '../../core/sql.js'
import { invalidCursor, type Cursors, type CursorScope, type Page } from '../../core/pagination.js'
import { TASK_JSON } from './tasks.json.js'
import { TASK_PRIORITIES, tasksTable, type NewTaskRow, type TaskRow } from './tasks.table.js'
import type { SortKey } from './tasks.schemas.js'

/** A task list query after parsing: filters, sort key and direction, page size and cursor. */
export interface TaskListQuery {
  ownerId?: string | undefined
  status?: TaskRow['status'] | undefined
  priority?: TaskRow['priority'] | undefined
  tag?: string | undefined
  q?: string | undefined
  dueBefore?: Date | undefined
  dueAfter?: Date | undefined
  sort: SortKey
  descending: boolean
  limit: number
  cursor?: string | undefined
  /** Which list the cursor belongs to: `tasks` (a user's own) or `admin.tasks`. */
  list: string
}

/** Sort keys map to columns through this allow-list only; no client text ever reaches ORDER BY. */
const SORT_COLUMNS: Record<SortKey, PgColumn> = {
  created_at: tasksTable.created_at,
  updated_at: tasksTable.updated_at,
  due_at: tasksTable.due_at,
  priority: tasksTable.priority_rank,
  title: tasksTable.title
}

type KeyValue = string | number | null

/** The fields of a task's JSON that a cursor's position is made of (timestamps as toISOString() writes them). */
type TaskJsonKeys = Pick<TaskRow, 'id' | 'title' | 'priority'> & { created_at: string, updated_at: string, due_at: string | null }

/** The sort key of a listed task, as the cursor carries it; priority_rank is the priority's index (tasks.table.ts). */
function keyOf (task: TaskJsonKeys, sort: SortKey): KeyValue {
  switch (sort) {
    case 'priority': return TASK_PRIORITIES.indexOf(task.priority)
    case 'title': return task.title
    case 'created_at': return task.created_at
    case 'updated_at': return task.updated_at
    case 'due_at': return task.due_at
  }
}

const cursorOf = (cursors: Cursors, query: TaskListQuery, last: TaskJsonKeys): string => cursors.seal(scopeOf(query), [keyOf(last, query.sort), last.id])

/** Everything a cursor is bound to: the list, each filter and the sort (API.md, Conventions). */
function scopeOf (query: TaskListQuery): CursorScope {
  return {
    list: query.list,
    owner: query.ownerId,
    status: query.status,
    priority: query.priority,
    tag: query.tag,
    q: query.q,
    due_before: query.dueBefore?.toISOString(),
    due_after: query.dueAfter?.toISOString(),
    sort: `${query.descending ? '-' : ''}${query.sort}`
  }
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The position in an authenticated cursor; its shape is still checked (a key this server could have issued). */
function parseCursor (cursors: Cursors, query: TaskListQuery, cursor: string): { key: KeyValue, id: string } {
  const { sort } = query
  const [key, id] = cursors.open(scopeOf(query), cursor)
  if (typeof id !== 'string' || !ID.test(id)) throw invalidCursor()
  const isTime = (k: unknown) => typeof k === 'string' && !Number.isNaN(Date.parse(k))
  const valid = sort === 'priority'
    ? typeof key === 'number' && Number.isInteger(key)
    : sort === 'due_at'
      ? key === null || isTime(key)
      : typeof key === 'string' && (sort === 'title' || isTime(key))
  if (!valid) throw invalidCursor()
  return { key: key as KeyValue, id }
}

const toDb = (sort: SortKey, key: KeyValue) => (sort.endsWith('_at') && typeof key === 'string' ? new Date(key) : key)

const byId = (db: Db, name: string) => db.select().from(tasksTable).where(eq(tasksTable.id, sql.placeholder('id'))).limit(1).prepare(name)

/** SQL for tasks; every function takes the executor (the db or a transaction). */
export const tasksRepository = {
  async insert (db: Db, row: NewTaskRow): Promise<TaskRow> {
    const [task] = await db.insert(tasksTable).values(row).returning()
    if (!task) throw new Error('insert returned no row')
    return task
  },

  async findById (db: Db, id: string): Promise<TaskRow | undefined> {
    const [task] = await prepared(db, 'tasks_by_id', byId).execute({ id })
    return task
  },

  /** Updates and bumps the version; with `expectedVersion`, only if nobody changed it since. */
  async update (db: Db, id: string, patch: Partial<NewTaskRow>, expectedVersion?: number): Promise<TaskRow | undefined> {
    const [task] = await db.update(tasksTable)
      .set({ ...patch, version: sql`${tasksTable.version} + 1` })
      .where(and(eq(tasksTable.id, id), expectedVersion === undefined ? undefined : eq(tasksTable.version, expectedVersion)))
      .returning()
    return task
  },

  async delete (db: Db, id: string, expectedVersion?: number): Promise<TaskRow | undefined> {
    const [task] = await db.delete(tasksTable)
      .where(and(eq(tasksTable.id, id), expectedVersion === undefined ? undefined : eq(tasksTable.version, expectedVersion)))
      .returning()
    return task
  },

  /**
   * One page, by keyset pagination on (sort key, id): rows inserted between pages are never skipped
   * or repeated. Tasks without due_at sort last in both directions, so that sort reads the dated rows
   * first and then the undated ones, each an index range scan. The cursor is sealed by `cursors` and
   * bound to the list, filters and sort; a foreign one is 400 `invalid_cursor`. Each item of `data` is
   * one task's JSON text as PostgreSQL writes it (see TASK_JSON in tasks.json.ts): byte for byte what
   * the TaskView serializer writes for the same row.
   */
  async list (db: Db, query: TaskListQuery, cursors: Cursors): Promise<Page<string>> {
    const { sort, descending, limit } = query
    const column = SORT_COLUMNS[sort]
    const filters: Array<SQL | undefined> = [
      query.ownerId ? eq(tasksTable.owner_id, query.ownerId) : undefined,
      query.status ? eq(tasksTable.status, query.status) : undefined,
      query.priority ? eq(tasksTable.priority, query.priority) : undefined,
      query.tag ? sql`${tasksTable.tags} @> array[${query.tag}]::text[]` : undefined,
      query.q ? or(sql`${tasksTable.title} ilike ${likePattern(query.q)}`, sql`${tasksTable.description} ilike ${likePattern(query.q)}`) : undefined,
      query.dueBefore ? lt(tasksTable.due_at, query.dueBefore) : undefined,
      query.dueAfter ? gt(tasksTable.due_at, query.dueAfter) : undefined
    ]
    const after = query.cursor ? parseCursor(cursors, query, query.cursor) : undefined
    const cmp = descending ? lt : gt
    const order = descending ? desc : asc
    const fetch = async (where: Array<SQL | undefined>, orderBy: SQL[], n: number): Promise<string[]> => {
      const rows = await rawRows<{ json: string }>(db, sql`select ${TASK_JSON} from ${tasksTable} where ${and(...filters, ...where) ?? sql`true`} order by ${sql.join(orderBy, sql`, `)} limit ${n}`)
      return rows.map(row => row.json)
    }
    const beyond = (key: KeyValue, id: string) => descending
      ? sql`(${column}, ${tasksTable.id}) < (${toDb(sort, key)}, ${id})`
      : sql`(${column}, ${tasksTable.id}) > (${toDb(sort, key)}, ${id})`

    let rows: string[]
    if (sort !== 'due_at') {
      rows = await fetch([after ? beyond(after.key, after.id) : undefined], [order(column), order(tasksTable.id)], limit + 1)
    } else {
      rows = []
      if (!after || after.key !== null) {
        rows = await fetch([isNotNull(tasksTable.due_at), after ? beyond(after.key, after.id) : undefined], [order(column), order(tasksTable.id)], limit + 1)
      }
      if (rows.length <= limit) {
        const undated = await fetch([isNull(tasksTable.due_at), after?.key === null ? cmp(tasksTable.id, after.id) : undefined], [order(tasksTable.id)], limit + 1 - rows.length)
        rows = rows.concat(undated)
      }
    }
    const hasMore = rows.length > limit
    const data = hasMore ? rows.slice(0, limit) : rows
    const last = data.at(-1)
    return {
      data,
      next_cursor: hasMore && last !== undefined ? cursorOf(cursors, query, JSON.parse(last) as TaskJsonKeys) : null
    }
  }
}
export type TasksRepository = typeof tasksRepository

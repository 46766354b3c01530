import { and, asc, desc, eq, gt, isNotNull, isNull, lt, or, sql } from 'drizzle-orm'
import type { PgColumn } from 'drizzle-orm/pg-core'
import { prepared, type Db } from '../../core/db.js'
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

/** Which rows one listing query reads: all that match, or (sort=due_at) the dated ones, then the undated ones. */
type Part = 'all' | 'dated' | 'undated'
type Position = ReturnType<typeof parseCursor>

/**
 * The SQL of one listing query, every value a placeholder (`owner`, `status`, `priority`, `tag`, `q`,
 * `due_before`, `due_after`, the cursor's `key` and `id`, `limit`): its text depends only on which
 * filters are present, the sort, the part and the kind of cursor.
 */
function pageQuery (db: Db, query: TaskListQuery, part: Part, after: Position | undefined) {
  const p = sql.placeholder
  const { descending } = query
  const order = descending ? desc : asc
  const column = SORT_COLUMNS[query.sort]
  const keyed = part !== 'undated'
  const beyond = descending
    ? sql`(${column}, ${tasksTable.id}) < (${p('key')}, ${p('id')})`
    : sql`(${column}, ${tasksTable.id}) > (${p('key')}, ${p('id')})`
  const where = and(
    query.ownerId ? eq(tasksTable.owner_id, p('owner')) : undefined,
    query.status ? eq(tasksTable.status, p('status')) : undefined,
    query.priority ? eq(tasksTable.priority, p('priority')) : undefined,
    query.tag ? sql`${tasksTable.tags} @> array[${p('tag')}]::text[]` : undefined,
    query.q ? or(sql`${tasksTable.title} ilike ${p('q')}`, sql`${tasksTable.description} ilike ${p('q')}`) : undefined,
    query.dueBefore ? lt(tasksTable.due_at, p('due_before')) : undefined,
    query.dueAfter ? gt(tasksTable.due_at, p('due_after')) : undefined,
    part === 'dated' ? isNotNull(tasksTable.due_at) : part === 'undated' ? isNull(tasksTable.due_at) : undefined,
    after && keyed ? beyond : undefined,
    after && !keyed && after.key === null ? (descending ? lt : gt)(tasksTable.id, p('id')) : undefined
  )
  return db.select({ json: TASK_JSON }).from(tasksTable).where(where)
    .orderBy(...(keyed ? [order(column), order(tasksTable.id)] : [order(tasksTable.id)]))
    .limit(p('limit'))
}

/**
 * The statement of one listing query. Without filters (a list in any sort, a page after any cursor)
 * it is prepared once per shape and kept (prepared() in core/db.ts): PostgreSQL then skips parsing
 * and, once it finds the generic plan no worse, planning; the plan is the same owner-led index range
 * scan whoever the owner is. With filters, their values can change the best plan (a tag on half the
 * rows or on none), so those are planned for each request's values.
 */
function pageStatement (db: Db, query: TaskListQuery, part: Part, after: Position | undefined) {
  const filtered = [query.status, query.priority, query.tag, query.q, query.dueBefore, query.dueAfter].some(v => v !== undefined)
  if (filtered) return pageQuery(db, query, part, after)
  const cursor = after === undefined ? 'first' : part !== 'undated' ? 'after' : after.key === null ? 'after' : 'first'
  const name = `tasks_list_${query.ownerId ? 'owner' : 'all'}_${query.descending ? '-' : ''}${query.sort}_${part}_${cursor}`
  return prepared(db, name, (d, n) => pageQuery(d, query, part, after).prepare(n))
}

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
   * one task's JSON text as PostgreSQL writes it (TASK_JSON in tasks.json.ts): byte for byte what the
   * TaskView serializer writes for the same row.
   */
  async list (db: Db, query: TaskListQuery, cursors: Cursors): Promise<Page<string>> {
    const { sort, limit } = query
    const after = query.cursor ? parseCursor(cursors, query, query.cursor) : undefined
    const values: Record<string, unknown> = {
      owner: query.ownerId,
      status: query.status,
      priority: query.priority,
      tag: query.tag,
      q: query.q === undefined ? undefined : likePattern(query.q),
      // As the column's encoder writes them (ISO 8601 UTC), so that years 0001–0099 survive.
      due_before: query.dueBefore?.toISOString(),
      due_after: query.dueAfter?.toISOString(),
      key: after ? toDb(sort, after.key) : undefined,
      id: after?.id
    }
    const fetch = async (part: Part, n: number): Promise<string[]> => {
      const rows = await pageStatement(db, query, part, after).execute({ ...values, limit: n })
      return rows.map(row => row.json)
    }

    let rows: string[]
    if (sort !== 'due_at') {
      rows = await fetch('all', limit + 1)
    } else {
      rows = []
      if (!after || after.key !== null) rows = await fetch('dated', limit + 1)
      if (rows.length <= limit) rows = rows.concat(await fetch('undated', limit + 1 - rows.length))
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

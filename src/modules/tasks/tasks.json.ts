import { sql } from 'drizzle-orm'
import type { FastifyReply } from 'fastify'
import { nextPageLink } from '../../core/http/page-links.js'
import type { Page } from '../../core/pagination.js'

/**
 * A `timestamptz` column as `Date.prototype.toISOString()` writes it (`2026-11-30T22:47:31.123Z`):
 * UTC, milliseconds (PostgreSQL's microseconds truncated, as `new Date(text)` does), years 0001–9999
 * in four digits; whatever the session's TimeZone and DateStyle.
 */
const iso = (column: string) => `to_char("tasks"."${column}" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

/** How a column becomes JSON: as a JSON string without escaping, through `to_json`, or either or `null`. */
type Encoding = 'plain' | 'json' | 'nullable-plain' | 'nullable-json'

/**
 * Each field of API.md's task object (TaskView), in TaskView's order, with the SQL of its value.
 * Free text goes through `to_json`, whose escaping is JSON.stringify's (`\"`, `\\`, `\n`-style
 * short forms, `\u00XX` for the other control characters, everything else as UTF-8; U+0000 and
 * unpaired surrogates never get stored). The rest needs none: uuids are hex, status and priority are
 * held to their enums by the table's check constraints, timestamps are iso().
 */
export const TASK_JSON_FIELDS: ReadonlyArray<readonly [name: string, sql: string, encoding: Encoding]> = [
  ['id', '"tasks"."id"::text', 'plain'],
  ['title', '"tasks"."title"', 'json'],
  ['description', '"tasks"."description"', 'nullable-json'],
  ['status', '"tasks"."status"', 'plain'],
  ['priority', '"tasks"."priority"', 'plain'],
  ['due_at', iso('due_at'), 'nullable-plain'],
  ['tags', '"tasks"."tags"', 'json'],
  ['owner_id', '"tasks"."owner_id"::text', 'plain'],
  ['created_at', iso('created_at'), 'plain'],
  ['updated_at', iso('updated_at'), 'plain'],
  ['completed_at', iso('completed_at'), 'nullable-plain']
]

/** `'{"id":"' || "tasks"."id"::text || '","title":' || to_json(…)::text || …`: adjacent literals merged. */
function jsonObjectSql (fields: typeof TASK_JSON_FIELDS): string {
  const parts: Array<{ literal: string } | { sql: string }> = []
  const literal = (text: string) => {
    const last = parts.at(-1)
    if (last && 'literal' in last) last.literal += text
    else parts.push({ literal: text })
  }
  fields.forEach(([name, value, encoding], i) => {
    literal(`${i === 0 ? '{' : ','}"${name}":`)
    if (encoding === 'plain') {
      literal('"')
      parts.push({ sql: value })
      literal('"')
    } else if (encoding === 'json') {
      parts.push({ sql: `to_json(${value})::text` })
    } else {
      parts.push({ sql: `coalesce(${encoding === 'nullable-plain' ? `'"' || ${value} || '"'` : `to_json(${value})::text`}, 'null')` })
    }
  })
  literal('}')
  return parts.map(p => ('literal' in p ? `'${p.literal.replaceAll("'", "''")}'` : p.sql)).join(' || ')
}

/**
 * One task's JSON text, built by PostgreSQL from the row of `tasks` in the FROM clause: the TaskView
 * serializer's output for that row, byte for byte (tasks.json.test.ts compares them). Text, so that
 * neither driver parses it back into objects; it is computed only for the rows the query returns,
 * after ORDER BY and LIMIT.
 */
export const TASK_JSON = sql<string>`${sql.raw(jsonObjectSql(TASK_JSON_FIELDS))}`

/** The body of a page whose items are JSON text already: `{"data":[…],"next_cursor":…}` (Page(TaskView)). */
export function pageJson (page: Page<string>): string {
  return `{"data":[${page.data.join(',')}],"next_cursor":${JSON.stringify(page.next_cursor)}}`
}

/**
 * Sends a page of tasks as JSON text (`application/json; charset=utf-8`, as the serializer would).
 * Fastify serializes no string and runs no preSerialization hook for one, so the `Link: rel="next"`
 * header of core/http/page-links.ts is set here; the route's response schema still documents the body.
 */
export function sendTaskPage (reply: FastifyReply, publicUrl: string, page: Page<string>): FastifyReply {
  reply.type('application/json; charset=utf-8')
  if (page.next_cursor !== null) reply.header('link', nextPageLink(publicUrl, reply.request.url, page.next_cursor))
  return reply.send(pageJson(page))
}

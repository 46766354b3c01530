// Bulk task rows for the scale measurements (`npm run explain:tasks`, `npm run bench`): one
// INSERT … SELECT generate_series, with statuses, priorities, due dates, tags and descriptions spread
// the way the listings filter and sort on them. `owner` is an SQL expression (g is the row number).
export function seedTasksSql (owner: string, count: number): string {
  return `insert into tasks (id, owner_id, title, description, status, priority, due_at, tags, created_at, updated_at)
    select gen_random_uuid(), ${owner}, 'task ' || g, case when g % 3 = 0 then 'some longer description ' || g end,
      (array['todo','in_progress','done'])[1 + g % 3], (array['low','medium','high','urgent'])[1 + g % 4],
      case when g % 5 <> 0 then now() + (g % 400) * interval '1 day' end,
      case when g % 2 = 0 then array['work'] else array['home', 'q' || (g % 4)] end,
      now() - g * interval '1 second', now() - g * interval '1 second'
    from generate_series(1, ${Math.trunc(count)}) g`
}

/** The listings measured at scale: label and query string of GET /v1/tasks (50 a page). */
export const LISTING_CASES: ReadonlyArray<readonly [string, string]> = [
  ['default (sort -created_at)', ''],
  ['status=todo', 'status=todo'],
  ['sort=priority', 'sort=priority'],
  ['sort=-due_at', 'sort=-due_at'],
  ['sort=title', 'sort=title'],
  ['tag=work', 'tag=work'],
  ['q=report (matches nothing)', 'q=report'],
  ['q=task (matches every task)', 'q=task']
]

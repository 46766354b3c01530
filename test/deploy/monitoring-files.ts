import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'

/** The checkout's deploy/ folder, whose files these tests read. */
export const deployDir = new URL('../../deploy/', import.meta.url).pathname
export const repoRoot = join(deployDir, '..')

export const readYaml = (relative: string): unknown => parse(readFileSync(join(deployDir, relative), 'utf8'))

export interface DashboardTarget { refId?: unknown, expr?: unknown, datasource?: { uid?: unknown } }
export interface DashboardPanel {
  id?: unknown
  type?: unknown
  title?: unknown
  gridPos?: { x?: unknown, y?: unknown, w?: unknown, h?: unknown }
  datasource?: { type?: unknown, uid?: unknown }
  targets?: DashboardTarget[]
  panels?: DashboardPanel[]
}
export interface Dashboard { uid?: unknown, title?: unknown, schemaVersion?: unknown, panels?: DashboardPanel[] }

export const readDashboard = (): Dashboard => JSON.parse(readFileSync(join(deployDir, 'grafana/taskflow.json'), 'utf8')) as Dashboard

/** Every panel, rows' nested (collapsed) panels included. */
export function allPanels (dashboard: Dashboard): DashboardPanel[] {
  return (dashboard.panels ?? []).flatMap(p => [p, ...(p.panels ?? [])])
}

/** The PromQL of every panel target, with the panel it belongs to. */
export function dashboardExpressions (dashboard: Dashboard): Array<{ panel: string, expr: string }> {
  return allPanels(dashboard).flatMap(p => (p.targets ?? []).map(t => ({ panel: String(p.title), expr: String(t.expr) })))
}

export interface AlertRule { alert: string, expr: string, for?: string, labels?: Record<string, string>, annotations?: Record<string, string> }

export function readAlertRules (): AlertRule[] {
  const file = readYaml('prometheus/alerts.yml') as { groups: Array<{ rules: AlertRule[] }> }
  return file.groups.flatMap(g => g.rules)
}

// Words of PromQL that look like metric names: aggregation and set operators, modifiers, literals.
const PROMQL_WORDS = new Set([
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile',
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'atan2',
  'offset', 'inf', 'nan'
])

/**
 * The metric names a PromQL expression selects (Prometheus query language: a name is an identifier
 * that is not a function, an aggregation, a keyword, a label name or inside a string). Grafana's
 * `$__rate_interval` and other `$variables` are ignored. Not a full parser: enough for dashboards and
 * rules, and unit-tested on the shapes they use.
 */
export function metricNames (expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ') // string literals
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range and subquery selectors
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\boffset\s+-?\w+/g, ' ')
  const names = new Set<string>()
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = match[0]
    const before = stripped[match.index - 1] ?? ''
    if (/[0-9.$]/.test(before)) continue // 1e3, 0x1f, $variable
    if (stripped.slice(match.index + word.length).trimStart().startsWith('(')) continue // a function or aggregation
    if (PROMQL_WORDS.has(word.toLowerCase())) continue
    names.add(word)
  }
  return [...names]
}

/**
 * Every series name a Prometheus text exposition declares: each `# TYPE` name, plus `_bucket`,
 * `_sum` and `_count` for histograms (`_sum`, `_count` for summaries), plus every sample's name.
 */
export function exportedMetricNames (exposition: string): Set<string> {
  const names = new Set<string>()
  for (const line of exposition.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line)
    if (type?.[1] && type[2]) {
      names.add(type[1])
      if (type[2] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(type[1] + suffix)
      if (type[2] === 'summary') for (const suffix of ['_sum', '_count']) names.add(type[1] + suffix)
      continue
    }
    const sample = /^([A-Za-z_:][A-Za-z0-9_:]*)[ {]/.exec(line)
    if (sample?.[1]) names.add(sample[1])
  }
  return names
}

/** Runs promtool (Debian's `prometheus` package; .ci/run installs it). Throws when it is missing. */
export function promtool (args: string[]): { status: number | null, output: string } {
  const run = spawnSync('promtool', args, { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 })
  if (run.error) throw new Error(`promtool could not run (${run.error.message}): install Debian's prometheus package`)
  return { status: run.status, output: `${run.stdout}${run.stderr}` }
}

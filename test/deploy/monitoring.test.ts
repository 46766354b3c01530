import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { isAbsolute, join } from 'node:path'
import { describe, it } from 'node:test'
import { stringify } from 'yaml'
import { buildTestApp } from '../build-test-app.js'
import { storageLabel } from '../test-env.js'
import {
  allPanels, dashboardExpressions, deployDir, exportedMetricNames, metricNames, promtool, readAlertRules, readDashboard, readYaml, repoRoot
} from './monitoring-files.js'

// Series Prometheus itself makes for every scrape target: never exported by the service.
const PROMETHEUS_SYNTHETIC_METRICS = ['up']

interface ComposeService { image?: string, build?: unknown, ports?: string[], volumes?: string[], secrets?: string[], environment?: Record<string, string> }
interface Compose { services: Record<string, ComposeService>, secrets?: Record<string, { environment?: string, file?: string }>, volumes?: Record<string, unknown> }

/** The metric names the dashboard and the alert rules use, each with where it is used. */
function usedMetricNames (): Map<string, string> {
  const used = new Map<string, string>()
  for (const { panel, expr } of dashboardExpressions(readDashboard())) for (const name of metricNames(expr)) used.set(name, `dashboard panel "${panel}"`)
  for (const rule of readAlertRules()) for (const name of metricNames(rule.expr)) used.set(name, `alert ${rule.alert}`)
  return used
}

/** Names used but neither exported nor allowed; and allowed pending names that are exported already. */
function compareNames (used: Map<string, string>, exported: Set<string>) {
  const allowed = new Set(PROMETHEUS_SYNTHETIC_METRICS)
  const unknown = [...used].filter(([name]) => !exported.has(name) && !allowed.has(name)).map(([name, where]) => `${name} (${where})`)
  return { unknown }
}

describe('PromQL metric-name extraction', () => {
  it('when given the shapes dashboards and rules use, then it returns exactly the metric names', () => {
    assert.deepEqual(metricNames('histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket{status_code=~"5.."}[$__rate_interval])))'), ['http_request_duration_seconds_bucket'])
    assert.deepEqual(metricNames('sum(rate(a_total{job="x"}[5m])) * 60 > 30 and sum(rate(a_total[5m])) > 5 * sum(rate(b_total[1d] offset 1h))').sort(), ['a_total', 'b_total'])
    assert.deepEqual(metricNames('sum(rate(x_total[5m])) by (reason) / ignoring(reason) group_left count(y)').sort(), ['x_total', 'y'])
    assert.deepEqual(metricNames('up{job="taskflow", instance=~"a.*"} == 0 or on(instance) vector(1e3)'), ['up'])
    assert.deepEqual(metricNames('max(deriv(mail_outbox_pending[15m:1m])) > 0 and min by (instance, check) (readiness_check_ok) == bool 0').sort(), ['mail_outbox_pending', 'readiness_check_ok'])
  })

  it("when a name is misspelt, then the comparison reports it with where it is used, and Prometheus's own series are allowed", () => {
    const used = new Map([['auth_login_sucess_total', 'panel "Logins"'], ['mail_sent_total', 'panel "Mail"'], ['up', 'alert X']])
    assert.deepEqual(compareNames(used, new Set(['auth_login_success_total'])), { unknown: ['auth_login_sucess_total (panel "Logins")', 'mail_sent_total (panel "Mail")'] })
    assert.deepEqual(compareNames(used, new Set(['auth_login_sucess_total', 'mail_sent_total'])), { unknown: [] })
  })
})

describe(`dashboard and alerts use only metrics the service exports [${storageLabel}]`, () => {
  it('when /metrics of a test server is scraped, then every metric named by the dashboard and the rules is in it (or on the commented allow-lists)', async (t) => {
    const { app, make } = await buildTestApp(t, { METRICS_DEFAULT: 'true' })
    await make.user() // a request or two, so that labelled series exist too (names come from # TYPE lines anyway)
    const res = await app.inject({ method: 'GET', url: '/metrics' })
    assert.equal(res.statusCode, 200)
    const used = usedMetricNames()

    const { unknown } = compareNames(used, exportedMetricNames(res.body))

    assert.ok(used.size >= 15, `the dashboard and rules name ${used.size} metrics`)
    assert.deepEqual(unknown, [], 'metrics the service does not export')
  })
})

describe('Grafana dashboard (deploy/grafana/taskflow.json)', () => {
  const dashboard = readDashboard()
  const datasources = readYaml('grafana/provisioning/datasources/prometheus.yml') as { datasources: Array<{ uid: string, type: string, url: string }> }

  it('when read, then it has the dashboard model\'s required fields and every panel is complete, placed on the 24-column grid without overlap', () => {
    assert.equal(typeof dashboard.uid, 'string')
    assert.equal(dashboard.title, 'TaskFlow')
    assert.ok(Number.isInteger(dashboard.schemaVersion) && Number(dashboard.schemaVersion) >= 36)
    const panels = allPanels(dashboard)
    const ids = panels.map(p => p.id)
    assert.ok(ids.every(id => Number.isInteger(id)), 'integer panel ids')
    assert.equal(new Set(ids).size, ids.length, 'unique panel ids')
    const cells = new Set<string>()
    for (const panel of panels) {
      assert.ok(typeof panel.type === 'string' && typeof panel.title === 'string' && panel.title.length > 0, `panel ${String(panel.id)} type and title`)
      const { x, y, w, h } = panel.gridPos ?? {}
      assert.ok([x, y, w, h].every(n => Number.isInteger(n) && Number(n) >= 0), `${String(panel.title)}: gridPos`)
      assert.ok(Number(x) + Number(w) <= 24 && Number(w) > 0 && Number(h) > 0, `${String(panel.title)}: inside the grid`)
      for (let row = Number(y); row < Number(y) + Number(h); row++) {
        for (let col = Number(x); col < Number(x) + Number(w); col++) {
          assert.ok(!cells.has(`${row}:${col}`), `${String(panel.title)} overlaps another panel`)
          cells.add(`${row}:${col}`)
        }
      }
      if (panel.type === 'row') continue
      assert.ok(panel.targets && panel.targets.length > 0, `${String(panel.title)}: has queries`)
      const refIds = panel.targets.map(t => t.refId)
      assert.equal(new Set(refIds).size, refIds.length, `${String(panel.title)}: unique refIds`)
      for (const target of panel.targets) assert.ok(typeof target.expr === 'string' && target.expr.length > 0, `${String(panel.title)}: expression`)
    }
  })

  it('when read, then it has the four rows and every panel queries the provisioned Prometheus data source by uid', () => {
    const rows = (dashboard.panels ?? []).filter(p => p.type === 'row').map(p => p.title)
    assert.deepEqual(rows, ['Traffic', 'Authentication', 'Mail', 'Process'])
    const [source] = datasources.datasources
    assert.equal(source?.type, 'prometheus')
    assert.equal(source?.url, 'http://prometheus:9090', 'the compose service')
    for (const panel of allPanels(dashboard).filter(p => p.type !== 'row')) {
      assert.equal(panel.datasource?.uid, source?.uid, String(panel.title))
      for (const target of panel.targets ?? []) assert.equal(target.datasource?.uid, source?.uid, String(panel.title))
    }
  })

  it('when read, then the panels the issue asks for are there: percentiles by route, error rates, auth, mail and process series', () => {
    const exprs = dashboardExpressions(dashboard).map(e => e.expr)
    for (const q of ['0.5', '0.95', '0.99']) assert.ok(exprs.some(e => e.startsWith(`histogram_quantile(${q}, sum by (le, route)`) && e.includes('http_request_duration_seconds_bucket')), `p${q} by route`)
    for (const status of ['4..', '5..']) assert.ok(exprs.some(e => e.includes(`status_code=~"${status}"`)), status)
    const names = new Set(exprs.flatMap(metricNames))
    for (const name of ['auth_login_success_total', 'auth_login_failure_total', 'auth_register_total', 'auth_token_refresh_total', 'auth_token_reuse_detected_total',
      'auth_mfa_verify_total', 'auth_rate_limited_total', 'mail_sent_total', 'mail_outbox_pending', 'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes', 'process_resident_memory_bytes', 'password_hash_queue_depth']) {
      assert.ok(names.has(name), name)
    }
  })
})

describe('alert rules (deploy/prometheus/alerts.yml)', () => {
  const rules = readAlertRules()
  const operations = readFileSync(join(repoRoot, 'docs/operations.md'), 'utf8')

  it('when checked and unit-tested by promtool, then both pass', () => {
    const check = promtool(['check', 'rules', 'deploy/prometheus/alerts.yml'])
    assert.equal(check.status, 0, check.output)
    const test = promtool(['test', 'rules', 'deploy/prometheus/alerts.test.yml'])
    assert.equal(test.status, 0, test.output)
  })

  it('when read, then every alert has a severity, a summary and a runbook entry in docs/operations.md', () => {
    assert.ok(rules.length >= 5)
    for (const rule of rules) {
      assert.ok(['page', 'warning'].includes(rule.labels?.severity ?? ''), `${rule.alert}: severity`)
      assert.ok(rule.annotations?.summary, `${rule.alert}: summary`)
      const anchor = rule.alert.toLowerCase()
      assert.equal(rule.annotations?.runbook, `docs/operations.md#${anchor}`, `${rule.alert}: runbook`)
      const entry = new RegExp(`^#{2,4} ${rule.alert}\\n+(\\S.{20,})`, 'm').exec(operations)
      assert.ok(entry, `${rule.alert}: a heading and a runbook line in docs/operations.md`)
    }
  })
})

describe('compose stack (deploy/compose.yaml; `docker compose config` needs a Docker engine, absent here)', () => {
  const compose = readYaml('compose.yaml') as Compose
  const prometheusConfig = readYaml('prometheus/prometheus.yml') as {
    rule_files: string[]
    scrape_configs: Array<{ job_name: string, metrics_path?: string, authorization?: { type?: string, credentials_file?: string }, static_configs: Array<{ targets: string[] }> }>
  }
  const services = compose.services
  const mounts = (service: string) => (services[service]?.volumes ?? []).map(v => {
    const [source = '', target = ''] = v.split(':')
    return { source, target }
  })

  it('when parsed, then every service runs a version-pinned image or is built here, Prometheus and Grafana from their official images', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build) continue
      assert.match(service.image ?? '', /^[a-z0-9./-]+:v?\d+(\.\d+)*$/, `${name}: image pinned by version`)
    }
    assert.match(services.prometheus?.image ?? '', /^prom\/prometheus:v3\.\d+\.\d+$/)
    assert.match(services.grafana?.image ?? '', /^grafana\/grafana:\d+\.\d+\.\d+$/)
  })

  it('when parsed, then every mounted file or folder exists, and Prometheus and Grafana listen on loopback only', () => {
    for (const [name] of Object.entries(services)) {
      for (const { source } of mounts(name).filter(m => m.source.startsWith('.'))) {
        assert.ok(existsSync(join(deployDir, source)), `${name}: ${source} exists`)
      }
    }
    for (const name of ['prometheus', 'grafana']) {
      assert.ok((services[name]?.ports ?? []).every(p => p.startsWith('127.0.0.1:')), `${name}: published on 127.0.0.1 only`)
    }
  })

  it('when parsed, then Prometheus scrapes every TaskFlow instance with METRICS_TOKEN as a bearer credential file, and loads the mounted rules', () => {
    const instances = Object.keys(services).filter(name => name.startsWith('taskflow-'))
    assert.ok(instances.length >= 2)
    const [job] = prometheusConfig.scrape_configs.filter(c => c.job_name === 'taskflow')
    assert.deepEqual(job?.static_configs.flatMap(s => s.targets).sort(), instances.map(name => `${name}:3000`).sort())
    assert.equal(job?.metrics_path ?? '/metrics', '/metrics')
    assert.equal(job?.authorization?.type, 'Bearer')
    assert.equal(compose.secrets?.metrics_token?.environment, 'METRICS_TOKEN')
    assert.deepEqual(services.prometheus?.secrets, ['metrics_token'])
    assert.equal(job?.authorization?.credentials_file, '/run/secrets/metrics_token')
    const targets = new Set(mounts('prometheus').map(m => m.target))
    for (const file of prometheusConfig.rule_files) assert.ok(targets.has(file), `${file} is mounted`)
    assert.ok(targets.has('/etc/prometheus/prometheus.yml'))
  })

  it('when the Prometheus configuration is checked by promtool (paths mapped to this checkout), then it is valid', (t) => {
    const dir = mkdtempSync(join(process.env.TEST_DATA_ROOT ?? tmpdir(), 'prometheus-config-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    const tokenFile = join(dir, 'metrics_token')
    writeFileSync(tokenFile, 'a-metrics-token-for-the-check')
    const local = structuredClone(prometheusConfig)
    local.rule_files = local.rule_files.map(() => join(deployDir, 'prometheus/alerts.yml'))
    for (const job of local.scrape_configs) if (job.authorization) job.authorization.credentials_file = tokenFile
    const file = join(dir, 'prometheus.yml')
    writeFileSync(file, stringify(local))
    const check = promtool(['check', 'config', file])
    assert.equal(check.status, 0, check.output)
  })

  it('when parsed, then Grafana is provisioned from the mounted files, its admin password comes from the environment, and anonymous viewing is off unless asked for', () => {
    const grafana = services.grafana
    const env = grafana?.environment ?? {}
    assert.match(env.GF_SECURITY_ADMIN_PASSWORD ?? '', /^\$\{GRAFANA_ADMIN_PASSWORD:\?/, 'required from the environment, no default')
    assert.match(env.GF_AUTH_ANONYMOUS_ENABLED ?? '', /^\$\{GRAFANA_ANONYMOUS_VIEWER:-false\}$/, 'off by default')
    assert.equal(env.GF_AUTH_ANONYMOUS_ORG_ROLE, 'Viewer')
    const targets = new Map(mounts('grafana').map(m => [m.target, m.source]))
    assert.equal(targets.get('/etc/grafana/provisioning'), './grafana/provisioning')
    const providers = readYaml('grafana/provisioning/dashboards/taskflow.yml') as { providers: Array<{ options: { path: string } }> }
    const dashboardPath = providers.providers[0]?.options.path ?? ''
    assert.ok(isAbsolute(dashboardPath))
    assert.equal(targets.get(`${dashboardPath}/taskflow.json`), './grafana/taskflow.json', 'the dashboard is mounted where the provider looks')
  })

  it('when compose.yaml reads a variable from the environment, then the docs name it', () => {
    const text = readFileSync(join(deployDir, 'compose.yaml'), 'utf8')
    const docs = readFileSync(join(repoRoot, 'docs/operations.md'), 'utf8') + readFileSync(join(repoRoot, 'docs/deploy.md'), 'utf8')
    const variables = new Set([...text.matchAll(/\$\{([A-Z_]+)/g)].map(m => m[1] ?? ''))
    for (const variable of variables) assert.ok(docs.includes(variable), `${variable} is documented`)
  })
})

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { stringify } from 'yaml'
import { DEFAULT_PASSWORD, uniqueEmail } from '../factories.js'
import { freePort, startRealServer } from '../real-server.js'
import { storageLabel } from '../test-env.js'
import { deployDir, readDashboard, readYaml, type DashboardPanel } from './monitoring-files.js'

/** Debian's `prometheus` package (.ci/run installs it when missing). */
const PROMETHEUS = '/usr/bin/prometheus'

interface PrometheusConfig {
  global?: Record<string, string>
  rule_files: string[]
  scrape_configs: Array<{ job_name: string, authorization?: { credentials_file?: string }, static_configs: Array<{ targets: string[] }> }>
}
interface QueryResult { status: string, data: { result: Array<{ metric: Record<string, string>, value: [number, string] }> } }

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/** Polls `probe` every 250 ms until it returns a value, or fails after `seconds` naming `what`. */
async function waitFor<T> (what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + seconds * 1000
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    await sleep(250)
  }
  throw new Error(`timed out waiting for ${what}`)
}

/**
 * Debian's Prometheus on 127.0.0.1 with the shipped prometheus.yml and alerts.yml, changed only where
 * the compose stack differs: a 1 s scrape and evaluation interval, the test server as the one target,
 * a temporary token file and storage directory. Stopped, and its files removed, after the test.
 */
async function startPrometheus (t: TestContext, target: string, token: string): Promise<{ base: string, logs: () => string }> {
  if (!existsSync(PROMETHEUS)) throw new Error(`${PROMETHEUS} is missing: install Debian's prometheus package (.ci/run does)`)
  const dir = mkdtempSync(join(process.env.TEST_DATA_ROOT ?? tmpdir(), 'prometheus-'))
  const tokenFile = join(dir, 'metrics_token')
  writeFileSync(tokenFile, token, { mode: 0o600 })
  const config = structuredClone(readYaml('prometheus/prometheus.yml') as PrometheusConfig)
  config.global = { ...config.global, scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' }
  config.rule_files = [join(deployDir, 'prometheus/alerts.yml')]
  const job = config.scrape_configs.find(c => c.job_name === 'taskflow')
  assert.ok(job?.authorization, 'the shipped config scrapes job "taskflow" with a bearer credential')
  job.authorization.credentials_file = tokenFile
  job.static_configs = [{ targets: [target] }]
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config))

  const port = await freePort()
  const child = spawn(PROMETHEUS, [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'
  ], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk) => { stderr += String(chunk) })
  const exited = new Promise(resolve => child.once('exit', resolve))
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  })
  const base = `http://127.0.0.1:${port}`
  await waitFor(`Prometheus to be ready (${stderr})`, 60, async () => {
    if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`)
    return (await fetch(`${base}/-/ready`)).ok ? true : undefined
  })
  return { base, logs: () => stderr }
}

async function query (base: string, promql: string): Promise<QueryResult['data']['result']> {
  const res = await fetch(`${base}/api/v1/query?${new URLSearchParams({ query: promql })}`)
  const body = await res.json() as QueryResult
  assert.equal(body.status, 'success', `query ${promql}`)
  return body.data.result
}

/** Grafana fills in $__rate_interval (at least 4 scrape intervals); with a 1 s scrape, 10 s is plenty. */
const forPrometheus = (expr: string) => expr.replaceAll('$__rate_interval', '10s')

describe(`Prometheus scrapes a TaskFlow test server [${storageLabel}]`, () => {
  it('when users log in, then Prometheus (Debian\'s, with the shipped config and rules) scrapes with the metrics token and answers the dashboard\'s login-rate query with data', async (t) => {
    const token = randomBytes(24).toString('base64url')
    const { base: taskflow } = await startRealServer(t, { METRICS_TOKEN: token })
    const { base: prometheus } = await startPrometheus(t, new URL(taskflow).host, token)
    const loginPanel = readDashboard().panels?.find((p: DashboardPanel) => String(p.title).startsWith('Logins per second')) ?? {}
    const [successExpr, failureExpr] = (loginPanel.targets ?? []).map(target => forPrometheus(String(target.expr)))
    assert.ok(successExpr?.includes('auth_login_success_total') && failureExpr?.includes('auth_login_failure_total'))

    // Scraped (with the bearer token) before anyone logs in, so the rate sees the counters rise.
    await waitFor('the first scrape of the test server', 60, async () =>
      (await query(prometheus, 'up{job="taskflow"} == 1 and on() auth_login_success_total == 0')).length > 0 ? true : undefined)
    const email = uniqueEmail('prometheus')
    const post = (path: string, body: unknown) => fetch(`${taskflow}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    assert.equal((await post('/v1/auth/register', { email, password: DEFAULT_PASSWORD })).status, 201)
    for (let i = 0; i < 3; i++) assert.equal((await post('/v1/auth/login', { email, password: DEFAULT_PASSWORD })).status, 200)
    // A labelled series starts at its first failure: a rate needs it scraped once before the next one.
    assert.equal((await post('/v1/auth/login', { email, password: 'not the password at all' })).status, 401)
    await waitFor('the failure series', 60, async () => (await query(prometheus, 'auth_login_failure_total')).length > 0 ? true : undefined)
    assert.equal((await post('/v1/auth/login', { email, password: 'still not the password' })).status, 401)

    const successRate = await waitFor('the login rate', 60, async () => {
      const [sample] = await query(prometheus, successExpr ?? '')
      return sample && Number(sample.value[1]) > 0 ? Number(sample.value[1]) : undefined
    })
    const failures = await waitFor('the failure rate by reason', 60, async () => {
      const result = await query(prometheus, failureExpr ?? '')
      return result.some(s => Number(s.value[1]) > 0) ? result : undefined
    })

    assert.ok(successRate > 0)
    assert.deepEqual(failures.map(s => s.metric.reason), ['invalid_credentials'])
    const targets = await (await fetch(`${prometheus}/api/v1/targets`)).json() as { data: { activeTargets: Array<{ health: string, labels: Record<string, string> }> } }
    assert.deepEqual(targets.data.activeTargets.map(a => [a.labels.job, a.health]), [['taskflow', 'up']])
    const rules = await (await fetch(`${prometheus}/api/v1/rules`)).json() as { data: { groups: Array<{ rules: Array<{ name: string, health: string }> }> } }
    const loaded = rules.data.groups.flatMap(g => g.rules)
    assert.ok(loaded.length >= 5 && loaded.every(r => r.health !== 'err'), 'the alert rules load and evaluate')
  })
})

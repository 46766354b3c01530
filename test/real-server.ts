import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { loadConfig } from '../src/config.js'
import { startServer, type RunningServer } from '../src/server.js'
import { sharedStorage } from './build-test-app.js'
import { testEnv } from './test-env.js'

/**
 * Environment for a real server or CLI process on this run's storage: this process's own database and
 * Redis prefix on the services run, else a fresh DATA_DIR removed after the test. Rate limits off.
 */
export async function storageEnv (t: TestContext): Promise<Record<string, string>> {
  const { databaseUrl } = await sharedStorage()
  if (databaseUrl && testEnv.redisUrl) {
    return { DATABASE_URL: databaseUrl, REDIS_URL: testEnv.redisUrl, REDIS_KEY_PREFIX: testEnv.redisPrefix, RATE_LIMIT_ENABLED: 'false', MAX_EVENT_LOOP_DELAY_MS: '0' }
  }
  const dir = mkdtempSync(join(process.env.TEST_DATA_ROOT ?? tmpdir(), 'data-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return { DATA_DIR: dir, RATE_LIMIT_ENABLED: 'false', MAX_EVENT_LOOP_DELAY_MS: '0' }
}

export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => { if (address && typeof address === 'object') resolve(address.port); else reject(new Error('no port')) })
    })
  })
}

/**
 * A real listening server (in this process) on this run's storage, closed after the test. Its port is
 * chosen first, so PUBLIC_URL — which the OpenAPI document and metadata name — is the address in use.
 */
export async function startRealServer (t: TestContext, env: Record<string, string> = {}): Promise<{ base: string, server: RunningServer }> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const server = await startServer(loadConfig({ ...await storageEnv(t), PORT: String(port), PUBLIC_URL: base, LOG_LEVEL: 'silent', ...env }))
  t.after(() => server.close())
  return { base, server }
}

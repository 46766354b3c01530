import assert from 'node:assert/strict'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { chromium } from 'playwright-core'
import { DEFAULT_PASSWORD, uniqueEmail } from '../factories.js'
import { startRealServer } from '../real-server.js'
import { storageLabel } from '../test-env.js'

const CHROMIUM = '/usr/bin/chromium'
// CI installs Debian's chromium (.ci/run); elsewhere a missing browser skips this test, visibly.
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `needs ${CHROMIUM} (apt-get install chromium)` : false
const artifacts = new URL('../../test-artifacts/', import.meta.url).pathname

describe(`the /docs page in a real browser [${storageLabel}]`, { skip }, () => {
  it('when a user clicks Authorize and logs in with the OAuth2 password flow, then "Try it out" on GET /v1/users/me shows them', async (t) => {
    const { base } = await startRealServer(t)
    const email = uniqueEmail('browser')
    const registered = await fetch(`${base}/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: DEFAULT_PASSWORD }) })
    assert.equal(registered.status, 201)

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
    t.after(() => browser.close())
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } })
    await page.goto(`${base}/docs/`)
    await page.locator('.scheme-container button.authorize').click()
    const oauth = page.locator('.auth-container', { hasText: 'OAuth2, password' })
    await oauth.locator('#oauth_username').fill(email)
    await oauth.locator('#oauth_password').fill(DEFAULT_PASSWORD)
    await oauth.locator('button.authorize').click()
    await oauth.locator('button', { hasText: 'Logout' }).waitFor({ timeout: 15_000 }) // swagger-ui shows Logout once it holds a token
    await page.locator('.dialog-ux button.close-modal').click()

    const operation = page.locator('.opblock-get', { has: page.locator('[data-path="/v1/users/me"]') })
    await operation.locator('.opblock-summary').click()
    // /docs opens with "Try it out" already on (uiConfig.tryItOutEnabled), so Execute is there
    await operation.locator('button.execute').click()
    const body = operation.locator('.live-responses-table .response-col_description pre').first()
    await body.waitFor({ timeout: 15_000 })
    mkdirSync(artifacts, { recursive: true })
    await body.scrollIntoViewIfNeeded()
    await page.screenshot({ path: join(artifacts, `docs-authorize-${storageLabel}.png`), fullPage: false })
    assert.match(await body.innerText(), new RegExp(email.replace(/[.]/g, '\\.')))
    assert.match(await operation.locator('.live-responses-table tbody .response-col_status').first().innerText(), /200/)
  })
})

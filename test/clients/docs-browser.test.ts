import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { chromium, type Browser, type Page } from 'playwright-core'
import { DEFAULT_PASSWORD, uniqueEmail } from '../factories.js'
import { startRealServer } from '../real-server.js'
import { storageLabel } from '../test-env.js'

const CHROMIUM = '/usr/bin/chromium'
// CI installs Debian's chromium (.ci/run); elsewhere a missing browser skips this test, visibly.
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `needs ${CHROMIUM} (apt-get install chromium)` : false
const artifacts = new URL('../../test-artifacts/', import.meta.url).pathname
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

/**
 * A page that records every console error, uncaught exception and Content-Security-Policy violation
 * (the event fires even when Chromium logs nothing), so a test can insist there were none.
 */
async function watchedPage (browser: Browser): Promise<{ page: Page, problems: string[] }> {
  const problems: string[] = []
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } })
  await page.exposeFunction('reportCspViolation', (text: string) => { problems.push(`CSP: ${text}`) })
  // Runs in the page (a string: this project compiles without the DOM types).
  await page.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (e) => {
      window.reportCspViolation(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber)
    })`
  })
  page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`) })
  page.on('pageerror', (err) => { problems.push(`page error: ${err.message}`) })
  return { page, problems }
}

describe(`the /docs page in a real browser [${storageLabel}]`, { skip }, () => {
  let browser: Browser
  before(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
  })
  after(() => browser?.close())

  // One page for the whole walk: loading swagger-ui twice does not fit the per-file time limit on a loaded machine.
  it('when a user opens /docs, authorizes with the OAuth2 password flow and tries GET /v1/users/me, then TaskFlow\'s name and version head the page (no Swagger top bar), the call shows them, and the console has no error or CSP violation', async (t) => {
    const { base } = await startRealServer(t)
    const email = uniqueEmail('browser')
    const registered = await fetch(`${base}/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: DEFAULT_PASSWORD }) })
    assert.equal(registered.status, 201)

    const { page, problems } = await watchedPage(browser)
    t.after(() => page.close())
    await page.goto(`${base}/docs/`)
    const title = page.locator('.information-container .info .title')
    await title.waitFor({ timeout: 30_000 })
    assert.match(await title.innerText(), /^TaskFlow API\s/)
    assert.equal((await page.locator('.information-container .info .title small:not(.version-stamp) .version').innerText()).trim(), version)
    assert.notEqual(version, '1.0.0')
    assert.match(await page.title(), /TaskFlow API/)
    assert.equal(await page.locator('.topbar').count(), 0, 'no Swagger top bar (logo, Explore box)')
    assert.equal(await page.locator('input.download-url-input').count(), 0, 'no "Explore" URL box')
    assert.doesNotMatch(await page.content(), /swagger-ui-logo|fastify-logo|>Explore</i)

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
    assert.deepEqual(problems, [])
  })
})

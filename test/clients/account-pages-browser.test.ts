import assert from 'node:assert/strict'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { chromium } from 'playwright-core'
import { DEFAULT_PASSWORD, uniqueEmail } from '../factories.js'
import { startRealServer } from '../real-server.js'
import { linkIn, startSmtpSink } from '../smtp-sink.js'
import { storageLabel } from '../test-env.js'

const CHROMIUM = '/usr/bin/chromium'
// CI installs Debian's chromium (.ci/run); elsewhere a missing browser skips this test, visibly.
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `needs ${CHROMIUM} (apt-get install chromium)` : false
const artifacts = new URL('../../test-artifacts/', import.meta.url).pathname
const NEW_PASSWORD = 'lantern meadow copper 58'

describe(`the /reset-password and /verify-email pages in a real browser [${storageLabel}]`, { skip }, () => {
  it('when the links from the mails are opened, nothing happens until the button is pressed; then the email is verified and the password reset, and a reused link shows a clear error', async (t) => {
    const sink = await startSmtpSink(t)
    const { base } = await startRealServer(t, { SMTP_URL: sink.url, MAIL_POLL_INTERVAL_MS: '50' })
    const email = uniqueEmail('pages')
    const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    assert.equal((await post('/v1/auth/register', { email, password: DEFAULT_PASSWORD })).status, 201)

    const page$ = await fetch(`${base}/reset-password`)
    assert.equal(page$.status, 200)
    const csp = page$.headers.get('content-security-policy') ?? ''
    assert.match(csp, /script-src 'self'/)
    assert.doesNotMatch(csp, /unsafe-inline/)
    assert.doesNotMatch(await page$.text(), /<script(?![^>]*\ssrc=)[^>]*>/)

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
    t.after(() => browser.close())
    const page = await browser.newPage()
    const apiCalls: string[] = []
    page.on('request', (req) => { if (req.url().includes('/v1/')) apiCalls.push(`${req.method()} ${new URL(req.url()).pathname}`) })
    const violations: string[] = []
    page.on('console', (msg) => { if (/Content Security Policy/i.test(msg.text())) violations.push(msg.text()) })
    const missing: string[] = []
    page.on('response', (res) => { if (res.status() === 404) missing.push(new URL(res.url()).pathname) })

    // Verify the email with the link from the registration mail.
    const verifyLink = linkIn(await sink.waitFor(m => m.to.includes(email) && /Confirm your email/.test(m.subject)), 'verify-email')
    assert.ok(verifyLink.url.startsWith(`${base}/verify-email#token=`))
    await page.goto(verifyLink.url)
    await page.getByRole('button', { name: 'Confirm my email address' }).waitFor()
    assert.deepEqual(apiCalls, [], 'opening the link calls no API')
    await page.getByRole('button', { name: 'Confirm my email address' }).click()
    await page.getByText('your email address is confirmed').waitFor({ timeout: 15_000 })
    assert.deepEqual(apiCalls, ['POST /v1/auth/email/verify'])

    // Reset the password with the link from the reset mail.
    assert.equal((await post('/v1/auth/password/forgot', { email })).status, 202)
    const resetLink = linkIn(await sink.waitFor(m => m.to.includes(email) && /Reset your TaskFlow password/.test(m.subject)), 'reset-password')
    await page.goto(resetLink.url)
    assert.equal(apiCalls.length, 1, 'opening the reset link calls no API')
    // A refused password says why, in a sentence, and the same link still works.
    await page.getByLabel('New password', { exact: true }).fill('password1234')
    await page.getByLabel('New password again').fill('password1234')
    await page.getByRole('button', { name: 'Set the new password' }).click()
    await page.getByText('That password is too common; choose a less guessable password.').waitFor({ timeout: 15_000 })
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD)
    await page.getByLabel('New password again').fill(NEW_PASSWORD)
    await page.getByRole('button', { name: 'Set the new password' }).click()
    await page.getByText('Your password was changed').waitFor({ timeout: 15_000 })
    mkdirSync(artifacts, { recursive: true })
    await page.screenshot({ path: join(artifacts, `reset-password-${storageLabel}.png`) })
    assert.equal((await post('/v1/auth/login', { email, password: NEW_PASSWORD })).status, 200)
    assert.equal((await post('/v1/auth/login', { email, password: DEFAULT_PASSWORD })).status, 401)

    // The same links again, opened anew: a clear error, nothing changes.
    const again = await browser.newPage()
    again.on('console', (msg) => { if (/Content Security Policy/i.test(msg.text())) violations.push(msg.text()) })
    await again.goto(resetLink.url)
    await again.getByLabel('New password', { exact: true }).fill('another passphrase here 61')
    await again.getByLabel('New password again').fill('another passphrase here 61')
    await again.getByRole('button', { name: 'Set the new password' }).click()
    await again.getByText('This link is invalid, has expired or was already used').waitFor({ timeout: 15_000 })
    await again.goto('about:blank')
    await again.goto(verifyLink.url)
    await again.getByRole('button', { name: 'Confirm my email address' }).click()
    await again.getByText('This link is invalid, has expired or was already used').waitFor({ timeout: 15_000 })
    assert.equal((await post('/v1/auth/login', { email, password: NEW_PASSWORD })).status, 200)
    assert.deepEqual(violations, [])
    assert.deepEqual(missing, [], 'every page loads its script and style')
    // Headless Chromium does not ask for the icon, a browser window does: no icon, and no 404 in its console.
    assert.equal((await fetch(`${base}/favicon.ico`)).status, 204)
  })
})

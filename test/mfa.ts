import assert from 'node:assert/strict'
import { eq } from 'drizzle-orm'
import { sessionsTable } from '../src/modules/auth/sessions.table.js'
import type { TestApp } from './build-test-app.js'
import { parseKeyUri, referenceTotp } from './authenticator.js'

export const MFA_GRANT = 'urn:taskflow:params:oauth:grant-type:mfa-otp'

export interface Challenge { mfa_token: string, expires_in: number, methods: string[] }

/** The payload of a JWT, unverified (tests read `amr`). */
export const claims = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>

export async function login (t: TestApp, email: string, password: string) {
  return t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } })
}

/** Logs in with the password and returns the mfa_token of the challenge (asserting the 403). */
export async function challenge (t: TestApp, user: { email: string, password: string }): Promise<string> {
  const res = await login(t, user.email, user.password)
  assert.equal(res.statusCode, 403, res.body)
  return res.json<Challenge>().mfa_token
}

export const verify = (t: TestApp, payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/v1/auth/mfa/verify', payload })

export const grant = (t: TestApp, form: Record<string, string>) =>
  t.app.inject({ method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(form).toString() })

/** How many session rows (live or not) the user has. */
export async function sessionCount (t: TestApp, userId: string): Promise<number> {
  return (await t.database.db.select().from(sessionsTable).where(eq(sessionsTable.user_id, userId))).length
}

export interface MfaUser { id: string, email: string, password: string, tokens: { access_token: string, refresh_token: string } }

/**
 * Turns MFA on for `user` through the API, as a person with an authenticator app would, and moves the
 * clock to the next 30-second step (the activation code's step is spent). `code(offset)` is the code
 * the app shows now (or `offset` steps away).
 */
export async function enableMfa (t: TestApp, user: MfaUser) {
  const { app, make, clock } = t
  const setup = await app.inject({ method: 'POST', url: '/v1/users/me/mfa/totp', headers: make.bearer(user.tokens.access_token), payload: { current_password: user.password } })
  if (setup.statusCode !== 200) throw new Error(`set-up failed: ${setup.statusCode} ${setup.body}`)
  const { key } = parseKeyUri(setup.json<{ otpauth_uri: string }>().otpauth_uri)
  const code = (offset = 0) => referenceTotp(key, new Date(clock.now().getTime() + offset * 30_000))
  const activate = await app.inject({ method: 'POST', url: '/v1/users/me/mfa/totp/activate', headers: make.bearer(user.tokens.access_token), payload: { code: code() } })
  if (activate.statusCode !== 200) throw new Error(`activation failed: ${activate.statusCode} ${activate.body}`)
  clock.advance(30)
  return { key, code, recoveryCodes: activate.json<{ recovery_codes: string[] }>().recovery_codes, secret: setup.json<{ secret: string }>().secret }
}

/** Sets the manual clock to `seconds` into a 30-second step, so tests can cross step boundaries on purpose. */
export function alignClock (t: TestApp, seconds = 1): void {
  const now = t.clock.now().getTime()
  t.clock.set(new Date(Math.ceil(now / 30_000) * 30_000 + seconds * 1000))
}

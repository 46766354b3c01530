import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import Fastify from 'fastify'
import type { Actor } from '../actor.js'
import { AppError } from '../errors.js'
import { assertAllowed, requireForModule, type RouteAuth } from './authorize.js'
import { makeAuthenticate } from './authenticate.js'
import { registerErrorHandler } from './error-handler.js'

const actor = (role: Actor['role'], scopes?: string[]): Actor => ({ userId: 'u', sessionId: 's', role, email: 'e', ...(scopes ? { scopes } : {}) })

function outcome (who: Actor, rule: RouteAuth | undefined): string {
  try {
    assertAllowed(who, rule)
    return 'allow'
  } catch (err) {
    if (err instanceof AppError) return err.code
    throw err
  }
}

describe('route authorization (config.auth)', () => {
  it('when role and scope rules meet access tokens and scoped tokens, then allow, forbidden or insufficient_scope', () => {
    const table: Array<[Actor, RouteAuth | undefined, string]> = [
      [actor('user'), undefined, 'allow'],
      [actor('user'), { role: 'admin' }, 'forbidden'],
      [actor('admin'), { role: 'admin' }, 'allow'],
      [actor('user'), { scope: 'tasks:read' }, 'allow'], // an access token carries every scope
      [actor('user', ['tasks:read']), { scope: 'tasks:read' }, 'allow'],
      [actor('user', ['tasks:read']), { scope: 'tasks:write' }, 'insufficient_scope'],
      [actor('user', ['tasks:read']), undefined, 'insufficient_scope'], // routes no scope covers are closed to scoped tokens
      [actor('admin', ['tasks:read']), { role: 'admin' }, 'insufficient_scope'] // even an admin's token
    ]
    for (const [who, rule, expected] of table) assert.equal(outcome(who, rule), expected, JSON.stringify({ who, rule }))
  })

  it('when a scoped token misses the route\'s scope, then 403 insufficient_scope with its WWW-Authenticate, before the body is validated', async (t) => {
    const app = Fastify({ logger: false })
    registerErrorHandler(app)
    // A verifier that returns scopes is how personal access tokens plug in.
    const tokens = { verify: async (token: string) => ({ sub: 'u', sid: 's', role: 'user' as const, email: 'e', ...(token === 'scoped' ? { scopes: ['tasks:read'] } : {}) }) }
    const authenticate = makeAuthenticate({ tokens, sessions: { isLive: async () => true } })
    await app.register(async (instance) => {
      instance.addHook('onRoute', requireForModule({ scope: 'tasks:write' }))
      instance.addHook('onRequest', authenticate)
      instance.post('/things', { schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } }, additionalProperties: false } } }, async () => ({ ok: true }))
    })
    t.after(() => app.close())
    const scoped = await app.inject({ method: 'POST', url: '/things', headers: { authorization: 'Bearer scoped' }, payload: { wrong: 1 } })
    assert.equal(scoped.statusCode, 403)
    assert.equal(scoped.json().code, 'insufficient_scope')
    assert.match(String(scoped.headers['www-authenticate']), /^Bearer error="insufficient_scope"/)
    const full = await app.inject({ method: 'POST', url: '/things', headers: { authorization: 'Bearer full' }, payload: { wrong: 1 } })
    assert.equal(full.statusCode, 400, 'an access token passes the scope check and meets validation')
  })
})

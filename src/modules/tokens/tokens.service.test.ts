import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTestApp } from '../../../test/build-test-app.js'
import { storageLabel } from '../../../test/test-env.js'
import { RejectedTokenError } from '../../core/http/authenticate.js'
import { createAuditService } from '../audit/index.js'
import { createMemoryTokenCache, type TokenCache } from './token-cache.js'
import { createTokensService } from './tokens.service.js'
import { randomBytes } from 'node:crypto'
import { createCursors } from '../../core/pagination.js'

/** A cache that fails like an unreachable Redis until `up` is set. */
function flakyCache (): TokenCache & { up: boolean } {
  const inner = createMemoryTokenCache()
  const state = { up: false }
  const guard = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    if (!state.up) throw new Error('ECONNREFUSED')
    return fn(...args)
  }
  return Object.assign(state, { get: guard(inner.get), addLive: guard(inner.addLive), markRevoked: guard(inner.markRevoked) })
}

describe(`tokens service with the cache down [${storageLabel}]`, () => {
  it('when the cache cannot be reached, then tokens are checked against the database, and a revocation it missed is still refused here', async (t) => {
    const { app, make, database, clock } = await buildTestApp(t)
    const user = await make.user()
    const cache = flakyCache()
    const notices: string[] = []
    const cursors = createCursors(randomBytes(32))
    const tokens = createTokensService({
      db: database.db,
      clock,
      cache,
      audit: createAuditService({ db: database.db, clock, log: app.log, cursors }),
      cursors,
      confirmPassword: async (_userId, password) => password === user.password,
      notifier: { notify: async (_tx, userId, event, data) => { notices.push(`${userId} ${event} ${String(data?.name)}`) } }
    })
    const actor = { userId: user.id, sessionId: user.id, role: 'user' as const, email: user.email }
    const meta = { ip: null, userAgent: null }
    const created = await tokens.create(actor, { name: 'offline', scopes: ['tasks:read'], current_password: user.password }, meta)
    assert.deepEqual(notices, [`${user.id} pat_created offline`], 'the notice goes through the Notifier port, in the transaction')
    assert.equal((await tokens.authenticate(created.token)).user_id, user.id, 'the database answers while the cache is down')
    await tokens.revoke(actor, created.id, meta)
    cache.up = true
    await assert.rejects(tokens.authenticate(created.token), RejectedTokenError, 'this instance remembers the undelivered revocation')
    await assert.rejects(tokens.create({ ...actor, scopes: ['tasks:read'] }, { name: 'x', scopes: ['tasks:read'], current_password: user.password }, meta), { code: 'insufficient_scope' })
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Actor } from '../../core/actor.js'
import { AppError } from '../../core/errors.js'
import { assertCan, type TaskAction } from './tasks.policy.js'
import type { TaskRow } from './tasks.table.js'

const OWNER = '01a20000-0000-7000-8000-00000000000a'
const OTHER = '01a20000-0000-7000-8000-00000000000b'
const task = { id: '01a20000-0000-7000-8000-0000000000f1', owner_id: OWNER } as TaskRow
const actor = (role: Actor['role'], userId: string): Actor => ({ role, userId, sessionId: 's', email: 'e' })

type Outcome = 'allow' | 'forbidden' | 'not_found'
// role × action × ownership → decision
const table: Array<[Actor['role'], TaskAction, 'own' | 'other' | 'missing', Outcome]> = []
for (const action of ['task:read', 'task:update', 'task:delete'] as const) {
  table.push(['user', action, 'own', 'allow'], ['user', action, 'other', 'forbidden'], ['user', action, 'missing', 'not_found'])
  // on the owner routes an admin is an ordinary user: another user's task is 403 there too
  table.push(['admin', action, 'own', 'allow'], ['admin', action, 'other', 'forbidden'], ['admin', action, 'missing', 'not_found'])
}
for (const action of ['admin:task:read', 'admin:task:delete'] as const) {
  table.push(['admin', action, 'own', 'allow'], ['admin', action, 'other', 'allow'], ['admin', action, 'missing', 'not_found'])
  table.push(['user', action, 'own', 'forbidden'], ['user', action, 'other', 'forbidden'], ['user', action, 'missing', 'not_found'])
}

describe('task authorization policy', () => {
  for (const [role, action, ownership, expected] of table) {
    it(`when a ${role} does ${action} on ${ownership === 'own' ? 'their own' : ownership === 'other' ? 'another user\'s' : 'a missing'} task, then ${expected}`, () => {
      const who = actor(role, ownership === 'other' ? OTHER : OWNER)
      const target = ownership === 'missing' ? undefined : task
      let outcome: Outcome = 'allow'
      try {
        assertCan(who, action, target)
      } catch (err) {
        if (!(err instanceof AppError)) throw err
        if (err.status === 403) outcome = 'forbidden'
        else if (err.status === 404) outcome = 'not_found'
        else throw err
      }
      assert.equal(outcome, expected)
    })
  }
})

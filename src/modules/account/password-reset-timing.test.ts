import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildMailTestApp } from '../../../test/mail-test-app.js'
import { uniqueEmail } from '../../../test/factories.js'
import { storageLabel } from '../../../test/test-env.js'

// Enumeration safety of POST /v1/auth/password/forgot, measured (never asserted: timing is not a test).
describe(`forgot-password timing [${storageLabel}]`, () => {
  it('records the forgot-password timing: median of 30 known vs 30 unknown emails (reported, not asserted)', async (t) => {
    const { app, make, outboxSettled } = await buildMailTestApp(t)
    const users = await Promise.all(Array.from({ length: 3 }, () => make.user()))
    const time = async (email: string) => {
      const start = process.hrtime.bigint()
      const res = await app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email } })
      const ms = Number(process.hrtime.bigint() - start) / 1e6
      assert.equal(res.statusCode, 202)
      // The sender's work for the previous request (a lookup, or a token and an SMTP delivery) runs after
      // the answer, and the sink parses mail in this process: let both finish before the next measurement.
      await outboxSettled(email)
      await new Promise(resolve => setTimeout(resolve, 60))
      return ms
    }
    const known: number[] = []
    const unknown: number[] = []
    for (let i = 0; i < 30; i++) { // interleaved, so drift and the sender's work hit both alike
      known.push(await time(users[i % 3]!.email))
      unknown.push(await time(uniqueEmail('ghost')))
    }
    const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return (s[14]! + s[15]!) / 2 }
    t.diagnostic(`forgot-password median [${storageLabel}]: known ${median(known).toFixed(2)} ms, unknown ${median(unknown).toFixed(2)} ms, difference ${(median(known) - median(unknown)).toFixed(2)} ms`)
  })
})

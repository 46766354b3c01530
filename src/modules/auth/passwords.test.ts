import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { describe, it, type TestContext } from 'node:test'
import { hash as bcryptHash } from '@node-rs/bcrypt'
import { hash as argon2Hash } from '@node-rs/argon2'
import { ServiceUnavailableError } from '../../core/errors.js'
import { createPasswordHasher } from './passwords.js'

async function hasherFor (t: TestContext) {
  const hasher = await createPasswordHasher({ concurrency: 2, queueLimit: 4 })
  t.after(() => hasher.close())
  return hasher
}

/** The nice value of each thread of this process (Linux: field 19 of /proc/self/task/<tid>/stat). */
function threadNiceValues (): number[] {
  return readdirSync('/proc/self/task').map(tid => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ')[16]))
}

describe('password hasher', () => {
  it('when hashing, then argon2id with m=19456, t=2, p=1 and a 16-byte salt', async (t) => {
    const hasher = await hasherFor(t)
    const hash = await hasher.hash('violet orbit canyon')
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
    assert.deepEqual(await hasher.verify(hash, 'violet orbit canyon'), { ok: true, needsRehash: false })
    assert.deepEqual(await hasher.verify(hash, 'Violet orbit canyon'), { ok: false, needsRehash: false })
  })

  it('when the stored hash is missing (unknown account) or unrecognised, then verification fails', async (t) => {
    const hasher = await hasherFor(t)
    assert.equal((await hasher.verify(undefined, 'anything at all')).ok, false)
    assert.equal((await hasher.verify('plaintext', 'plaintext')).ok, false)
  })

  it('when the stored hash is legacy bcrypt, then it verifies and asks for a rehash', async (t) => {
    const hasher = await hasherFor(t)
    const legacy = await bcryptHash('violet orbit canyon', 4)
    assert.deepEqual(await hasher.verify(legacy, 'violet orbit canyon'), { ok: true, needsRehash: true })
    assert.equal((await hasher.verify(legacy, 'wrong')).ok, false)
  })

  it('when a password over 72 bytes meets a bcrypt hash of its first 72 bytes, then it does not match', async (t) => {
    const hasher = await hasherFor(t)
    const long = 'a'.repeat(72) + 'different tail'
    const legacy = await bcryptHash('a'.repeat(72), 4)
    assert.equal((await hasher.verify(legacy, long)).ok, false)
  })

  it('when an argon2id hash has outdated parameters, then a match asks for a rehash', async (t) => {
    const hasher = await hasherFor(t)
    const old = await argon2Hash('violet orbit canyon', { algorithm: 2, memoryCost: 4096, timeCost: 3, parallelism: 1 })
    assert.deepEqual(await hasher.verify(old, 'violet orbit canyon'), { ok: true, needsRehash: true })
  })

  it('when the hasher runs, then it hashes in threads of lowered CPU priority, never on the event loop', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
    const before = threadNiceValues().filter(n => n === 19).length
    const hasher = await hasherFor(t)
    await Promise.all([hasher.hash('violet orbit canyon'), hasher.hash('amber tidal marsh')])
    assert.equal(threadNiceValues().filter(n => n === 19).length - before, 2, 'one nice-19 thread per hashing slot')
    assert.equal(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ')[16], '0', 'the event loop keeps its priority')
  })
})

describe('hashing queue (piscina maxQueue)', () => {
  it('when more hashes arrive than run and wait, then the extra ones get 503 at once and the rest finish', async (t) => {
    const hasher = await createPasswordHasher({ concurrency: 1, queueLimit: 1 })
    t.after(() => hasher.close())
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => hasher.hash(`violet orbit canyon ${i}`)))
    const refused = results.filter(r => r.status === 'rejected')
    assert.ok(refused.length >= 1, 'some hashes are refused')
    for (const r of refused) assert.ok(r.reason instanceof ServiceUnavailableError, String(r.reason))
    assert.ok(results.filter(r => r.status === 'fulfilled').length >= 2, 'one runs and one waits')
    assert.match(await hasher.hash('after the flood 42'), /^\$argon2id\$/, 'the pool answers again once it has drained')
  })
})

// The password worker: argon2id and bcrypt run here, synchronously, in a worker thread whose CPU
// priority is lowered (nice 19, the lowest; on Linux the nice value is per thread). When logins saturate the
// cores, the event loop still gets the CPU first, so reads keep their latency (bench S6).
// Plain JavaScript so that worker threads load it without the TypeScript loader, and CommonJS so that
// piscina require()s it: an ES module would start the ES module loader in every thread, ~4 MB each
// (docs/benchmarks.md, Memory).
'use strict'
const { setPriority } = require('node:os')
const { hashSync, verifySync } = require('@node-rs/argon2')
const { verifySync: bcryptVerifySync } = require('@node-rs/bcrypt')

try { setPriority(19) } catch {}

/**
 * @param {{ op: 'hash', password: string, options: import('@node-rs/argon2').Options }
 *   | { op: 'verify', hash: string, password: string }
 *   | { op: 'bcrypt-verify', hash: string, password: string }} task
 * @returns {string | boolean}
 */
module.exports = function run (task) {
  switch (task.op) {
    case 'hash': return hashSync(task.password, task.options)
    case 'verify': return verifySync(task.hash, task.password)
    case 'bcrypt-verify': return bcryptVerifySync(task.password, task.hash)
    default: throw new Error('unknown password task')
  }
}

import { randomBytes } from 'node:crypto'
import { Piscina } from 'piscina'
import { ServiceUnavailableError } from '../../core/errors.js'

/** OWASP / ASVS 5.0 argon2id parameters (SECURITY.md §3), set explicitly. */
export const ARGON2_PARAMS = { algorithm: 2 /* Algorithm.Argon2id: a const enum, not importable under verbatimModuleSyntax */, memoryCost: 19456, timeCost: 2, parallelism: 1, outputLen: 32 } as const

const BCRYPT_PREFIX = /^\$2[aby]\$\d{2}\$/
const ARGON2_PARAMS_RE = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/

/** `ok`: the password matches; `needsRehash`: it matched a legacy or outdated hash, so store a fresh one. */
export interface VerifyResult { ok: boolean, needsRehash: boolean }

/** piscina's refusals (errors.js: TaskQueueAtLimit, NoTaskQueueAvailable). */
const QUEUE_FULL = 'Task queue is at limit'
const NO_QUEUE = 'No task queue available and all Workers are busy'

type PasswordTask =
  | { op: 'hash', password: string, options: typeof ARGON2_PARAMS }
  | { op: 'verify' | 'bcrypt-verify', hash: string, password: string }

/**
 * Hashes and verifies passwords in `concurrency` worker threads of lowered CPU priority (never on the
 * event loop; see password-worker.js), through piscina's bounded queue: at most `concurrency` hashes run
 * at once and at most `queueLimit` wait; the rest are refused at once with ServiceUnavailableError
 * (503), so a flood turns into fast refusals instead of memory growth and long waits. `close()` ends the threads.
 */
export async function createPasswordHasher (options: { concurrency: number, queueLimit: number }) {
  const pool = new Piscina<PasswordTask, string | boolean>({
    filename: new URL('./password-worker.js', import.meta.url).href,
    // Threads start with the first hash and end after a minute without one: each holds ~10 MB, and
    // its argon2 memory (19 MiB per hash) goes back to the system with it.
    minThreads: 0,
    maxThreads: options.concurrency,
    idleTimeout: 60_000,
    maxQueue: options.queueLimit
  })
  /** One task on the pool; a full queue is a 503 (piscina rejects with a plain Error). */
  async function run (task: PasswordTask): Promise<string | boolean> {
    try {
      return await pool.run(task)
    } catch (err) {
      if (err instanceof Error && (err.message === QUEUE_FULL || err.message === NO_QUEUE)) throw new ServiceUnavailableError('The server is busy; try again shortly', { retryAfterSeconds: 1 })
      throw err
    }
  }
  const argon2Hash = async (password: string) => String(await run({ op: 'hash', password, options: ARGON2_PARAMS }))
  const argon2Verify = async (hash: string, password: string) => await run({ op: 'verify', hash, password }) === true
  const bcryptVerify = async (password: string, hash: string) => await run({ op: 'bcrypt-verify', hash, password }) === true
  const hash = (password: string) => argon2Hash(password)
  /** A real hash of a random secret with today's parameters: unknown accounts are checked against it, so they cost the same. */
  const dummyHash = await argon2Hash(randomBytes(32).toString('base64url'))

  async function verify (stored: string | null | undefined, password: string): Promise<VerifyResult> {
    const target = stored ?? dummyHash
    if (BCRYPT_PREFIX.test(target)) {
      // bcrypt reads only 72 bytes; a longer password must not match a hash of its prefix.
      if (Buffer.byteLength(password, 'utf8') > 72) return { ok: false, needsRehash: false }
      const ok = await bcryptVerify(password, target)
      return { ok, needsRehash: ok }
    }
    const params = ARGON2_PARAMS_RE.exec(target)
    if (!params) {
      // Unknown format: still spend one hash, so timing tells nothing.
      await argon2Verify(dummyHash, password)
      return { ok: false, needsRehash: false }
    }
    const ok = await argon2Verify(target, password) && stored != null
    const outdated = Number(params[1]) !== ARGON2_PARAMS.memoryCost || Number(params[2]) !== ARGON2_PARAMS.timeCost || Number(params[3]) !== ARGON2_PARAMS.parallelism
    return { ok, needsRehash: ok && outdated }
  }

  return { hash, verify, close: () => pool.close() }
}
export type PasswordHasher = Awaited<ReturnType<typeof createPasswordHasher>>

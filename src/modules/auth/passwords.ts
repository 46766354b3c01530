import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { Piscina } from 'piscina'
import { ServiceUnavailableError, ValidationError } from '../../core/errors.js'
import { textProblem } from '../../core/http/validation.js'

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
 * The password as it is hashed and compared: Unicode NFC (NIST SP 800-63B §5.1.1.2), so a password
 * typed precomposed or decomposed is the same password. Throws ValidationError (400, field
 * `password`) for text that is not well-formed Unicode: an unpaired surrogate would otherwise reach
 * argon2 as U+FFFD, and then different passwords would match one hash.
 */
export function normalizePassword (password: string): string {
  const problem = textProblem(password)
  if (problem) throw new ValidationError(`password ${problem}`, [{ field: 'password', message: problem }])
  return password.normalize('NFC')
}

/** piscina's load-balancer function (its type is not exported by name). */
type LoadBalancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>

/**
 * piscina's placement of a task: an idle thread first; while the pool may still grow, a new thread
 * (returning none makes piscina start one) rather than a place behind a busy one; otherwise a thread
 * with one hash running, which starts the next the moment it finishes, with no round trip through the
 * event loop (`concurrentTasksPerWorker: 2`). `threads` is the pool's maxThreads.
 */
function idleThenNewThenNext (threads: number): LoadBalancer {
  return (_task, workers) => {
    let next = null
    for (const worker of workers) {
      if (worker.currentUsage === 0) return worker
      if (worker.currentUsage < 2 && (!next || worker.currentUsage < next.currentUsage)) next = worker
    }
    return workers.length < threads ? null : next
  }
}

/**
 * Hashes and verifies passwords in `concurrency` worker threads of lowered CPU priority (never on the
 * event loop; see password-worker.cjs), through piscina's bounded queue: at most `concurrency` hashes
 * run at once, each thread holds the next one ready (so that no core waits for the event loop between
 * two hashes), and at most `queueLimit` more wait; the rest are refused at once with
 * ServiceUnavailableError (503), so a flood turns into fast refusals instead of memory growth and long
 * waits. Each running hash holds its argon2 memory (19 MiB) and each thread ~10 MB: `concurrency`
 * sets the hasher's peak memory (docs/benchmarks.md, Memory). `close()` ends the threads.
 */
export async function createPasswordHasher (options: { concurrency: number, queueLimit: number }) {
  const pool = new Piscina<PasswordTask, string | boolean>({
    // A path, not a URL: piscina require()s a path, and imports (an ES module loader per thread) a URL.
    filename: fileURLToPath(new URL('./password-worker.cjs', import.meta.url)),
    // Threads start with the first hash and end after a minute without one: each holds ~10 MB, and
    // its argon2 memory (19 MiB per hash) goes back to the system with it.
    minThreads: 0,
    maxThreads: options.concurrency,
    concurrentTasksPerWorker: 2,
    loadBalancer: idleThenNewThenNext(options.concurrency),
    idleTimeout: 60_000,
    maxQueue: options.queueLimit,
    // No run/wait-time histograms (nothing reads them; ~0.5 MB each).
    recordTiming: false
  })
  let inFlight = 0 // tasks handed to the pool and not settled: running plus queued
  /** One task on the pool; a full queue is a 503 (piscina rejects with a plain Error). */
  async function run (task: PasswordTask): Promise<string | boolean> {
    inFlight++
    try {
      return await pool.run(task)
    } catch (err) {
      if (err instanceof Error && (err.message === QUEUE_FULL || err.message === NO_QUEUE)) throw new ServiceUnavailableError('The server is busy; try again shortly', { retryAfterSeconds: 1 })
      throw err
    } finally {
      inFlight--
    }
  }
  const argon2Hash = async (password: string) => String(await run({ op: 'hash', password, options: ARGON2_PARAMS }))
  const argon2Verify = async (hash: string, password: string) => await run({ op: 'verify', hash, password }) === true
  const bcryptVerify = async (password: string, hash: string) => await run({ op: 'bcrypt-verify', hash, password }) === true
  /** The argon2id hash of the NFC form; throws ValidationError for ill-formed Unicode (see normalizePassword). */
  const hash = async (password: string) => argon2Hash(normalizePassword(password))
  /** A real hash of a random secret with today's parameters: unknown accounts are checked against it, so they cost the same. */
  const dummyHash = await argon2Hash(randomBytes(32).toString('base64url'))

  /** One candidate form of the password against the stored hash (or the dummy hash, at the same cost). */
  async function verifyForm (stored: string | null | undefined, password: string): Promise<VerifyResult> {
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

  /** Hashes running in a thread and waiting (in the queue or ready in a thread) now (the password_hash_queue_depth gauge). */
  const depth = () => {
    const running = Math.min(Math.max(0, inFlight - pool.queueSize), options.concurrency)
    return { running, waiting: inFlight - running }
  }

  /**
   * Checks `password` in NFC; when it is not already NFC and that fails, also as received, because
   * hashes stored before the NFC rule were of the raw form: such a match asks for a rehash (in NFC).
   * The second try depends only on the input, never on the account, so timing tells nothing new.
   * Throws ValidationError for ill-formed Unicode (see normalizePassword).
   */
  async function verify (stored: string | null | undefined, password: string): Promise<VerifyResult> {
    const normalized = normalizePassword(password)
    const result = await verifyForm(stored, normalized)
    if (result.ok || normalized === password) return result
    const legacy = await verifyForm(stored, password)
    return { ok: legacy.ok, needsRehash: legacy.ok }
  }

  return { hash, verify, depth, close: () => pool.close() }
}
export type PasswordHasher = Awaited<ReturnType<typeof createPasswordHasher>>

import { ServiceUnavailableError } from './errors.js'

/**
 * Runs at most `concurrency` jobs at once and queues at most `queueLimit` more; past that it refuses
 * at once with a 503, so a flood turns into fast refusals instead of memory growth and long waits.
 */
export function createWorkQueue ({ concurrency, queueLimit }: { concurrency: number, queueLimit: number }) {
  let active = 0
  const waiting: Array<() => void> = []
  const next = () => {
    active--
    const start = waiting.shift()
    if (start) { active++; start() }
  }
  return {
    async run<T> (job: () => Promise<T>): Promise<T> {
      if (active >= concurrency) {
        if (waiting.length >= queueLimit) throw new ServiceUnavailableError('The server is busy; try again shortly', { retryAfterSeconds: 1 })
        await new Promise<void>(resolve => waiting.push(resolve))
      } else {
        active++
      }
      try {
        return await job()
      } finally {
        next()
      }
    },
    get pending () { return active + waiting.length },
    /** Jobs started and not yet finished (≤ concurrency). */
    get running () { return active },
    /** Jobs queued for a free slot (≤ queueLimit). */
    get waiting () { return waiting.length }
  }
}
export type WorkQueue = ReturnType<typeof createWorkQueue>

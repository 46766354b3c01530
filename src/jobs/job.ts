import type { FastifyBaseLogger } from 'fastify'

export interface Job {
  /** Runs the job now (tests, and the timer); concurrent calls share one run. */
  runNow: () => Promise<void>
  /** Stops the timer and waits for a run in progress. */
  stop: () => Promise<void>
}

/**
 * A small named background job: runs `work` every `intervalMs` (wall time, timer unref'd), one run at
 * a time per process; a failure is logged with `code` and retried at the next tick. Whether it runs on
 * one instance at a time is up to `work` (an advisory lock).
 */
export function startJob ({ name, intervalMs, firstRunMs, work, log }: {
  name: string, intervalMs: number, firstRunMs?: number, work: () => Promise<void>, log: FastifyBaseLogger
}): Job {
  let running: Promise<void> | undefined
  let stopped = false
  const runNow = () => {
    running ??= work().catch((err: unknown) => {
      log.error({ err, code: 'job_failed', job: name }, 'background job failed')
    }).finally(() => { running = undefined })
    return running
  }
  const tick = () => { if (!stopped) runNow().catch(() => {}) } // never rejects: failures are logged in runNow
  const first = setTimeout(tick, firstRunMs ?? intervalMs).unref()
  const timer = setInterval(tick, intervalMs).unref()
  return {
    runNow,
    async stop () {
      stopped = true
      clearTimeout(first)
      clearInterval(timer)
      await running
    }
  }
}

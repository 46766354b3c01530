/** The current time, injected so tests move it instead of sleeping. */
export interface Clock { now: () => Date }

/** The real clock. */
export const systemClock: Clock = { now: () => new Date() }

/** A clock tests move by hand; they never sleep. */
export function manualClock (start = new Date('2026-11-21T10:00:00.000Z')) {
  let current = start.getTime()
  return {
    now: () => new Date(current),
    advance (seconds: number) { current += seconds * 1000 },
    set (date: Date) { current = date.getTime() }
  }
}
export type ManualClock = ReturnType<typeof manualClock>

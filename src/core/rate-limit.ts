import type { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'

/** A fixed window: `points` per `durationSeconds`, keys prefixed with `rl:<name>`. */
export interface LimitSpec { name: string, points: number, durationSeconds: number }

/** Where a key stands against its limit, as the RateLimit-* headers describe it. */
export interface LimitState {
  limit: number
  remaining: number
  /** Seconds until the window resets. */
  resetSeconds: number
  exceeded: boolean
}

/** A named limit keyed by client IP or account. */
export interface Limiter {
  readonly spec: LimitSpec
  /** Spends one point; `exceeded` when the key was already out of points. */
  consume: (key: string) => Promise<LimitState>
  /** Looks without spending. */
  peek: (key: string) => Promise<LimitState>
}

function toState (spec: LimitSpec, res: RateLimiterRes | null): LimitState {
  if (!res) return { limit: spec.points, remaining: spec.points, resetSeconds: spec.durationSeconds, exceeded: false }
  return {
    limit: spec.points,
    remaining: Math.max(0, spec.points - res.consumedPoints),
    resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
    exceeded: res.consumedPoints > spec.points
  }
}

/**
 * A fixed-window limiter shared by every instance through Redis. If Redis fails, it falls back to a
 * per-instance in-memory limiter (rate-limiter-flexible's insurance): limits stay enforced, per
 * instance instead of globally, and the service keeps answering. Failing open would hand brute force
 * a switch (take Redis down, guess freely); failing closed would turn a cache outage into a login outage.
 */
export function createLimiter (spec: LimitSpec, redis?: Redis): Limiter {
  const options = { keyPrefix: `rl:${spec.name}`, points: spec.points, duration: spec.durationSeconds }
  const limiter = redis
    ? new RateLimiterRedis({ ...options, storeClient: redis, insuranceLimiter: new RateLimiterMemory(options) })
    : new RateLimiterMemory(options)
  return {
    spec,
    async consume (key) {
      try {
        return toState(spec, await limiter.consume(key))
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) return toState(spec, rejection)
        throw rejection
      }
    },
    async peek (key) {
      return toState(spec, await limiter.get(key))
    }
  }
}

/** Makes the named limiter for a budget (`points` per `window` seconds), or undefined when limits are off. */
export type LimiterFactory = (name: string, budget: { points: number, window: number }) => Limiter | undefined

/** A {@link LimiterFactory}: Redis-backed when `redis` is given, in-process otherwise; no limiters when `enabled` is false. */
export function limiterFactory (enabled: boolean, redis?: Redis): LimiterFactory {
  return (name, budget) => enabled ? createLimiter({ name, points: budget.points, durationSeconds: budget.window }, redis) : undefined
}

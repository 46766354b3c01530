import { TooManyRequestsError } from '../../core/errors.js'
import type { Limiter } from '../../core/rate-limit.js'

/**
 * Failed logins per account, from any IP and through either login route (credential stuffing).
 * Past the budget every attempt gets 429, even with the right password, until the window passes.
 * Unknown identifiers are counted the same way, so a 429 never reveals whether an account exists.
 */
export function createAccountThrottle (limiter: Limiter | undefined) {
  return {
    async assertOpen (accountKey: string, onExceeded: () => Promise<void>): Promise<void> {
      if (!limiter) return
      const state = await limiter.peek(accountKey)
      if (state.remaining > 0) return
      await onExceeded()
      throw new TooManyRequestsError('Too many failed logins for this account; try again later', state.resetSeconds, state)
    },
    async recordFailure (accountKey: string): Promise<void> {
      if (limiter) await limiter.consume(accountKey)
    }
  }
}
export type AccountThrottle = ReturnType<typeof createAccountThrottle>

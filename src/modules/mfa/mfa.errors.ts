import { AppError, ValidationError } from '../../core/errors.js'

/** The members of a 403 `mfa_required` (API.md): RFC 9457 extension members, RFC 6749 members at the token endpoint. */
export interface MfaChallengeMembers { mfa_token: string, expires_in: number, methods: string[] }

/** The errors of the MFA flows, in one place (codes and statuses from the catalogue in core/errors.ts). */
export const mfaErrors = {
  required: (challenge: MfaChallengeMembers) => new AppError('mfa_required', {
    detail: 'A second factor is required: send a code or a recovery code with the mfa_token',
    extensions: { mfa_token: challenge.mfa_token, expires_in: challenge.expires_in, methods: challenge.methods }
  }),
  alreadyEnabled: () => new AppError('mfa_already_enabled', { detail: 'MFA is already on: turn it off first to set up a new factor' }),
  notEnabled: () => new AppError('mfa_not_enabled', { detail: 'MFA is not on for this account' }),
  noPendingSetup: () => new ValidationError('There is no pending set-up, or it expired: start again', [{ field: 'code', message: 'no pending set-up: start again with POST /v1/users/me/mfa/totp' }]),
  wrongCode: () => new ValidationError('code is incorrect or was already used', [{ field: 'code', message: 'is incorrect or was already used' }]),
  wrongPassword: () => new ValidationError('current_password is incorrect', [{ field: 'current_password', message: 'is incorrect' }], 'wrong_password'),
  codeInvalid: () => new AppError('mfa_code_invalid', { detail: 'The code is incorrect or was already used' }),
  tokenInvalid: () => new AppError('mfa_token_invalid', { detail: 'The mfa_token is invalid, expired or used up: log in again' }),
  userNotFound: () => new AppError('user_not_found', { detail: 'User not found' }),
  unavailable: (cause: unknown) => new AppError('service_unavailable', { detail: 'The second factor cannot be checked now', retryAfterSeconds: 1, cause })
}

import { ConflictError, NotFoundError, ServiceUnavailableError, UnauthorizedError, ValidationError } from '../../core/errors.js'

/** The errors of the MFA flows, in one place (codes from the error catalogue). */
export const mfaErrors = {
  alreadyEnabled: () => new ConflictError('mfa_already_enabled', 'MFA is already on: turn it off first to set up a new factor'),
  notEnabled: () => new ConflictError('mfa_not_enabled', 'MFA is not on for this account'),
  noPendingSetup: () => new ValidationError('There is no pending set-up, or it expired: start again', [{ field: 'code', message: 'no pending set-up: start again with POST /v1/users/me/mfa/totp' }]),
  wrongCode: () => new ValidationError('code is incorrect or was already used', [{ field: 'code', message: 'is incorrect or was already used' }]),
  wrongPassword: () => new ValidationError('current_password is incorrect', [{ field: 'current_password', message: 'is incorrect' }], 'wrong_password'),
  codeInvalid: () => new UnauthorizedError('mfa_code_invalid', 'The code is incorrect or was already used'),
  tokenInvalid: () => new UnauthorizedError('mfa_token_invalid', 'The mfa_token is invalid, expired or used up: log in again'),
  userNotFound: () => new NotFoundError('user_not_found', 'User not found'),
  unavailable: (cause: unknown) => new ServiceUnavailableError('The second factor cannot be checked now', { cause })
}

import { ConflictError, ForbiddenError, NotFoundError, ServiceUnavailableError, UnauthorizedError, ValidationError } from '../../core/errors.js'

/** The 403 `mfa_required` with its extension members (RFC 9457 §3.2; on the token endpoint, RFC 6749 members). */
export class MfaRequiredError extends ForbiddenError {
  constructor (readonly extensions: { mfa_token: string, expires_in: number, methods: string[] }) {
    super('mfa_required', 'A second factor is required: send a code or a recovery code with the mfa_token')
  }
}

/** The errors of the MFA flows, in one place (codes from the error catalogue). */
export const mfaErrors = {
  required: (challenge: { mfa_token: string, expires_in: number, methods: string[] }) => new MfaRequiredError(challenge),
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

/** Stable, snake_case error codes: clients match on them, so never rename one. */
export type ErrorCode =
  | 'validation_failed'
  | 'weak_password'
  | 'invalid_credentials'
  | 'account_disabled'
  | 'refresh_token_invalid'
  | 'unauthenticated'
  | 'invalid_token'
  | 'forbidden'
  | 'not_found'
  | 'session_not_found'
  | 'user_not_found'
  | 'email_taken'
  | 'username_taken'
  | 'wrong_password'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'method_not_allowed'
  | 'rate_limited'
  | 'service_unavailable'
  | 'internal_error'
  | 'task_not_found'
  | 'task_forbidden'
  | 'precondition_failed'
  | 'last_admin'
  | 'reset_token_invalid'
  | 'verification_token_invalid'
  | 'already_verified'
  | 'email_not_verified'

export interface FieldError { field: string, message: string }

export class AppError extends Error {
  constructor (readonly status: number, readonly code: ErrorCode, detail: string, options?: { cause?: unknown }) {
    super(detail, options)
    this.name = new.target.name
  }
}

export class ValidationError extends AppError {
  constructor (detail: string, readonly errors: FieldError[] = [], code: ErrorCode = 'validation_failed') {
    super(400, code, detail)
  }
}

/** A 401. `tokenRejected` marks a Bearer token that was sent and refused (RFC 6750 `invalid_token`). */
export class UnauthorizedError extends AppError {
  constructor (code: ErrorCode, detail: string, readonly tokenRejected = false) {
    super(401, code, detail)
  }
}

export class ForbiddenError extends AppError {
  constructor (code: ErrorCode, detail: string) { super(403, code, detail) }
}

export class NotFoundError extends AppError {
  constructor (code: ErrorCode, detail: string) { super(404, code, detail) }
}

export class ConflictError extends AppError {
  constructor (code: ErrorCode, detail: string) { super(409, code, detail) }
}

export class TooManyRequestsError extends AppError {
  constructor (detail: string, readonly retryAfterSeconds: number, readonly limit?: { limit: number, remaining: number, resetSeconds: number }) {
    super(429, 'rate_limited', detail)
  }
}

/** A dependency (database, cache, hashing pool) cannot answer now: 503, never a 500. */
export class ServiceUnavailableError extends AppError {
  constructor (detail: string, options?: { cause?: unknown, retryAfterSeconds?: number }) {
    super(503, 'service_unavailable', detail, options)
    this.retryAfterSeconds = options?.retryAfterSeconds ?? 1
  }

  readonly retryAfterSeconds: number
}

/** RFC 6749 §5.2 error from the token endpoint; written as `{error, error_description}`, not problem+json. */
export class OAuthError extends AppError {
  constructor (readonly error: 'invalid_request' | 'invalid_grant' | 'unsupported_grant_type', description: string) {
    super(400, error === 'invalid_grant' ? 'invalid_credentials' : 'validation_failed', description)
  }
}

/**
 * The error catalogue: every expected failure of the API is an {@link AppError} whose `code` is a key
 * of {@link ERRORS}. The table is the one place a code's HTTP status, problem `title`, RFC 6749 error
 * (token endpoint) and documentation live; `core/http/error-handler.ts` maps it once to an RFC 9457
 * problem+json body or an RFC 6749 §5.2 JSON body, and `npm run docs:problems` writes docs/problems.md
 * from it. Codes are stable forever (clients match on them): add codes, never rename one.
 */

/** RFC 6749 §5.2 `error` values the token endpoint answers with (plus the MFA extension in API.md). */
export type OAuthErrorCode = 'invalid_request' | 'invalid_grant' | 'unsupported_grant_type' | 'mfa_required'

/** RFC 6750 §3.1 `error` attribute of a `WWW-Authenticate: Bearer` challenge. */
export type BearerErrorCode = 'invalid_token' | 'insufficient_scope'

/** One row of the catalogue. */
export interface ErrorSpec {
  /** HTTP status of the problem+json response. */
  readonly status: number
  /** RFC 9457 `title`: a short summary of the problem type, the same for every occurrence. */
  readonly title: string
  /** What the code means and what a client should do; written to docs/problems.md. */
  readonly doc: string
  /**
   * How the token endpoint (routes with `config.oauthErrors`) answers this code: an RFC 6749 §5.2
   * `{error, error_description}` body with `status` (default 400). `description`, when given,
   * replaces the error's detail, so that e.g. a disabled account reads like a wrong password there.
   * Codes without it keep problem+json even on the token endpoint (429, 503, 500).
   */
  readonly oauth?: { readonly error: OAuthErrorCode, readonly status?: number, readonly description?: string }
  /** Adds `error="…"` to the `WWW-Authenticate: Bearer` challenge (RFC 6750 §3.1). Every 401 carries the challenge. */
  readonly bearer?: BearerErrorCode
  /** Last segment of the problem `type` URI when it differs from the code (kept for compatibility). */
  readonly typeSlug?: string
}

/** Canonical RFC 6749 description of a failed password grant: the same for every reason (no account enumeration). */
const BAD_PASSWORD_GRANT = 'Invalid username or password'
const BAD_REFRESH_GRANT = 'Refresh token is invalid, expired or revoked'

/**
 * Every error code of the API. Keys are snake_case and never renamed. The order is the order of
 * docs/problems.md.
 */
export const ERRORS = {
  // --- 400: the input
  validation_failed: { status: 400, title: 'Validation failed', typeSlug: 'validation', oauth: { error: 'invalid_request' }, doc: 'The request (body, query, path or headers) does not match the schema. `errors[]` lists each field and what is wrong with it.' },
  weak_password: { status: 400, title: 'Password does not meet the policy', doc: 'The new password breaks the password policy (length, common password, contains the username, email or `taskflow`). `errors[]` names the field.' },
  wrong_password: { status: 400, title: 'Password is incorrect', doc: 'The current password given to confirm a sensitive change is wrong. `errors[]` names the field.' },
  invalid_cursor: { status: 400, title: 'Invalid cursor', doc: 'The `cursor` was not issued by this server for this list, filter and sort (edited, made by hand or taken from another list). Start again from the first page.' },
  unsupported_grant_type: { status: 400, title: 'Unsupported grant type', oauth: { error: 'unsupported_grant_type' }, doc: 'The token endpoint does not know this `grant_type`.' },
  malformed_url: { status: 400, title: 'Malformed URL', doc: 'The request target cannot be decoded (e.g. a bad percent-escape in the path).' },
  malformed_request: { status: 400, title: 'Malformed HTTP request', doc: 'The HTTP request cannot be parsed (e.g. both `Transfer-Encoding` and `Content-Length`, or a broken header line). The connection is closed.' },
  reset_token_invalid: { status: 400, title: 'Invalid reset token', doc: 'The password-reset token is invalid, expired or already used. Ask for a new reset email.' },
  oauth_state_invalid: { status: 400, title: 'Invalid sign-in state', doc: 'The provider called back with a `state` that is unknown, expired (10 minutes) or already used. Nothing was redirected: start the sign-in again from the app.' },
  authorization_code_invalid: { status: 400, title: 'Invalid authorization code', oauth: { error: 'invalid_grant' }, doc: 'The social sign-in `code` is unknown, expired (60 s) or used, or the `redirect_uri` or `code_verifier` does not match the flow it came from. The code is spent either way: sign in again.' },
  verification_token_invalid: { status: 400, title: 'Invalid verification token', doc: 'The email-verification token is invalid, expired or already used. Ask for a new verification email.' },
  // --- 401: the credentials
  unauthenticated: { status: 401, title: 'Authentication required', doc: 'No credentials were sent (no, empty or non-Bearer `Authorization` header). Send `Authorization: Bearer <access token>`.' },
  invalid_token: { status: 401, title: 'Invalid token', bearer: 'invalid_token', doc: 'The bearer token (access token, personal access token or metrics token) was sent and rejected: malformed, expired, revoked or its session ended. `WWW-Authenticate` carries `error="invalid_token"` (RFC 6750 §3.1).' },
  invalid_credentials: { status: 401, title: 'Invalid email or password', oauth: { error: 'invalid_grant', description: BAD_PASSWORD_GRANT }, doc: 'Unknown account or wrong password: the two are indistinguishable, in body and timing. On the token endpoint: `invalid_grant`.' },
  refresh_token_invalid: { status: 401, title: 'Invalid refresh token', oauth: { error: 'invalid_grant', description: BAD_REFRESH_GRANT }, doc: 'The refresh token is unknown, expired, revoked or already spent. Presenting a spent token ends its session (reuse detection). On the token endpoint: `invalid_grant`.' },
  mfa_code_invalid: { status: 401, title: 'Invalid second-factor code', oauth: { error: 'invalid_grant' }, doc: 'The TOTP code or recovery code is wrong or was already used. The `mfa_token` dies after 5 wrong codes.' },
  mfa_token_invalid: { status: 401, title: 'Invalid MFA token', oauth: { error: 'invalid_grant' }, doc: 'The `mfa_token` is unknown, expired (300 s), already used or dead after 5 wrong codes. Log in again.' },
  // --- 403: the permission
  forbidden: { status: 403, title: 'Forbidden', doc: 'The caller is authenticated but lacks the role this route needs. Checked before the input is validated.' },
  insufficient_scope: { status: 403, title: 'Insufficient scope', bearer: 'insufficient_scope', doc: 'The personal access token does not carry a scope that covers this route. `WWW-Authenticate` carries `error="insufficient_scope"` (RFC 6750 §3.1). Checked before the input is validated.' },
  account_disabled: { status: 403, title: 'Account disabled', oauth: { error: 'invalid_grant', description: BAD_PASSWORD_GRANT }, doc: 'The account is disabled; only said after a correct password. On the token endpoint it reads like a wrong password (`invalid_grant`).' },
  email_not_verified: { status: 403, title: 'Email not verified', oauth: { error: 'invalid_grant' }, doc: 'The account\'s email address must be verified before it can sign in; only said after a correct password.' },
  mfa_required: { status: 403, title: 'Second factor required', oauth: { error: 'mfa_required', status: 403 }, doc: 'The password was right and the account has MFA on. The body carries `mfa_token` (opaque, single use), `expires_in` (seconds, 300) and `methods` (`["totp", "recovery_code"]`); finish at `POST /v1/auth/mfa/verify` or with the token endpoint\'s MFA grant. No session exists yet.' },
  task_forbidden: { status: 403, title: 'Task belongs to another user', doc: 'The task exists but belongs to another user.' },
  // --- 404: the resource
  not_found: { status: 404, title: 'Not Found', doc: 'No route for this method and path.' },
  user_not_found: { status: 404, title: 'User not found', doc: 'No user has this id (or the caller\'s own account no longer exists).' },
  task_not_found: { status: 404, title: 'Task not found', doc: 'No task has this id.' },
  token_not_found: { status: 404, title: 'Personal access token not found', doc: 'The user has no live personal access token with this id (unknown, another user\'s, expired or already revoked).' },
  session_not_found: { status: 404, title: 'Session not found', doc: 'The caller has no live session with this id.' },
  identity_not_found: { status: 404, title: 'Identity not found', doc: 'The caller has no linked identity with this id.' },
  provider_not_configured: { status: 404, title: 'Sign-in provider not configured', doc: 'This social sign-in provider is not offered: its client id and secret are not configured.' },
  // --- 405, 409, 412, 413, 414, 415, 422, 431: the request against the state
  method_not_allowed: { status: 405, title: 'Method Not Allowed', doc: 'The path exists but not with this method; `Allow` lists the methods it has.' },
  email_taken: { status: 409, title: 'Email already registered', doc: 'Another account already has this email address (compared case-insensitively).' },
  username_taken: { status: 409, title: 'Username already taken', doc: 'Another account already has this username (compared case-insensitively).' },
  last_admin: { status: 409, title: 'Last active admin', doc: 'The change would leave no active admin: promote another user first.' },
  already_verified: { status: 409, title: 'Email already verified', doc: 'The account\'s email address is already verified.' },
  mfa_already_enabled: { status: 409, title: 'MFA already enabled', doc: 'The account already has a second factor; turn it off first to set up a new one.' },
  mfa_not_enabled: { status: 409, title: 'MFA not enabled', doc: 'The account has no active second factor (or no pending set-up to activate).' },
  last_credential: { status: 409, title: 'Last credential', doc: 'Removing this would leave the account with no password and no linked identity.' },
  too_many_tokens: { status: 409, title: 'Too many tokens', doc: 'The account already has 50 live personal access tokens; delete one first.' },
  identity_taken: { status: 409, title: 'Identity linked to another account', doc: 'This provider identity is already linked to another account.' },
  account_exists: { status: 409, title: 'Account exists', doc: 'An account already has the provider\'s email: sign in and link the provider from the account settings.' },
  idempotency_key_in_progress: { status: 409, title: 'Idempotent request in progress', doc: 'A request with this `Idempotency-Key` is still running; retry after it has finished.' },
  request_timeout: { status: 408, title: 'Request Timeout', doc: 'The request was not received in time (30 s for the whole request). The connection is closed.' },
  precondition_failed: { status: 412, title: 'Precondition Failed', doc: '`If-Match` does not match the current ETag: the resource changed since it was read. Read it again.' },
  payload_too_large: { status: 413, title: 'Content Too Large', doc: 'The request body is larger than the limit (1 MiB).' },
  uri_too_long: { status: 414, title: 'URI Too Long', doc: 'A path segment is longer than the server accepts (200 characters).' },
  unsupported_media_type: { status: 415, title: 'Unsupported Media Type', oauth: { error: 'invalid_request' }, doc: 'The body\'s `Content-Type` (or charset) is not one this route reads: send `application/json` in UTF-8.' },
  idempotency_key_reused: { status: 422, title: 'Idempotency key reused', doc: 'This `Idempotency-Key` was already used with a different request body.' },
  header_too_large: { status: 431, title: 'Request Header Fields Too Large', doc: 'The request headers are larger than the server accepts (16 KiB).' },
  // --- 429, 5xx: limits and the server
  rate_limited: { status: 429, title: 'Too Many Requests', doc: 'A rate limit was hit (per address or per account). `Retry-After` says when to try again (seconds); `RateLimit-*` headers give the budget.' },
  internal_error: { status: 500, title: 'Internal Server Error', doc: 'An unexpected failure. Nothing of it reaches the client; the log has the details under the request id.' },
  service_unavailable: { status: 503, title: 'Service Unavailable', doc: 'A dependency (database, Redis, the hashing pool) cannot answer now, or the server is overloaded or shutting down. `Retry-After` says when to try again (seconds).' }
} as const satisfies Record<string, ErrorSpec>

/** A stable, snake_case error code: a key of the catalogue. */
export type ErrorCode = keyof typeof ERRORS

/** Every code, in catalogue order (the `code` enum of the OpenAPI Problem schema). */
export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[]

/** Base URI of problem `type`s; `<base><code>` documents the code (docs/problems.md). */
export const PROBLEM_BASE = 'https://taskflow.dev/problems/'

/** The catalogue row of a code. */
export function errorSpec (code: ErrorCode): ErrorSpec {
  return ERRORS[code]
}

/** The RFC 9457 `type` URI of a code. */
export function problemType (code: ErrorCode): string {
  const spec: ErrorSpec = ERRORS[code]
  return PROBLEM_BASE + (spec.typeSlug ?? code)
}

/** One field of a validation failure: a dotted path (`tags.0`) and what is wrong with it. */
export interface FieldError { field: string, message: string }

/** Remaining budget of a rate limit, for the `RateLimit-*` headers (draft-ietf-httpapi-ratelimit-headers); seconds. */
export interface RateLimitState { limit: number, remaining: number, resetSeconds: number }

/** The per-occurrence part of an AppError; the per-code part is the catalogue row. */
export interface AppErrorOptions {
  /** RFC 9457 `detail`, for this occurrence; defaults to the catalogue title. Never secrets or input echoes. */
  detail?: string
  /** Per-field failures (`errors[]` of the problem body). */
  errors?: FieldError[]
  /**
   * Extension members (RFC 9457 §3.2) added to the body, e.g. `{ mfa_token, expires_in, methods }`
   * for `mfa_required`. They appear in the problem+json body and, on the token endpoint, in the
   * RFC 6749 body; they cannot replace the standard members (type, title, status, detail, instance,
   * code, errors / error, error_description).
   */
  extensions?: Record<string, unknown>
  /** Seconds for `Retry-After` (429, 503). */
  retryAfterSeconds?: number
  /** Budget for the `RateLimit-*` headers of a 429. */
  rateLimit?: RateLimitState
  /** The underlying error: logged, never sent. */
  cause?: unknown
}

/**
 * Every expected failure: `new AppError('task_not_found', { detail: 'Task not found' })`. The status
 * comes from the catalogue; only core/http/error-handler.ts turns it into a response.
 */
export class AppError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly errors: FieldError[] | undefined
  readonly extensions: Record<string, unknown> | undefined
  readonly retryAfterSeconds: number | undefined
  readonly rateLimit: RateLimitState | undefined

  constructor (code: ErrorCode, options: AppErrorOptions = {}) {
    super(options.detail ?? ERRORS[code].title, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.status = ERRORS[code].status
    this.errors = options.errors
    this.extensions = options.extensions
    this.retryAfterSeconds = options.retryAfterSeconds
    this.rateLimit = options.rateLimit
  }
}

/** Shorthand for a 400 with per-field errors (`validation_failed` unless another 400 code is given). */
export class ValidationError extends AppError {
  constructor (detail: string, errors: FieldError[] = [], code: ErrorCode = 'validation_failed') {
    super(code, { detail, errors })
  }
}

/** Shorthand for `rate_limited` (429) with `Retry-After` (seconds) and, when known, the limit's budget. */
export class TooManyRequestsError extends AppError {
  constructor (detail: string, retryAfterSeconds: number, limit?: RateLimitState) {
    super('rate_limited', { detail, retryAfterSeconds, ...(limit ? { rateLimit: limit } : {}) })
  }
}

/** A dependency (database, cache, hashing pool) cannot answer now: 503 `service_unavailable`, never a 500. */
export class ServiceUnavailableError extends AppError {
  constructor (detail: string, options?: { cause?: unknown, retryAfterSeconds?: number }) {
    super('service_unavailable', { detail, retryAfterSeconds: options?.retryAfterSeconds ?? 1, cause: options?.cause })
  }
}

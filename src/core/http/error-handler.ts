import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isDbUnavailable } from '../db.js'
import { AppError, errorSpec, problemType, type ErrorCode, type FieldError } from '../errors.js'
import type { Problem } from '../schemas.js'
import { setRateLimitHeaders } from './rate-limit-hook.js'

interface AjvError { instancePath?: string, keyword?: string, message?: string, params?: Record<string, unknown> }

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Errors of this route are RFC 6749 §5.2 JSON, not problem+json (the token endpoint). */
    oauthErrors?: boolean
  }
}

function fieldErrors (validation: AjvError[], context: string | undefined): FieldError[] {
  return validation.map((e) => {
    const path = (e.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.')
    const params = e.params ?? {}
    if (e.keyword === 'required') return { field: [path, params.missingProperty].filter(Boolean).join('.'), message: 'is required' }
    if (e.keyword === 'additionalProperties') return { field: [path, params.additionalProperty].filter(Boolean).join('.'), message: 'is not allowed' }
    return { field: path || context || 'body', message: e.message ?? 'is invalid' }
  })
}

/** The catalogue code of a framework 4xx that has no code of its own. */
const STATUS_CODES_TO_ERROR: Partial<Record<number, ErrorCode>> = {
  404: 'not_found', 405: 'method_not_allowed', 413: 'payload_too_large', 414: 'uri_too_long', 415: 'unsupported_media_type', 431: 'header_too_large'
}

/** Safe, client-facing text for Fastify's own 4xx errors (never a library message on a 5xx). */
function clientError (err: FastifyError): AppError | undefined {
  const status = err.statusCode ?? 500
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return new AppError('unsupported_media_type', { detail: 'Unsupported Content-Type: send application/json' })
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return new AppError('payload_too_large', { detail: 'The request body is larger than 1 MiB' })
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return new AppError('validation_failed', { detail: 'The JSON body is empty' })
    case 'FST_ERR_CTP_INVALID_JSON_BODY': return new AppError('validation_failed', { detail: 'The body is not valid JSON' })
  }
  if (err instanceof SyntaxError || (/JSON/.test(err.message) && status === 400)) return new AppError('validation_failed', { detail: 'The body is not valid JSON' })
  if (/prototype property|constructor property/.test(err.message)) return new AppError('validation_failed', { detail: 'The body contains a forbidden property (__proto__ or constructor)' })
  if (status >= 400 && status < 500) return new AppError(STATUS_CODES_TO_ERROR[status] ?? 'validation_failed')
  return undefined
}

function oauthDescription (text: string): string {
  // RFC 6749 §5.2: printable ASCII without " or \.
  return text.replace(/[^\x20-\x7e]|["\\]/g, ' ').slice(0, 200)
}

const PROBLEM_MEMBERS = new Set(['type', 'title', 'status', 'detail', 'instance', 'code', 'errors'])
const OAUTH_MEMBERS = new Set(['error', 'error_description'])

/** Extension members that do not shadow the standard ones (RFC 9457 §3.2). */
function extensionsOf (err: AppError, reserved: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(err.extensions ?? {})) if (!reserved.has(key)) out[key] = value
  return out
}

/** Turns whatever was thrown into an AppError; an unexpected error is logged here and becomes `internal_error`. */
function toAppError (err: FastifyError, req: FastifyRequest): AppError {
  if (err instanceof AppError) return err
  if (Array.isArray(err.validation)) {
    const errors = fieldErrors(err.validation as AjvError[], err.validationContext)
    const first = errors[0]
    return new AppError('validation_failed', { detail: first ? `${first.field} ${first.message}` : 'Validation failed', errors })
  }
  if (isDbUnavailable(err)) {
    req.log.error({ err, code: 'dependency_unavailable' }, 'database unavailable')
    return new AppError('service_unavailable', { detail: 'A dependency is unavailable; try again shortly', retryAfterSeconds: 1 })
  }
  const known = clientError(err)
  if (known) return known
  req.log.error({ err, code: 'internal_error' }, 'unhandled error')
  return new AppError('internal_error', { detail: 'Internal Server Error' })
}

/**
 * The one place error responses are written. Whatever was thrown becomes an AppError (validation
 * failures: 400 `validation_failed` with `errors[]`; an unavailable database: 503; anything unknown:
 * a logged 500 `internal_error`), then the catalogue (core/errors.ts) decides the response: an
 * RFC 6749 §5.2 body on routes with `config.oauthErrors` for codes that have an `oauth` entry,
 * otherwise RFC 9457 problem+json; `WWW-Authenticate` (RFC 6750 §3) on every 401 and on codes with a
 * `bearer` error; `Retry-After` and `RateLimit-*` when the error carries them.
 */
export function registerErrorHandler (app: FastifyInstance): void {
  app.setErrorHandler(async (thrown: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const err = toAppError(thrown, req)
    const spec = errorSpec(err.code)
    const detail = err.message

    if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds))
    if (err.rateLimit) setRateLimitHeaders(reply, { ...err.rateLimit, remaining: 0 })

    if (spec.oauth && req.routeOptions.config?.oauthErrors === true) {
      return reply.code(spec.oauth.status ?? 400)
        .header('cache-control', 'no-store').header('pragma', 'no-cache')
        .type('application/json; charset=utf-8')
        .send({ error: spec.oauth.error, error_description: oauthDescription(spec.oauth.description ?? detail), ...extensionsOf(err, OAUTH_MEMBERS) })
    }

    if (spec.bearer) {
      reply.header('www-authenticate', `Bearer error="${spec.bearer}", error_description="${oauthDescription(detail)}"`)
    } else if (err.status === 401) {
      reply.header('www-authenticate', 'Bearer')
    }
    if (err.status >= 400 && err.status < 500 && err.status !== 404 && err.status !== 401) req.log.info({ code: err.code, status: err.status }, 'request refused')

    const body: Problem = {
      type: problemType(err.code),
      title: spec.title,
      status: err.status,
      detail,
      instance: req.url.split('?')[0] ?? req.url,
      code: err.code,
      ...extensionsOf(err, PROBLEM_MEMBERS)
    }
    if (err.errors && err.errors.length > 0) body.errors = err.errors
    return reply.code(err.status).type('application/problem+json; charset=utf-8').send(body)
  })

  app.setNotFoundHandler(async (req, reply) => {
    const body: Problem = { type: problemType('not_found'), title: errorSpec('not_found').title, status: 404, detail: `No route for ${req.method} ${req.url.split('?')[0] ?? ''}`, instance: req.url.split('?')[0] ?? req.url, code: 'not_found' }
    return reply.code(404).type('application/problem+json; charset=utf-8').send(body)
  })
}

import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isDbUnavailable } from '../db.js'
import { AppError, errorSpec, problemType, type ErrorCode, type FieldError } from '../errors.js'
import type { Problem } from '../schemas.js'
import { setRateLimitHeaders } from './rate-limit-hook.js'
import { createRouteIndex } from './route-index.js'

interface AjvError { instancePath?: string, keyword?: string, message?: string, params?: Record<string, unknown> }

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Errors of this route are RFC 6749 §5.2 JSON, not problem+json (the token endpoint). */
    oauthErrors?: boolean
  }
}

/** A nullable field's schema is `anyOf: [<schema>, null]`: when it fails, Ajv also reports the null branch and the anyOf itself. */
const branchNoise = (e: AjvError) => e.keyword === 'anyOf' || (e.keyword === 'type' && e.params?.type === 'null')

function fieldErrors (validation: AjvError[], context: string | undefined): FieldError[] {
  // Per field, only what was wrong with the value ("must match format …"), not the branches it did not take.
  const explained = new Set(validation.filter(e => !branchNoise(e)).map(e => e.instancePath ?? ''))
  return validation.filter(e => !branchNoise(e) || !explained.has(e.instancePath ?? '')).map((e) => {
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

const PROBLEM_JSON = 'application/problem+json; charset=utf-8'

const isFrameworkError = (err: unknown): boolean => typeof (err as { code?: unknown }).code === 'string' && (err as { code: string }).code.startsWith('FST_ERR_')

/** The RFC 9457 body of an AppError: the catalogue's type and title, the error's detail, errors[] and extension members. */
export function problemBody (err: AppError, instance?: string): Problem {
  const body: Problem = {
    type: problemType(err.code),
    title: errorSpec(err.code).title,
    status: err.status,
    detail: err.message,
    ...(instance === undefined ? {} : { instance }),
    code: err.code,
    ...extensionsOf(err, PROBLEM_MEMBERS)
  }
  if (err.errors && err.errors.length > 0) body.errors = err.errors
  return body
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

    // A framework error is about the request itself (its URL, headers or body framing): it names
    // no instance, so nothing of the input is echoed.
    const instance = isFrameworkError(thrown) ? undefined : req.url.split('?')[0]
    return reply.code(err.status).type(PROBLEM_JSON).send(problemBody(err, instance))
  })

  const routes = createRouteIndex()
  app.addHook('onRoute', (route) => { routes.add(route) })
  app.setNotFoundHandler(async (req, reply) => {
    const path = req.url.split('?')[0]
    const allow = routes.allowed(path ?? req.url)
    if (allow.length > 0) {
      // RFC 9110 §15.5.6: a known path with another method; Allow lists the ones it has.
      const notAllowed = new AppError('method_not_allowed', { detail: `This path does not accept ${req.method}; it accepts ${allow.join(', ')}` })
      return reply.code(405).header('allow', allow.join(', ')).type(PROBLEM_JSON).send(problemBody(notAllowed, path))
    }
    return reply.code(404).type(PROBLEM_JSON).send(problemBody(new AppError('not_found', { detail: 'No route matches this method and path' }), req.url.split('?')[0]))
  })
}

/** Router errors (Fastify `frameworkErrors`): a bad percent-escape, an over-long path parameter. Fixed text, no echo of the path. */
export function frameworkErrors (err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const appError = err.code === 'FST_ERR_BAD_URL'
    ? new AppError('malformed_url', { detail: 'The path contains an invalid percent-encoding' })
    : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new AppError('uri_too_long', { detail: 'A path segment is longer than 200 characters' })
      : new AppError('internal_error', { detail: 'Internal Server Error' })
  if (appError.code === 'internal_error') req.log.error({ err, code: 'internal_error' }, 'router error')
  else req.log.info({ code: appError.code, status: appError.status }, 'request refused')
  return reply.code(appError.status).header('x-request-id', req.id).header('cache-control', 'no-store').type(PROBLEM_JSON).send(problemBody(appError))
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (Fastify `clientErrorHandler`): a
 * header section over 16 KiB (431), a request that took too long (408), anything unparsable (400,
 * e.g. Transfer-Encoding with Content-Length). Answered with problem+json and the connection closed.
 */
export function clientErrorHandler (this: FastifyInstance, err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const appError = err.code === 'HPE_HEADER_OVERFLOW'
    ? new AppError('header_too_large', { detail: 'The request headers are larger than 16 KiB' })
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new AppError('request_timeout', { detail: 'The request took too long to arrive' })
      : new AppError('malformed_request', { detail: 'The HTTP request cannot be parsed' })
  this.log.info({ code: appError.code, status: appError.status, parserError: err.code }, 'request refused by the HTTP parser')
  if (socket.writable) {
    const body = JSON.stringify(problemBody(appError))
    socket.write(`HTTP/1.1 ${appError.status} ${STATUS_CODES[appError.status] ?? ''}\r\nContent-Type: ${PROBLEM_JSON}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy(err)
}

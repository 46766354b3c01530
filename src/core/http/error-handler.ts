import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isDbUnavailable } from '../db.js'
import { AppError, OAuthError, ServiceUnavailableError, TooManyRequestsError, UnauthorizedError, type FieldError } from '../errors.js'
import { PROBLEM_BASE, problemTitle, type Problem } from '../problem.js'
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

/** Safe, client-facing text for Fastify's own 4xx errors (never a library message on a 5xx). */
function clientError (err: FastifyError): { status: number, code: AppError['code'], detail: string } | undefined {
  const status = err.statusCode ?? 500
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return { status: 415, code: 'unsupported_media_type', detail: 'Unsupported Content-Type: send application/json' }
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return { status: 413, code: 'payload_too_large', detail: 'The request body is larger than 1 MiB' }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return { status: 400, code: 'validation_failed', detail: 'The JSON body is empty' }
    case 'FST_ERR_CTP_INVALID_JSON_BODY': return { status: 400, code: 'validation_failed', detail: 'The body is not valid JSON' }
  }
  if (err instanceof SyntaxError || (/JSON/.test(err.message) && status === 400)) return { status: 400, code: 'validation_failed', detail: 'The body is not valid JSON' }
  if (/prototype property|constructor property/.test(err.message)) return { status: 400, code: 'validation_failed', detail: 'The body contains a forbidden property (__proto__ or constructor)' }
  if (status >= 400 && status < 500) return { status, code: status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : 'validation_failed', detail: problemTitle(status) }
  return undefined
}

function oauthDescription (text: string): string {
  // RFC 6749 §5.2: printable ASCII without " or \.
  return text.replace(/[^\x20-\x7e]|["\\]/g, ' ').slice(0, 200)
}

function sendOAuthError (reply: FastifyReply, error: string, description: string) {
  return reply.code(400)
    .header('cache-control', 'no-store').header('pragma', 'no-cache')
    .type('application/json; charset=utf-8')
    .send({ error, error_description: oauthDescription(description) })
}

/**
 * The one place error responses are written: AppErrors map to their status and code, validation
 * failures to 400 with `errors[]`, dependency failures to 503, anything else to a generic 500.
 * The real error goes to the log only.
 */
export function registerErrorHandler (app: FastifyInstance): void {
  app.setErrorHandler(async (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const oauth = req.routeOptions.config?.oauthErrors === true

    let status: number
    let code: AppError['code']
    let detail: string
    let errors: FieldError[] | undefined

    if (err instanceof OAuthError) return sendOAuthError(reply, err.error, err.message)

    if (err instanceof AppError) {
      status = err.status
      code = err.code
      detail = err.message
      if ('errors' in err && Array.isArray(err.errors) && err.errors.length > 0) errors = err.errors as FieldError[]
    } else if (Array.isArray(err.validation)) {
      status = 400
      code = 'validation_failed'
      errors = fieldErrors(err.validation as AjvError[], err.validationContext)
      const first = errors[0]
      detail = first ? `${first.field} ${first.message}` : 'Validation failed'
    } else if (isDbUnavailable(err)) {
      req.log.error({ err, code: 'dependency_unavailable' }, 'database unavailable')
      status = 503
      code = 'service_unavailable'
      detail = 'A dependency is unavailable; try again shortly'
      reply.header('retry-after', '1')
    } else {
      const known = clientError(err)
      if (known) {
        ({ status, code, detail } = known)
      } else {
        req.log.error({ err, code: 'internal_error' }, 'unhandled error')
        status = 500
        code = 'internal_error'
        detail = 'Internal Server Error'
      }
    }

    if (oauth && (status === 400 || status === 415)) return sendOAuthError(reply, 'invalid_request', detail)

    if (status === 401) {
      const rejected = err instanceof UnauthorizedError && err.tokenRejected
      reply.header('www-authenticate', rejected ? `Bearer error="invalid_token", error_description="${oauthDescription(detail)}"` : 'Bearer')
    }
    if (code === 'insufficient_scope') reply.header('www-authenticate', 'Bearer error="insufficient_scope"')
    if (err instanceof TooManyRequestsError || err instanceof ServiceUnavailableError) reply.header('retry-after', String(err.retryAfterSeconds))
    if (err instanceof TooManyRequestsError && err.limit) setRateLimitHeaders(reply, { ...err.limit, remaining: 0 })
    if (status >= 400 && status < 500 && status !== 404 && status !== 401) req.log.info({ code, status }, 'request refused')

    const body: Problem = {
      type: PROBLEM_BASE + (code === 'validation_failed' ? 'validation' : code),
      title: code === 'validation_failed' ? 'Validation failed' : problemTitle(status),
      status,
      detail,
      instance: req.url.split('?')[0] ?? req.url,
      code
    }
    if (errors) body.errors = errors
    return reply.code(status).type('application/problem+json; charset=utf-8').send(body)
  })

  app.setNotFoundHandler(async (req, reply) => {
    const body: Problem = { type: PROBLEM_BASE + 'not_found', title: 'Not Found', status: 404, detail: `No route for ${req.method} ${req.url.split('?')[0] ?? ''}`, instance: req.url.split('?')[0] ?? req.url, code: 'not_found' }
    return reply.code(404).type('application/problem+json; charset=utf-8').send(body)
  })
}

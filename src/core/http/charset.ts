import type { FastifyInstance } from 'fastify'
import { AppError } from '../errors.js'

const CHARSET = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i
const UTF8 = /^utf-?8$/i

/** The `charset` parameter of a Content-Type header, or undefined when there is none. */
export function declaredCharset (contentType: string | undefined): string | undefined {
  const m = CHARSET.exec(contentType ?? '')
  return m ? (m[1] ?? m[2] ?? '') : undefined
}

/**
 * Request bodies are read as UTF-8 only (JSON: RFC 8259 §8.1; forms: RFC 6749 Appendix B): a body
 * whose Content-Type declares another charset (utf-16, latin1, …) is 415 `unsupported_media_type`
 * before it is parsed, rather than silently read as UTF-8. No charset means UTF-8.
 */
export function registerCharsetCheck (app: FastifyInstance): void {
  // Callback style: no promise per request; GETs and bodies without a Content-Type pass at once.
  app.addHook('preParsing', (req, _reply, payload, done) => {
    const contentType = req.headers['content-type']
    if (contentType === undefined) { done(null, payload); return }
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0
    const charset = declaredCharset(contentType)
    if (hasBody && charset !== undefined && !UTF8.test(charset)) {
      done(new AppError('unsupported_media_type', { detail: 'Request bodies must be UTF-8: send charset=utf-8 or no charset' }))
      return
    }
    done(null, payload)
  })
}

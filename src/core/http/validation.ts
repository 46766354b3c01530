import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyInstance } from 'fastify'

function makeAjv (options: Options): Ajv {
  const ajv = new Ajv({ allErrors: false, strict: false, useDefaults: true, removeAdditional: false, ...options })
  addFormats.default(ajv)
  return ajv
}

/**
 * Strict input validation (ASVS 5.0 15.3.3/15.3.5): bodies are never coerced and unknown fields are
 * rejected, not stripped. Query strings, params and headers are text on the wire, so they are coerced.
 */
export function registerValidators (app: FastifyInstance): void {
  const bodyAjv = makeAjv({ coerceTypes: false })
  const textAjv = makeAjv({ coerceTypes: true })
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? bodyAjv : textAjv
    return ajv.compile(schema)
  })
}

import type { SwaggerTransform, SwaggerTransformObject } from '@fastify/swagger'
import type { FastifySchema } from 'fastify'
import type { TSchema } from 'typebox'
import { ERROR_CODES, errorSpec, problemType, type ErrorCode } from '../errors.js'

declare module 'fastify' {
  interface FastifySchema {
    /**
     * The route has a per-client-IP rate limit: the OpenAPI document gives its 2xx and 4xx responses
     * the `RateLimit-*` headers, and its 429 `Retry-After` too (API.md "Abuse protection").
     */
    'x-rate-limited'?: boolean
  }
}

/** Routes that need an access token: a Bearer header, obtainable through the OAuth2 password flow. */
export const bearerSecurity: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { oauth2: [] }]

/** Spread into a route's schema when the route has a per-IP rate limit (see `x-rate-limited`). */
export const rateLimited = { 'x-rate-limited': true } as const

/** Named schemas of the OpenAPI document: component name → the very schema object the routes use. */
export type ComponentSchemas = Readonly<Record<string, TSchema>>

/** Component schemas that extend another component (its members and more): name of the base, by identity. */
const bases = new WeakMap<object, string>()

/**
 * Marks `schema` (an object schema holding every member of the component `base`, plus its own) as an
 * extension of `base`: its component is written `allOf: [$ref base, {its own members}]` instead of a
 * copy of the base's members, and an error response of it is `application/problem+json` when the base
 * is `Problem`. Documentation only: the schema the route serializes with is unchanged. Returns `schema`.
 */
export function extendsComponent<T extends TSchema> (schema: T, base: string): T {
  bases.set(schema, base)
  return schema
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

const MARK = 'x-taskflow-component'
const SCHEMAS = '#/components/schemas/'
const ref = (name: string): JsonObject => ({ $ref: SCHEMAS + name })
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * Copies a route or component schema as plain JSON, putting a mark (`at === 'top'`: with the
 * description and examples @fastify/swagger reads from a response's top-level schema) or a `$ref`
 * (`at === 'nested'`, inside a component) wherever one of the named schemas appears, by identity.
 */
function copyMarking (node: unknown, names: ReadonlyMap<object, string>, at: 'top' | 'nested' | 'component', skip?: object): Json {
  if (Array.isArray(node)) return node.map(item => copyMarking(item, names, at === 'component' ? 'nested' : at, skip))
  if (!isObject(node)) return node as Json
  const name = node !== skip ? names.get(node) : undefined
  if (name !== undefined) {
    if (at === 'component' || at === 'nested') return ref(name)
    const mark: JsonObject = { [MARK]: name }
    if (typeof node.description === 'string') mark.description = node.description
    if (Array.isArray(node.examples)) mark.examples = node.examples as Json[]
    return mark
  }
  const out: JsonObject = {}
  for (const [key, value] of Object.entries(node)) {
    if (key === '$id') continue
    out[key] = copyMarking(value, names, at === 'component' ? 'nested' : at, skip)
  }
  return out
}

/** `allOf: [$ref base, {own members}]` for a component that extends `base` (see `extendsComponent`). */
function asExtension (copy: JsonObject, base: string, baseSchema: TSchema): Json {
  const baseProperties = (baseSchema as { properties?: unknown }).properties
  const inherited = new Set(Object.keys(isObject(baseProperties) ? baseProperties : {}))
  const properties = isObject(copy.properties) ? copy.properties as JsonObject : {}
  const own: JsonObject = { type: 'object', properties: Object.fromEntries(Object.entries(properties).filter(([key]) => !inherited.has(key))) }
  const required = Array.isArray(copy.required) ? copy.required.filter(key => typeof key === 'string' && !inherited.has(key)) : []
  if (required.length > 0) own.required = required
  const out: JsonObject = { allOf: [ref(base), own] }
  for (const key of ['description', 'examples']) if (copy[key] !== undefined) out[key] = copy[key] as Json
  return out
}

/** Replaces every mark left by `copyMarking` with a `$ref` to its component. */
function resolveMarks (node: Json): Json {
  if (Array.isArray(node)) return node.map(resolveMarks)
  if (!isObject(node)) return node
  const name = node[MARK]
  if (typeof name === 'string') return ref(name)
  const out: JsonObject = {}
  for (const [key, value] of Object.entries(node)) out[key] = resolveMarks(value)
  return out
}

const header = (name: string): JsonObject => ({ $ref: `#/components/headers/${name}` })
/** A rate-limited route's 2xx and 4xx headers (CORS too: OWASP api8 asks every response with headers to name it). */
const rateLimitHeaders: JsonObject = Object.fromEntries(['Access-Control-Allow-Origin', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'].map(name => [name, header(name)]))
const count = (description: string): JsonObject => ({ description, schema: { type: 'integer', format: 'int32', minimum: 0, maximum: 2147483647 } })

/** Headers and responses every operation shares, referenced from the operations. */
function sharedComponents (): { headers: JsonObject, responses: JsonObject } {
  return {
    headers: {
      'Access-Control-Allow-Origin': { description: 'The request\'s Origin, only when it is one of CORS_ORIGINS; absent otherwise (no cross-origin access by default)', schema: { type: 'string', format: 'uri', maxLength: 2048 } },
      'RateLimit-Limit': count('Requests allowed in the window of this route\'s per-IP limit'),
      'RateLimit-Remaining': count('Requests left in the current window'),
      'RateLimit-Reset': count('Seconds until the window resets'),
      'Retry-After': count('Seconds to wait before trying again (RFC 9110 §10.2.3)')
    },
    responses: {
      InternalError: {
        description: 'Internal Server Error: an unexpected failure (logged; no details are given)',
        content: { 'application/problem+json': { schema: ref('Problem'), example: { type: problemType('internal_error'), title: errorSpec('internal_error').title, status: 500, detail: 'Internal Server Error', code: 'internal_error' } } }
      }
    }
  }
}

/** The code a problem example of each status shows; other statuses show the catalogue's first code of theirs. */
const EXAMPLE_CODES: Partial<Record<number, ErrorCode>> = { 400: 'validation_failed', 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found', 500: 'internal_error' }

/** A problem+json example for a status, from the error catalogue (core/errors.ts). */
function problemExample (status: number, path: string): JsonObject | undefined {
  const code = EXAMPLE_CODES[status] ?? ERROR_CODES.find(c => errorSpec(c).status === status)
  if (code === undefined) return undefined
  const { title } = errorSpec(code)
  return { type: problemType(code), title, status, detail: title, instance: path.replaceAll(/\{[^}]+\}/g, '0193a5e4-8d2b-7e3f-8a11-3c4d5e6f7081'), code }
}

const OPERATION_KEYS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'])

/**
 * Finishes one operation: error responses whose body is the shared Problem (or a component extending it) are
 * `application/problem+json` (RFC 9457 §3); every operation documents the generic 500; a rate-limited
 * one documents the `RateLimit-*` headers on its 2xx and 4xx responses and `Retry-After` on its 429.
 */
function finishOperation (operation: JsonObject, path: string, problems: ReadonlySet<string>): void {
  const responses = isObject(operation.responses) ? operation.responses as JsonObject : {}
  const limited = operation['x-rate-limited'] === true
  delete operation['x-rate-limited']
  for (const [status, response] of Object.entries(responses)) {
    if (!isObject(response)) continue
    const content = isObject(response.content) ? response.content as JsonObject : undefined
    const json = content?.['application/json']
    if (content && Number(status) >= 400 && isObject(json) && isObject(json.schema) && typeof json.schema.$ref === 'string' && problems.has(json.schema.$ref.slice(SCHEMAS.length))) {
      delete content['application/json']
      content['application/problem+json'] = json
      const example = problemExample(Number(status), path)
      if (example) json.example = example
    }
    if (limited && /^[24]/.test(status)) {
      response.headers = { ...(isObject(response.headers) ? response.headers as JsonObject : {}), ...rateLimitHeaders }
      if (status === '429') (response.headers as JsonObject)['Retry-After'] = header('Retry-After')
    }
  }
  responses['500'] ??= { $ref: '#/components/responses/InternalError' }
  operation.responses = responses
}

/**
 * The two @fastify/swagger hooks that give the generated document its shared components:
 * - `transform` (per route) marks, by identity, each named schema a route's body or responses use;
 * - `transformObject` (the whole document) turns the marks into `$ref`s, writes each named schema
 *   once under `components.schemas` (nested named schemas referenced in turn), and finishes every
 *   operation (problem+json error bodies, 500, rate-limit headers).
 * Shapes are thus declared once, in the TypeBox schemas the routes validate and serialize with.
 */
export function openapiComponents (named: ComponentSchemas): { transform: SwaggerTransform, transformObject: SwaggerTransformObject } {
  const names = new Map<object, string>()
  for (const [name, schema] of Object.entries(named)) names.set(schema, name)

  return {
    transform ({ schema, url }) {
      if (!isObject(schema)) return { schema, url }
      const out: Record<string, unknown> = { ...schema }
      if (schema.body !== undefined) out.body = copyMarking(schema.body, names, 'top')
      if (isObject(schema.response)) {
        const responses: Record<string, unknown> = {}
        for (const [status, response] of Object.entries(schema.response)) responses[status] = copyMarking(response, names, 'top')
        out.response = responses
      }
      return { schema: out as FastifySchema, url }
    },
    transformObject (documentObject) {
      const source = 'openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject
      const doc = resolveMarks(source as Json) as JsonObject
      const components = (isObject(doc.components) ? doc.components : {}) as JsonObject
      const schemas = (isObject(components.schemas) ? components.schemas : {}) as JsonObject
      for (const [name, schema] of Object.entries(named)) {
        const copy = copyMarking(schema, names, 'component', schema) as JsonObject
        const base = bases.get(schema)
        const baseSchema = base === undefined ? undefined : named[base]
        schemas[name] = base !== undefined && baseSchema !== undefined ? asExtension(copy, base, baseSchema) : copy
      }
      const problems = new Set(['Problem', ...Object.entries(named).filter(([, schema]) => bases.get(schema) === 'Problem').map(([name]) => name)])
      const shared = sharedComponents()
      components.schemas = schemas
      components.headers = { ...(isObject(components.headers) ? components.headers as JsonObject : {}), ...shared.headers }
      components.responses = { ...(isObject(components.responses) ? components.responses as JsonObject : {}), ...shared.responses }
      doc.components = components
      for (const [path, item] of Object.entries(isObject(doc.paths) ? doc.paths as JsonObject : {})) {
        if (!isObject(item)) continue
        for (const [method, operation] of Object.entries(item)) {
          if (OPERATION_KEYS.has(method) && isObject(operation)) finishOperation(operation as JsonObject, path, problems)
        }
      }
      return doc as ReturnType<SwaggerTransformObject>
    }
  }
}

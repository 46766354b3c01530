/**
 * Shared schema building blocks (TypeBox → JSON Schema), declared once and composed by every
 * module's `*.schemas.ts`. Each block is also listed in {@link SHARED_SCHEMAS} under a stable name,
 * so the OpenAPI document can register it as a component (`#/components/schemas/<name>`) and
 * reference it by identity.
 */
import Type, { type Static, type TSchema } from 'typebox'
import { ERROR_CODES } from './errors.js'

/** Roles of an account. Used by the schemas and the `users_role_check` constraint alike. */
export const ROLES = ['user', 'admin'] as const
export type Role = typeof ROLES[number]

/**
 * A string enum from an `as const` array: `{type: 'string', enum: [...]}` in JSON Schema, the
 * union of the literals in TypeScript. Tables build their check constraints from the same array
 * (see `sqlIn` in core/sql.ts).
 */
export function StringEnum<const T extends readonly string[]> (values: T, options: { description?: string, default?: T[number] } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options })
}

/** RFC 9562 UUID in its canonical 8-4-4-4-12 hex form (any version; ids we mint are v7). */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
/** A UUID path, query or body value (a malformed one is 400). */
export const Uuid = Type.String({ pattern: UUID_PATTERN, format: 'uuid' })

/** `{ id }` path parameters (a malformed id is 400, API.md Conventions). */
export const IdParams = Type.Object({ id: Uuid })

/** A role (`user` | `admin`). */
export const RoleSchema = StringEnum(ROLES)

/** An RFC 3339 timestamp on the wire (UTC, milliseconds); services hand the serializer Date objects. */
export const Timestamp = Type.Unsafe<Date | string>({ type: 'string', format: 'date-time' })

/** An RFC 3339 timestamp in a request (query filter or body field). */
export const TimestampInput = Type.String({ format: 'date-time' })

/** `T` or JSON null. */
export function Nullable<T extends TSchema> (schema: T) {
  return Type.Union([schema, Type.Null()])
}

/** Free text in a response (no limits: responses are not validated, only serialized). */
export const NullableText = Nullable(Type.String())

/** `?limit=`: page size, 1–100, default 50 (API.md Conventions). */
export const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Page size (1–100, default 50)' })

/** `?cursor=`: an opaque `next_cursor` handed back unchanged. */
export const Cursor = Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$', description: 'Opaque cursor from next_cursor' })

/** The query members every list takes: `limit` and `cursor`. Spread into a list's query object. */
export const PageQuery = { limit: Limit, cursor: Type.Optional(Cursor) }

/** `next_cursor`: the cursor of the next page, or null on the last one. */
export const NextCursor = Nullable(Type.String({ description: 'Cursor of the next page; null on the last page' }))

/** A page of a cursor-paginated list: `{ data: T[], next_cursor }` (API.md Conventions). */
export function Page<T extends TSchema> (item: T) {
  return Type.Object({ data: Type.Array(item), next_cursor: NextCursor })
}

/** One field of a validation failure. */
export const FieldErrorSchema = Type.Object({ field: Type.String(), message: Type.String() })

/**
 * RFC 9457 problem details, as every error (but the token endpoint's) is written. `code` is one of
 * the catalogue's codes (core/errors.ts); extension members (e.g. `mfa_token`) may follow, hence
 * `additionalProperties: true`, which also tells the serializer to keep them.
 */
export const Problem = Type.Object({
  type: Type.String({ format: 'uri', description: 'Documents the code: <PROBLEM_BASE><code>, see docs/problems.md' }),
  title: Type.String(),
  status: Type.Integer({ minimum: 400, maximum: 599 }),
  detail: Type.Optional(Type.String()),
  instance: Type.Optional(Type.String()),
  code: StringEnum(ERROR_CODES),
  errors: Type.Optional(Type.Array(FieldErrorSchema))
}, { additionalProperties: true, description: 'RFC 9457 problem details' })
export type Problem = Static<typeof Problem>

/** RFC 6749 §5.2 error body of the token endpoint (extension members such as `mfa_token` may follow). */
export const OAuthErrorBody = Type.Object({
  error: Type.String(),
  error_description: Type.String()
}, { additionalProperties: true, description: 'RFC 6749 §5.2 error' })

/** A 204 response: no body. */
export const NoContent = { type: 'null', description: 'No content' } as const

/**
 * The shared blocks by their stable component name. The OpenAPI transform can replace a schema that
 * is `===` one of these with `{ $ref: '#/components/schemas/<name>' }`.
 */
export const SHARED_SCHEMAS = {
  Uuid,
  IdParams,
  Role: RoleSchema,
  Timestamp,
  TimestampInput,
  NullableText,
  Limit,
  Cursor,
  NextCursor,
  FieldError: FieldErrorSchema,
  Problem,
  OAuthError: OAuthErrorBody
} as const

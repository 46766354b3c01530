import Type, { type Static } from 'typebox'
import { Timestamp } from '../../core/http/openapi.js'
import { Cursor, Limit } from '../../core/pagination.js'
import { SCOPES } from '../../core/scopes.js'
import { Password, Uuid } from '../users/index.js'

export const ScopeName = Type.Union([Type.Literal(SCOPES[0]), Type.Literal(SCOPES[1]), Type.Literal(SCOPES[2])], {
  description: '`tasks:read` (GET /v1/tasks, GET /v1/tasks/{id}), `tasks:write` (POST /v1/tasks, PUT/PATCH/DELETE /v1/tasks/{id}), `profile:read` (GET /v1/users/me)'
})

export const CreateTokenBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100, description: 'What the token is for' }),
  scopes: Type.Array(ScopeName, { minItems: 1, maxItems: SCOPES.length, uniqueItems: true }),
  expires_in_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 365, default: 90, description: 'Lifetime in days (1–365, default 90)' })),
  current_password: Password
}, { additionalProperties: false })
export type CreateTokenBody = Static<typeof CreateTokenBody>

const tokenFields = {
  id: Uuid,
  name: Type.String(),
  token_prefix: Type.String({ description: 'The first 12 characters of the token, to recognise it' }),
  scopes: Type.Array(ScopeName),
  created_at: Timestamp,
  expires_at: Timestamp,
  last_used_at: Type.Union([Timestamp, Type.Null()], { description: 'Kept to the minute' })
}

export const TokenView = Type.Object(tokenFields, { description: 'A personal access token (never its secret)' })

export const CreatedTokenView = Type.Object({
  ...tokenFields,
  token: Type.String({ description: 'The secret (`tfp_…`): shown only in this response, stored only as a hash' })
}, { description: 'A new personal access token with its secret' })

export const TokenList = Type.Object({ data: Type.Array(TokenView) })
export const TokenPage = Type.Object({ data: Type.Array(TokenView), next_cursor: Type.Union([Type.String(), Type.Null()]) })
export const TokenPageQuery = Type.Object({ limit: Limit, cursor: Type.Optional(Cursor) }, { additionalProperties: false })
export type TokenPageQuery = Static<typeof TokenPageQuery>
export const TokenParams = Type.Object({ id: Uuid })

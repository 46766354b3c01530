import Type, { type Static } from 'typebox'
import { Nullable, Page, PageQuery, StringEnum, Timestamp, Uuid } from '../../core/schemas.js'
import { SCOPES } from '../../core/scopes.js'
import { Password } from '../users/index.js'

export const ScopeName = StringEnum(SCOPES, {
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
  last_used_at: { ...Nullable(Timestamp), description: 'Kept to the minute' }
}

export const TokenView = Type.Object(tokenFields, { description: 'A personal access token (never its secret)' })

export const CreatedTokenView = Type.Object({
  ...tokenFields,
  token: Type.String({ description: 'The secret (`tfp_…`): shown only in this response, stored only as a hash' })
}, { description: 'A new personal access token with its secret' })

export const TokenList = Type.Object({ data: Type.Array(TokenView) })
export const TokenPage = Page(TokenView)
export const TokenPageQuery = Type.Object(PageQuery, { additionalProperties: false })
export type TokenPageQuery = Static<typeof TokenPageQuery>

import Type, { type Static } from 'typebox'
import { Nullable, Page, PageQuery, StringEnum, Timestamp, Uuid } from '../../core/schemas.js'
import { SCOPES } from '../../core/scopes.js'
import { Password } from '../users/index.js'
import { DISPLAY_PREFIX_LENGTH, PAT_LENGTH } from './token-format.js'

/** At most this many live (unrevoked, unexpired) tokens per user (API.md). */
export const MAX_LIVE_TOKENS = 50

export const ScopeName = StringEnum(SCOPES, {
  description: '`tasks:read` (GET /v1/tasks, GET /v1/tasks/{id}), `tasks:write` (POST /v1/tasks, PUT/PATCH/DELETE /v1/tasks/{id}), `profile:read` (GET /v1/users/me)'
})

export const CreateTokenBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100, description: 'What the token is for' }),
  scopes: Type.Array(ScopeName, { minItems: 1, maxItems: SCOPES.length, uniqueItems: true }),
  expires_in_days: Type.Optional(Type.Integer({ format: 'int32', minimum: 1, maximum: 365, default: 90, description: 'Lifetime in days (1–365, default 90)' })),
  current_password: Password
}, { additionalProperties: false })
export type CreateTokenBody = Static<typeof CreateTokenBody>

const tokenFields = {
  id: Uuid,
  name: Type.String({ maxLength: 100 }),
  token_prefix: Type.String({ maxLength: DISPLAY_PREFIX_LENGTH, description: 'The first 12 characters of the token, to recognise it' }),
  scopes: Type.Array(ScopeName, { maxItems: SCOPES.length }),
  created_at: Timestamp,
  expires_at: Timestamp,
  last_used_at: { ...Nullable(Timestamp), description: 'Kept to the minute' }
}

export const TokenView = Type.Object(tokenFields, { description: 'A personal access token (never its secret)' })

export const CreatedTokenView = Type.Object({
  ...tokenFields,
  token: Type.String({ maxLength: PAT_LENGTH, description: 'The secret (`tfp_…`): shown only in this response, stored only as a hash' })
}, { description: 'A new personal access token with its secret' })

export const TokenList = Type.Object({ data: Type.Array(TokenView, { maxItems: MAX_LIVE_TOKENS, description: `The live tokens (an account has at most ${MAX_LIVE_TOKENS})` }) })
export const TokenPage = Page(TokenView)
/** The OpenAPI components of the tokens module (names → the schemas the routes use). */
export const tokensComponents = { PersonalAccessToken: TokenView, CreatedPersonalAccessToken: CreatedTokenView, PersonalAccessTokenList: TokenList, PersonalAccessTokenPage: TokenPage }

export const TokenPageQuery = Type.Object(PageQuery, { additionalProperties: false })
export type TokenPageQuery = Static<typeof TokenPageQuery>

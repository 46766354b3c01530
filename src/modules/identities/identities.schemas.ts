import Type, { type Static } from 'typebox'
import { Nullable, Timestamp, Uuid } from '../../core/schemas.js'
import { Password } from '../users/index.js'
import { PROVIDERS } from './identities.table.js'

/** RFC 6749 `state`: VSCHAR (printable ASCII), handed back untouched. */
const AppState = Type.String({ minLength: 1, maxLength: 512, pattern: '^[\\x20-\\x7e]+$', description: 'Opaque value handed back untouched (RFC 6749 §4.1.1)' })
const AppRequestFields = {
  redirect_uri: Type.String({ minLength: 1, maxLength: 2048, description: 'One of OAUTH_REDIRECT_URIS, exactly' }),
  code_challenge: Type.String({ minLength: 1, maxLength: 256, description: 'RFC 7636 S256 challenge: 43–128 base64url characters' }),
  code_challenge_method: Type.Optional(Type.String({ maxLength: 16, description: 'Must be S256' })),
  state: Type.Optional(AppState)
}

export const ProviderParams = Type.Object({ provider: Type.String({ minLength: 1, maxLength: 32, description: PROVIDERS.join(' or ') }) })
export const AuthorizeQuery = Type.Object(AppRequestFields)

/** What the provider sends back (RFC 6749 §4.1.2 / §4.1.2.1); other parameters are ignored. */
export const CallbackQuery = Type.Object({
  code: Type.Optional(Type.String({ maxLength: 2048 })),
  state: Type.Optional(Type.String({ maxLength: 512 })),
  error: Type.Optional(Type.String({ maxLength: 256 })),
  error_description: Type.Optional(Type.String({ maxLength: 2048 }))
}, { additionalProperties: true })

export const LinkBody = Type.Object({
  provider: Type.String({ minLength: 1, maxLength: 32 }),
  ...AppRequestFields,
  current_password: Password
}, { additionalProperties: false })
export type LinkBody = Static<typeof LinkBody>

export const LinkView = Type.Object({ authorization_url: Type.String({ format: 'uri', maxLength: 8192, description: 'Send the browser here (step 2 of the sign-in flow, as a link flow)' }) })

export const IdentityView = Type.Object({
  id: Uuid,
  provider: Type.String({ maxLength: 32, description: PROVIDERS.join(' or ') }),
  email: { ...Nullable(Type.String({ maxLength: 320 })), description: 'The provider\'s email when linked (for display only)' },
  created_at: Timestamp
})
export const IdentityList = Type.Object({ data: Type.Array(IdentityView, { description: 'Every identity linked to the account (not paged)' }) })

/** This module's shapes in the OpenAPI document (`#/components/schemas/<name>`). */
export const identitiesComponents = { Identity: IdentityView, IdentityList }

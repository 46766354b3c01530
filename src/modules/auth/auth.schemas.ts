import Type, { type Static } from 'typebox'
import { IdParams, NullableText, Timestamp, Uuid } from '../../core/schemas.js'
import { DisplayName, Email, Password, Username, UserView } from '../users/index.js'

const RefreshToken = Type.String({ minLength: 1, maxLength: 4096 })

/** `POST /v1/auth/register`. */
export const RegisterBody = Type.Object({
  email: Email,
  password: Password,
  username: Type.Optional(Username),
  name: Type.Optional(DisplayName)
}, { additionalProperties: false })
export type RegisterBody = Static<typeof RegisterBody>

/** `POST /v1/auth/login`: exactly one of email or username (checked in the route), and the password. */
export const LoginBody = Type.Object({
  email: Type.Optional(Type.String({ minLength: 1, maxLength: 254 })),
  username: Type.Optional(Type.String({ minLength: 1, maxLength: 254 })),
  password: Password
}, { additionalProperties: false, description: 'Exactly one of email or username, and the password' })
export type LoginBody = Static<typeof LoginBody>

/** `POST /v1/auth/refresh`: the refresh token (opaque, up to 4096 characters). */
export const RefreshBody = Type.Object({ refresh_token: RefreshToken }, { additionalProperties: false })

/** RFC 6749 §5.1 members: a Bearer access token (JWT), its lifetime in seconds, and the opaque refresh token. */
const TokenPairFields = {
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the access token expires' }),
  refresh_token: Type.String()
}

/** The JSON auth routes' token response: the pair and the user. */
export const TokenResponse = Type.Object({ ...TokenPairFields, user: UserView })

/** RFC 6749 §5.1: no `user`. */
export const OAuthTokenResponse = Type.Object(TokenPairFields)

/** The token endpoint's form, as documented; parsing and errors follow RFC 6749 in code. */
export const TokenForm = Type.Object({
  grant_type: Type.Union([Type.Literal('password'), Type.Literal('refresh_token'), Type.Literal('urn:taskflow:params:oauth:grant-type:mfa-otp')]),
  username: Type.Optional(Type.String({ description: 'Email or username (password grant)' })),
  password: Type.Optional(Type.String({ description: 'Password (password grant)' })),
  refresh_token: Type.Optional(Type.String({ description: 'Refresh token (refresh_token grant)' })),
  mfa_token: Type.Optional(Type.String({ description: 'The mfa_token of the mfa_required answer (mfa-otp grant)' })),
  otp: Type.Optional(Type.String({ description: 'A TOTP code (mfa-otp grant; or recovery_code)' })),
  recovery_code: Type.Optional(Type.String({ description: 'A recovery code (mfa-otp grant; or otp)' })),
  client_id: Type.Optional(Type.String({ description: 'Accepted and ignored: clients are public' })),
  client_secret: Type.Optional(Type.String({ description: 'Accepted and ignored' })),
  scope: Type.Optional(Type.String({ description: 'Accepted and ignored: TaskFlow has no scopes' }))
})

/** A live session of the caller; `current` marks the one of this access token. */
export const SessionView = Type.Object({
  id: Uuid,
  created_at: Timestamp,
  last_used_at: Timestamp,
  expires_at: Timestamp,
  ip: NullableText,
  user_agent: NullableText,
  current: Type.Boolean()
})
/** `GET /v1/auth/sessions`. */
export const SessionList = Type.Object({ data: Type.Array(SessionView) })
/** `{ id }` of a session. */
export const SessionParams = IdParams

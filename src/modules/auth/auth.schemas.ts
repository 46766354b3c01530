import Type, { type Static } from 'typebox'
import { IdParams, Nullable, Timestamp, Uuid } from '../../core/schemas.js'
import { DisplayName, Email, Password, USER_EXAMPLE, Username, UserView } from '../users/index.js'

const RefreshToken = Type.String({ minLength: 1, maxLength: 4096 })

/** `POST /v1/auth/register`. */
export const RegisterBody = Type.Object({
  email: Email,
  password: Password,
  username: Type.Optional(Username),
  name: Type.Optional(DisplayName)
}, { additionalProperties: false, examples: [{ email: 'ada@example.com', password: 'correct horse battery staple', username: 'ada', name: 'Ada Lovelace' }] })
export type RegisterBody = Static<typeof RegisterBody>

/** `POST /v1/auth/login`: exactly one of email or username (checked in the route), and the password. */
export const LoginBody = Type.Object({
  email: Type.Optional(Type.String({ minLength: 1, maxLength: 254 })),
  username: Type.Optional(Type.String({ minLength: 1, maxLength: 254 })),
  password: Password
}, { additionalProperties: false, description: 'Exactly one of email or username, and the password', examples: [{ email: 'ada@example.com', password: 'correct horse battery staple' }] })
export type LoginBody = Static<typeof LoginBody>

/** `POST /v1/auth/refresh`: the refresh token (opaque, up to 4096 characters). */
export const RefreshBody = Type.Object({ refresh_token: RefreshToken }, { additionalProperties: false, examples: [{ refresh_token: 'Vx3v0dJ6cU9Y2n1qk4yQm8rT5wA7zB0eL2gH6jK9pN4' }] })

/** RFC 6749 §5.1 members: a Bearer access token (JWT), its lifetime in seconds, and the opaque refresh token. */
const TokenPairFields = {
  access_token: Type.String({ maxLength: 4096, description: 'A JWT (typ at+jwt)' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ format: 'int32', minimum: 1, maximum: 2147483647, description: 'Seconds until the access token expires' }),
  refresh_token: Type.String({ maxLength: 512, description: 'Opaque, single use' })
}
const PAIR_EXAMPLE = { access_token: 'eyJhbGciOiJFZERTQSIsImtpZCI6IjIwMjYtMTEiLCJ0eXAiOiJhdCtqd3QifQ.eyJzdWIiOiIwMTkzYTVlNCJ9.c2lnbmF0dXJl', token_type: 'Bearer', expires_in: 900, refresh_token: 'Vx3v0dJ6cU9Y2n1qk4yQm8rT5wA7zB0eL2gH6jK9pN4' }

/** The JSON auth routes' token response: the pair and the user. */
export const TokenResponse = Type.Object({ ...TokenPairFields, user: UserView }, {
  description: 'Tokens and the user',
  examples: [{ ...PAIR_EXAMPLE, user: USER_EXAMPLE }]
})

/** 201 of register: the token response, or only `{ user }` when REQUIRE_EMAIL_VERIFICATION holds the session back. */
export const RegisterResponse = Type.Union([TokenResponse, Type.Object({ user: UserView })], {
  description: 'Tokens and the user; only the user when REQUIRE_EMAIL_VERIFICATION is on (sign in once the email is verified)',
  examples: [{ ...PAIR_EXAMPLE, user: USER_EXAMPLE }]
})

/** RFC 6749 §5.1: no `user`. */
export const OAuthTokenResponse = Type.Object(TokenPairFields, { description: 'RFC 6749 §5.1 access token response', examples: [PAIR_EXAMPLE] })

/** The token endpoint's form, as documented; parsing and errors follow RFC 6749 in code. */
export const TokenForm = Type.Object({
  grant_type: Type.Union([Type.Literal('password'), Type.Literal('refresh_token'), Type.Literal('urn:taskflow:params:oauth:grant-type:mfa-otp')]),
  username: Type.Optional(Type.String({ maxLength: 254, description: 'Email or username (password grant)' })),
  password: Type.Optional(Type.String({ maxLength: 512, description: 'Password (password grant)' })),
  refresh_token: Type.Optional(Type.String({ maxLength: 4096, description: 'Refresh token (refresh_token grant)' })),
  mfa_token: Type.Optional(Type.String({ maxLength: 512, description: 'The mfa_token of the mfa_required answer (mfa-otp grant)' })),
  otp: Type.Optional(Type.String({ maxLength: 16, description: 'A TOTP code (mfa-otp grant; or recovery_code)' })),
  recovery_code: Type.Optional(Type.String({ maxLength: 64, description: 'A recovery code (mfa-otp grant; or otp)' })),
  client_id: Type.Optional(Type.String({ maxLength: 255, description: 'Accepted and ignored: clients are public' })),
  client_secret: Type.Optional(Type.String({ maxLength: 255, description: 'Accepted and ignored' })),
  scope: Type.Optional(Type.String({ maxLength: 1000, description: 'Accepted and ignored: TaskFlow has no scopes' }))
}, { examples: [{ grant_type: 'password', username: 'ada@example.com', password: 'correct horse battery staple' }] })

/** A live session of the caller; `current` marks the one of this access token. */
export const SessionView = Type.Object({
  id: Uuid,
  created_at: Timestamp,
  last_used_at: Timestamp,
  expires_at: Timestamp,
  ip: Nullable(Type.String({ maxLength: 64 })),
  user_agent: Nullable(Type.String({ maxLength: 512 })),
  current: Type.Boolean()
})
/** `GET /v1/auth/sessions`. */
export const SessionList = Type.Object({ data: Type.Array(SessionView) })
/** `{ id }` of a session. */
export const SessionParams = IdParams

/** This module's shapes in the OpenAPI document (`#/components/schemas/<name>`). */
export const authComponents = { TokenResponse, OAuthTokenResponse, Session: SessionView, SessionList }

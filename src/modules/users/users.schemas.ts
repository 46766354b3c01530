import Type, { type Static } from 'typebox'
import { NullableText, RoleSchema, Timestamp, Uuid } from '../../core/schemas.js'

/** Login email: stored lower-cased, unique case-insensitively (API.md Identity). */
export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254, description: 'Stored lower-cased; unique case-insensitively' })
/** 3–32 of `[A-Za-z0-9_.-]`, unique case-insensitively. */
export const Username = Type.String({ minLength: 3, maxLength: 32, pattern: '^[A-Za-z0-9_.-]+$', description: 'Unique case-insensitively' })
/** Display name, 1–100 characters. */
export const DisplayName = Type.String({ minLength: 1, maxLength: 100 })
/** Length is checked in code points by the policy; 512 UTF-16 units bounds the work before it runs. */
export const Password = Type.String({ minLength: 1, maxLength: 512, description: 'See the password policy: 8–128 characters, not a common password' })

/** The user object of API.md (never a password or hash: the serializer drops what is not named here). */
export const UserView = Type.Object({
  id: Uuid,
  email: Type.String(),
  username: NullableText,
  name: NullableText,
  role: RoleSchema,
  is_active: Type.Boolean(),
  email_verified: Type.Boolean(),
  mfa_enabled: Type.Boolean(),
  created_at: Timestamp,
  updated_at: Timestamp
}, { description: 'A user account (never contains a password or hash)' })
export type UserView = Static<typeof UserView>

/** `PATCH /v1/users/me`. */
export const UpdateMeBody = Type.Object({
  name: Type.Optional(DisplayName),
  username: Type.Optional(Username)
}, { additionalProperties: false })
export type UpdateMeBody = Static<typeof UpdateMeBody>

/** `PUT /v1/users/me/password`. */
export const ChangePasswordBody = Type.Object({
  current_password: Password,
  new_password: Password
}, { additionalProperties: false })
export type ChangePasswordBody = Static<typeof ChangePasswordBody>

/** `DELETE /v1/users/me`: the password confirms. */
export const DeleteMeBody = Type.Object({ password: Password }, { additionalProperties: false })
export type DeleteMeBody = Static<typeof DeleteMeBody>

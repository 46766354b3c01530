import Type, { type Static } from 'typebox'
import { UUID_PATTERN } from '../../core/ids.js'
import { Timestamp } from '../../core/http/openapi.js'

export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254, description: 'Stored lower-cased; unique case-insensitively' })
export const Username = Type.String({ minLength: 3, maxLength: 32, pattern: '^[A-Za-z0-9_.-]+$', description: 'Unique case-insensitively' })
export const DisplayName = Type.String({ minLength: 1, maxLength: 100 })
/** Length is checked in code points by the policy; 512 UTF-16 units bounds the work before it runs. */
export const Password = Type.String({ minLength: 1, maxLength: 512, description: 'See the password policy: 8–128 characters, not a common password' })
export const Uuid = Type.String({ pattern: UUID_PATTERN, format: 'uuid' })

export const UserView = Type.Object({
  id: Uuid,
  email: Type.String(),
  username: Type.Union([Type.String(), Type.Null()]),
  name: Type.Union([Type.String(), Type.Null()]),
  role: Type.Union([Type.Literal('user'), Type.Literal('admin')]),
  is_active: Type.Boolean(),
  email_verified: Type.Boolean(),
  mfa_enabled: Type.Boolean(),
  created_at: Timestamp,
  updated_at: Timestamp
}, { description: 'A user account (never contains a password or hash)' })
export type UserView = Static<typeof UserView>

export const UpdateMeBody = Type.Object({
  name: Type.Optional(DisplayName),
  username: Type.Optional(Username)
}, { additionalProperties: false })
export type UpdateMeBody = Static<typeof UpdateMeBody>

export const ChangePasswordBody = Type.Object({
  current_password: Password,
  new_password: Password
}, { additionalProperties: false })
export type ChangePasswordBody = Static<typeof ChangePasswordBody>

export const DeleteMeBody = Type.Object({ password: Password }, { additionalProperties: false })
export type DeleteMeBody = Static<typeof DeleteMeBody>

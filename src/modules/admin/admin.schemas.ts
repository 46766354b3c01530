import Type, { type Static } from 'typebox'
import { Page, PageQuery, RoleSchema, Uuid } from '../../core/schemas.js'
import { TaskFilters } from '../tasks/index.js'
import { UserView } from '../users/index.js'

export const AdminUserQuery = Type.Object({
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Substring of email, username or name' })),
  role: Type.Optional(RoleSchema),
  is_active: Type.Optional(Type.Boolean()),
  ...PageQuery
}, { additionalProperties: false })
export type AdminUserQuery = Static<typeof AdminUserQuery>

export const AdminUserPatch = Type.Object({
  role: Type.Optional(RoleSchema),
  is_active: Type.Optional(Type.Boolean())
}, { additionalProperties: false, minProperties: 1 })
export type AdminUserPatch = Static<typeof AdminUserPatch>

export const AdminTaskQuery = Type.Object({ ...TaskFilters, owner_id: Type.Optional(Uuid) }, { additionalProperties: false })
export type AdminTaskQuery = Static<typeof AdminTaskQuery>

export const UserPage = Page(UserView)

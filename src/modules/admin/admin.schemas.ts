import Type, { type Static } from 'typebox'
import { Page, PageQuery, RoleSchema, Uuid } from '../../core/schemas.js'
import { TaskFilters } from '../tasks/index.js'
import { UserView } from '../users/index.js'

/** `GET /v1/admin/users` query: q (substring of email, username, name), role, is_active, paging. */
export const AdminUserQuery = Type.Object({
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Substring of email, username or name' })),
  role: Type.Optional(RoleSchema),
  is_active: Type.Optional(Type.Boolean()),
  ...PageQuery
}, { additionalProperties: false })
export type AdminUserQuery = Static<typeof AdminUserQuery>

/** `PATCH /v1/admin/users/{id}`: role and/or is_active (at least one). */
export const AdminUserPatch = Type.Object({
  role: Type.Optional(RoleSchema),
  is_active: Type.Optional(Type.Boolean())
}, { additionalProperties: false, minProperties: 1 })
export type AdminUserPatch = Static<typeof AdminUserPatch>

/** `GET /v1/admin/tasks` query: the task filters plus owner_id. */
export const AdminTaskQuery = Type.Object({ ...TaskFilters, owner_id: Type.Optional(Uuid) }, { additionalProperties: false })
export type AdminTaskQuery = Static<typeof AdminTaskQuery>

/** A page of users. */
export const UserPage = Page(UserView)

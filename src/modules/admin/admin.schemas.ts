import Type, { type Static } from 'typebox'
import { UUID_PATTERN } from '../../core/ids.js'
import { Cursor, Limit } from '../../core/pagination.js'
import { TaskFilters } from '../tasks/index.js'
import { UserView } from '../users/index.js'

const Id = Type.String({ pattern: UUID_PATTERN, format: 'uuid' })
const Role = Type.Union([Type.Literal('user'), Type.Literal('admin')])

export const AdminUserQuery = Type.Object({
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Substring of email, username or name' })),
  role: Type.Optional(Role),
  is_active: Type.Optional(Type.Boolean()),
  limit: Limit,
  cursor: Type.Optional(Cursor)
}, { additionalProperties: false })
export type AdminUserQuery = Static<typeof AdminUserQuery>

export const AdminUserPatch = Type.Object({
  role: Type.Optional(Role),
  is_active: Type.Optional(Type.Boolean())
}, { additionalProperties: false, minProperties: 1 })
export type AdminUserPatch = Static<typeof AdminUserPatch>

export const AdminTaskQuery = Type.Object({ ...TaskFilters, owner_id: Type.Optional(Id) }, { additionalProperties: false })
export type AdminTaskQuery = Static<typeof AdminTaskQuery>

export const IdParams = Type.Object({ id: Id })
export const TokenIdParams = Type.Object({ id: Id, token_id: Id })
export const UserPage = Type.Object({ data: Type.Array(UserView), next_cursor: Type.Union([Type.String(), Type.Null()]) })

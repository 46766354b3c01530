import Type, { type Static } from 'typebox'
import { Timestamp } from '../../core/http/openapi.js'
import { UUID_PATTERN } from '../../core/ids.js'
import { Cursor, Limit } from '../../core/pagination.js'
import { AUDIT_EVENT_TYPES } from './audit.service.js'

const Id = Type.String({ pattern: UUID_PATTERN, format: 'uuid' })
const NullableId = Type.Union([Id, Type.Null()])

export const AuditEventView = Type.Object({
  id: Id,
  type: Type.String(),
  created_at: Timestamp,
  actor_id: NullableId,
  user_id: NullableId,
  ip: Type.Union([Type.String(), Type.Null()]),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown())
})

export const AuditQuery = Type.Object({
  type: Type.Optional(Type.String({ enum: [...AUDIT_EVENT_TYPES] })),
  user_id: Type.Optional(Id),
  since: Type.Optional(Type.String({ format: 'date-time' })),
  limit: Limit,
  cursor: Type.Optional(Cursor)
}, { additionalProperties: false })
export type AuditQuery = Static<typeof AuditQuery>

export const AuditPage = Type.Object({ data: Type.Array(AuditEventView), next_cursor: Type.Union([Type.String(), Type.Null()]) })

export const AuditVerifyResult = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer({ minimum: 0 }),
  first_invalid_id: NullableId
})

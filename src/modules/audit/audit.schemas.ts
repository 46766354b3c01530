import Type, { type Static } from 'typebox'
import { Nullable, NullableText, Page, PageQuery, StringEnum, Timestamp, TimestampInput, Uuid } from '../../core/schemas.js'
import { AUDIT_EVENT_TYPES } from './audit.service.js'

/** One audit event as the admin API shows it. */
export const AuditEventView = Type.Object({
  id: Uuid,
  type: Type.String(),
  created_at: Timestamp,
  actor_id: Nullable(Uuid),
  user_id: Nullable(Uuid),
  ip: NullableText,
  user_agent: NullableText,
  details: Type.Record(Type.String(), Type.Unknown())
})

/** `GET /v1/admin/audit-events` query: type, user_id, since (RFC 3339), paging. */
export const AuditQuery = Type.Object({
  type: Type.Optional(StringEnum(AUDIT_EVENT_TYPES)),
  user_id: Type.Optional(Uuid),
  since: Type.Optional(TimestampInput),
  ...PageQuery
}, { additionalProperties: false })
export type AuditQuery = Static<typeof AuditQuery>

/** A page of audit events, newest first. */
export const AuditPage = Page(AuditEventView)

import Type, { type Static } from 'typebox'
import { Nullable, Page, PageQuery, StringEnum, Timestamp, TimestampInput, Uuid } from '../../core/schemas.js'
import { AUDIT_EVENT_TYPES } from './audit.service.js'

/** One audit event as the admin API shows it. */
export const AuditEventView = Type.Object({
  id: Uuid,
  type: Type.String({ maxLength: 64, description: 'An audit event type (API.md "Audit and metrics")' }),
  created_at: Timestamp,
  actor_id: Nullable(Uuid),
  user_id: Nullable(Uuid),
  ip: Nullable(Type.String({ maxLength: 64 })),
  user_agent: Nullable(Type.String({ maxLength: 512 })),
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

/** The result of checking the audit hash chain. */
export const AuditVerifyResult = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer({ format: 'int32', minimum: 0, maximum: 2147483647, description: 'Events checked' }),
  first_invalid_id: Nullable(Uuid)
}, { description: 'Audit hash-chain verification' })

/** This module's shapes in the OpenAPI document (`#/components/schemas/<name>`). */
export const auditComponents = { AuditEvent: AuditEventView, AuditEventPage: AuditPage, AuditVerifyResult }

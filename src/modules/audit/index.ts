export { createAuditService, AUDIT_EVENT_TYPES, type AuditService, type AuditEvent, type AuditEventType, type AuditListQuery } from './audit.service.js'
export { AuditQuery, AuditPage, auditComponents } from './audit.schemas.js'

export { auditDetailsJson, auditInsertSql, createAuditService, AUDIT_EVENT_TYPES, type AuditInsertColumns, type AuditService, type AuditEvent, type AuditEventType, type AuditListQuery } from './audit.service.js'
export { AuditQuery, AuditPage, AuditVerifyResult, auditComponents } from './audit.schemas.js'
export { auditRetentionRule, createAuditChain, type AuditChain, type VerifyResult } from './chain.js'

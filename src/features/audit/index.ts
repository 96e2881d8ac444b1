export { auditPermissions } from './audit.rules.js';
import './audit.schema.js';
export { auditRow, recordAudit, type AuditEntry } from './audit.service.js';
export type { AuditRow } from './audit.repository.js';

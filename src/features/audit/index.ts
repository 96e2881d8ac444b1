export { auditPermissions } from './audit.rules.js';
import './audit.schema.js';
export { recordAudit, type AuditEntry } from './audit.service.js';

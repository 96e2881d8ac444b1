export { secretChangesPermissions } from './secret-changes.rules.js';
import './secret-changes.schema.js';
export { SecretChangeLog, withSecretChanges, type ChangeNote, type SecretChange } from './secret-changes.service.js';
export { emitExpiryWarnings } from './expiry-warnings.js';
export { NotificationWorker, SIGNATURE_HEADER, signatureHeader } from './notification-worker.js';
export { notificationEndpointRows } from './secret-changes.repository.js';

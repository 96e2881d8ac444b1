export { credentialsPermissions } from './credentials.rules.js';
import './credentials.schema.js';
export { createApiKey, ensureBootstrapAdmin, issueToken, revokeApiKey, type BootstrapResult } from './credentials.service.js';

export { AuthService, type CredentialHeaders } from './auth.service.js';
export { loadServerKeys, deriveServerKeys, type ServerKeys } from './server-secret.js';
export { generateApiKey, parseApiKey } from './api-keys.js';
export { isAdminViewer, type Viewer } from './viewer.js';

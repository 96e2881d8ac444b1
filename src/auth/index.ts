export { generateApiKey, hashApiKey, apiKeyMatches, parseApiKey } from './api-keys.js';
export { announcePrincipalChange, Authenticator, type CredentialHeaders } from './authenticator.js';
export { parsePrincipalChange, type PrincipalChange } from './principal-cache.js';
export { requiresAdmin, signedIn } from './rules.js';
export { deriveServerKeys, loadServerKeys, type ServerKeys } from './server-secret.js';
export { signToken } from './tokens.js';
export { actorOf, isAdmin, requireViewer, SYSTEM_ACTOR, type Actor, type Viewer } from './viewer.js';

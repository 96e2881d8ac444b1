export { generateApiKey, hashApiKey, apiKeyMatches, parseApiKey } from './api-keys.js';
export { announcePrincipalChange, Authenticator, type CredentialHeaders } from './authenticator.js';
export { parsePrincipalChange, principalChangeConcerns, type PrincipalChange } from './principal-cache.js';
export { addressAllowed, machineCan, machineMay, parseCidr } from './machine.js';
export { requiresAdmin, signedIn } from './rules.js';
export { deriveServerKeys, loadServerKeys, type ServerKeys } from './server-secret.js';
export { signToken } from './tokens.js';
export {
  actorOf,
  isAdmin,
  isMachine,
  requireAnyViewer,
  requireViewer,
  SYSTEM_ACTOR,
  userIdOf,
  type Actor,
  type MachineViewer,
  type UserViewer,
  type Viewer,
} from './viewer.js';

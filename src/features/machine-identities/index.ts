export { machineIdentitiesPermissions } from './machine-identities.rules.js';
import './machine-identities.schema.js';
export {
  announceGrantChanges,
  createMachineIdentity,
  createMachineIdentityApiKey,
  followEnvironmentDeletion,
  followEnvironmentRename,
} from './machine-identities.service.js';

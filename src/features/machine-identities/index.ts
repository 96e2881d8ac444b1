export { machineIdentitiesPermissions } from './machine-identities.rules.js';
import './machine-identities.schema.js';
export { createMachineIdentity, createMachineIdentityApiKey } from './machine-identities.service.js';

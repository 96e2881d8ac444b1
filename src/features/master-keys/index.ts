export { masterKeysPermissions } from './master-keys.rules.js';
import './master-keys.schema.js';
export { purgeRetiredMasterKeys, rotateMasterKey, rotateRootKey } from './master-keys.service.js';

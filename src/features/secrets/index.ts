export { secretsPermissions } from './secrets.rules.js';
import './secrets.schema.js';
export { startExpirySweeper } from './expiry-sweeper.js';
export { secretVersionRows } from './secrets.repository.js';
export { secretsInEnvironment } from './secrets.repository.js';
export { ENVIRONMENT_NAME } from './secrets.scope.js';

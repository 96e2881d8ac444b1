export { secretsPermissions } from './secrets.rules.js';
import './secrets.schema.js';
export { startExpirySweeper } from './expiry-sweeper.js';
export { secretVersionRows } from './secrets.repository.js';

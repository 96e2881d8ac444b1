export { environmentsPermissions } from './environments.rules.js';
import './environments.schema.js';

export { UserRef } from './users.schema.js';
export { usersPermissions } from './users.rules.js';
export { createUser, findUser, firstAdmin, hasActiveAdmin } from './users.service.js';

export { UserRef } from './users.schema.js';
export { usersPermissions } from './users.rules.js';
export { createUser, deleteUser, findUser, firstAdmin, hasActiveAdmin, setUserDisabled, setUserRole } from './users.service.js';

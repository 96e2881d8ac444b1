export { UserRef } from './users.schema.js';
export { usersPermissions } from './users.rules.js';
export { createUser, deleteUser, findUser, firstAdmin, setUserDisabled, setUserRole } from './users.service.js';

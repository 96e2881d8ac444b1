export { ProjectRef } from './projects.schema.js';
export {
  assertProjectAccess,
  assertProjectAccessFor,
  isProjectOwner,
  isProjectOwnerOrMachineWith,
  ownerOfProjectOf,
  projectAccess,
  projectAccessFor,
  projectsPermissions,
  subscriberOwnsProject,
  subscriberOwnsProjectOrMachineWith,
} from './projects.rules.js';
export { projectEventsTopic, type ProjectEvent } from './projects.service.js';

export { ProjectRef } from './projects.schema.js';
export { assertProjectAccess, isProjectOwner, projectAccess, projectsPermissions, subscriberOwnsProject } from './projects.rules.js';
export { projectEventsTopic, type ProjectEvent } from './projects.service.js';

export { ProjectRef } from './projects.schema.js';
export { assertProjectAccess, isProjectOwner, projectAccess, projectsPermissions, subscriberOwnsProject } from './projects.rules.js';
export { projectEventsTopic, projectExists, type ProjectEvent } from './projects.service.js';

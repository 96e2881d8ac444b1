import type { FeaturePermissions } from '../../graphql/permissions.js';
import { isProjectOwner } from '../projects/index.js';

/** Environments are managed by the project's owner and admins. */
export const environmentsPermissions: FeaturePermissions = {
  Mutation: { createEnvironment: isProjectOwner, renameEnvironment: isProjectOwner, deleteEnvironment: isProjectOwner },
};

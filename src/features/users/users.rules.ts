import { requiresAdmin, signedIn } from '../../auth/index.js';
import type { FeaturePermissions } from '../../graphql/permissions.js';

export const usersPermissions: FeaturePermissions = {
  Query: { me: signedIn, users: requiresAdmin },
  Mutation: { createUser: requiresAdmin },
};

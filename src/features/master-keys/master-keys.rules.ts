import { requiresAdmin } from '../../auth/index.js';
import type { FeaturePermissions } from '../../graphql/permissions.js';

export const masterKeysPermissions: FeaturePermissions = {
  Query: { masterKeys: requiresAdmin },
  Mutation: { rotateMasterKey: requiresAdmin, purgeRetiredMasterKeys: requiresAdmin, rotateRootKey: requiresAdmin },
};

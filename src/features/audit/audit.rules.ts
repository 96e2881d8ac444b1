import { requiresAdmin } from '../../auth/index.js';
import type { FeaturePermissions } from '../../graphql/permissions.js';

export const auditPermissions: FeaturePermissions = { Query: { auditEvents: requiresAdmin } };

import { isAdmin, requiresAdmin, type Viewer } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import type { FeaturePermissions } from '../../graphql/permissions.js';
import * as auditRepository from './audit.repository.js';

/** For node(id:): as `auditEvents`, admins only. */
export async function visibleAuditEvents(ctx: { viewer: Viewer | null; db: Database }, ids: string[]) {
  return ctx.viewer && isAdmin(ctx.viewer) ? auditRepository.auditEventsByIds(ctx.db.prisma, ids) : [];
}

export const auditPermissions: FeaturePermissions = { Query: { auditEvents: requiresAdmin } };

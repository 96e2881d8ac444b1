import { keysetOrder, keysetWhere, type PagePlan } from '../../db/pagination.js';
import type { AuditOutcome, SecretScope } from '../../generated/prisma/enums.js';
import type { Prisma, PrismaClient } from '../../generated/prisma/client.js';

type Db = PrismaClient | Prisma.TransactionClient;

export interface AuditRow {
  actorId: string | null;
  actorMachineIdentityId: string | null;
  actorVia: string;
  action: string;
  outcome: AuditOutcome;
  targetType: string;
  targetId: string | null;
  targetName: string | null;
  scope: SecretScope | null;
  scopeOwnerId: string | null;
  environment: string | null;
  reason: string | null;
  requestId: string | null;
  clientAddress: string | null;
}

export const insertAuditEvent = (db: Db, row: AuditRow) => db.auditEvent.create({ data: row });

export interface AuditFilter {
  action?: string | null;
  actorId?: string | null;
  actorMachineIdentityId?: string | null;
  targetName?: string | null;
  outcome?: AuditOutcome | null;
  since?: Date | null;
  until?: Date | null;
}

const auditWhere = (filter: AuditFilter) => ({
  ...(filter.action ? { action: filter.action } : {}),
  ...(filter.actorId ? { actorId: filter.actorId } : {}),
  ...(filter.actorMachineIdentityId ? { actorMachineIdentityId: filter.actorMachineIdentityId } : {}),
  ...(filter.targetName ? { targetName: filter.targetName } : {}),
  ...(filter.outcome ? { outcome: filter.outcome } : {}),
  at: { ...(filter.since ? { gte: filter.since } : {}), ...(filter.until ? { lt: filter.until } : {}) },
});

export const countAuditEvents = (db: Db, filter: AuditFilter) => db.auditEvent.count({ where: auditWhere(filter) });

/** Newest first by (at, id). */
export const listAuditEvents = (db: Db, filter: AuditFilter, plan: PagePlan) =>
  db.auditEvent.findMany({
    // AND, not a spread: the cursor's bound on `at` must not replace the filter's time range.
    where: { AND: [auditWhere(filter), keysetWhere(plan, 'at')] },
    orderBy: keysetOrder(plan, 'at'),
    take: plan.take,
  });

export const auditEventsByIds = (db: Db, ids: string[]) => db.auditEvent.findMany({ where: { id: { in: ids } } });

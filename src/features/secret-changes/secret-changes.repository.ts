import type { AssociatedData } from '../../crypto/index.js';
import type { NotificationDeliveryStatus, SecretChangeKind } from '../../generated/prisma/enums.js';
import type { NotificationDelivery, NotificationEndpoint, Prisma, PrismaClient, SecretChangeEvent } from '../../generated/prisma/client.js';
import { keyIdQueries, rewrapEach, type SealedRows } from '../../keyring/index.js';

/** Every statement on the change stream's tables: events, counters, expiry warnings, endpoints and the delivery outbox. */

type Db = PrismaClient | Prisma.TransactionClient;
type Tx = Prisma.TransactionClient;

/**
 * The project's next sequence number. The counter row stays locked until `tx` ends, so writers of
 * one project take numbers one after another, and a rolled-back write gives its number back.
 */
export async function nextSequence(tx: Tx, projectId: string): Promise<number> {
  const rows = await tx.$queryRaw<Array<{ last_sequence: number }>>`
    INSERT INTO secret_change_counters (project_id, last_sequence) VALUES (${projectId}::uuid, 1)
    ON CONFLICT (project_id) DO UPDATE SET last_sequence = secret_change_counters.last_sequence + 1
    RETURNING last_sequence`;
  return Number(rows[0]!.last_sequence);
}

export const lastSequence = async (db: Db, projectId: string): Promise<number> =>
  (await db.secretChangeCounter.findUnique({ where: { projectId }, select: { lastSequence: true } }))?.lastSequence ?? 0;

export interface EventRow {
  projectId: string;
  sequence: number;
  kind: SecretChangeKind;
  secretId: string;
  name: string;
  environment: string | null;
  version: number | null;
  actorId: string | null;
  actorVia: string;
  at: Date;
}

export const insertEvent = (tx: Tx, row: EventRow) => tx.secretChangeEvent.create({ data: row });

/** Queues the event for every enabled endpoint of its project (the outbox, written with the event). */
export const queueDeliveries = (tx: Tx, projectId: string, sequence: number, now: Date) => tx.$executeRaw`
  INSERT INTO notification_deliveries (id, endpoint_id, project_id, sequence, status, attempts, next_attempt_at, created_at)
  SELECT gen_random_uuid(), id, project_id, ${sequence}, 'PENDING', 0, ${now}, ${now}
  FROM notification_endpoints WHERE project_id = ${projectId}::uuid AND disabled_at IS NULL`;

/** Stored events after `afterSequence`, in order. */
export const eventsAfter = (db: Db, projectId: string, afterSequence: number, limit: number): Promise<SecretChangeEvent[]> =>
  db.secretChangeEvent.findMany({ where: { projectId, sequence: { gt: afterSequence } }, orderBy: { sequence: 'asc' }, take: limit });

/** Project secrets whose expiry is within the warning time and not warned about yet. */
export const secretsToWarn = (db: Db, now: Date, until: Date, limit: number) =>
  db.$queryRaw<Array<{ id: string; owner_id: string; environment_id: string; name: string; current_version: number; expires_at: Date }>>`
    SELECT s.id, s.owner_id, s.environment_id, s.name, s.current_version, s.expires_at FROM secrets s
    WHERE s.scope = 'PROJECT' AND s.deleted_at IS NULL AND s.expires_at > ${now} AND s.expires_at <= ${until}
      AND NOT EXISTS (SELECT 1 FROM secret_expiry_warnings w WHERE w.secret_id = s.id AND w.expires_at = s.expires_at)
    ORDER BY s.expires_at LIMIT ${limit}`;

/** True when this process claimed the warning (another replica may have been first). */
export const claimExpiryWarning = async (tx: Tx, secretId: string, expiresAt: Date) =>
  (await tx.$executeRaw`
    INSERT INTO secret_expiry_warnings (secret_id, expires_at) VALUES (${secretId}::uuid, ${expiresAt})
    ON CONFLICT DO NOTHING`) > 0;

// --- Notification endpoints ---

export const endpointAad = (endpoint: Pick<NotificationEndpoint, 'id' | 'projectId'>): AssociatedData => ({
  table: 'notification_endpoints',
  endpointId: endpoint.id,
  projectId: endpoint.projectId,
});

export const insertEndpoint = (tx: Tx, row: Prisma.NotificationEndpointUncheckedCreateInput) =>
  tx.notificationEndpoint.create({ data: row });

export const findEndpoint = (db: Db, id: string) => db.notificationEndpoint.findUnique({ where: { id } });

export const listEndpoints = (db: Db, projectId: string) =>
  db.notificationEndpoint.findMany({ where: { projectId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });

export const deleteEndpoint = (tx: Tx, id: string) => tx.notificationEndpoint.delete({ where: { id } });

export const setEndpointDisabled = (tx: Tx, id: string, disabledAt: Date | null) =>
  tx.notificationEndpoint.update({ where: { id }, data: { disabledAt } });

export const projectOfEndpoint = async (db: Db, id: string) =>
  (await db.notificationEndpoint.findUnique({ where: { id }, select: { projectId: true } }))?.projectId ?? null;

export const projectOfDelivery = async (db: Db, id: string) =>
  (await db.notificationDelivery.findUnique({ where: { id }, select: { projectId: true } }))?.projectId ?? null;

// --- Deliveries (the outbox) ---

export type DeliveryWithEvent = NotificationDelivery & { event: SecretChangeEvent };

export const listDeliveries = (db: Db, endpointId: string, status: NotificationDeliveryStatus | null, first: number) =>
  db.notificationDelivery.findMany({
    where: { endpointId, ...(status ? { status } : {}) },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: first,
    include: { event: true },
  });

export const findDelivery = (db: Db, id: string) => db.notificationDelivery.findUnique({ where: { id }, include: { event: true } });

/** Makes a delivery due at once, whatever became of it before; a delivery in flight (leased) keeps its lease. */
export const requeueDelivery = (tx: Tx, id: string, now: Date) =>
  tx.notificationDelivery.update({
    where: { id },
    include: { event: true },
    data: { status: 'PENDING', nextAttemptAt: now, attempts: 0, deliveredAt: null },
  });

/**
 * Takes up to `limit` due deliveries for `leaseMs`: rows other workers hold are skipped (SKIP
 * LOCKED), and a lease that ran out (its worker died mid-delivery) makes the row due again.
 */
export async function claimDueDeliveries(prisma: PrismaClient, now: Date, leaseMs: number, limit: number) {
  const leaseUntil = new Date(now.getTime() + leaseMs);
  const rows = await prisma.$queryRaw<Array<{ id: string }>>`
    UPDATE notification_deliveries SET lease_until = ${leaseUntil}, attempts = attempts + 1, last_attempt_at = ${now}
    WHERE id IN (
      SELECT d.id FROM notification_deliveries d JOIN notification_endpoints e ON e.id = d.endpoint_id
      WHERE d.status = 'PENDING' AND d.next_attempt_at <= ${now} AND (d.lease_until IS NULL OR d.lease_until <= ${now})
        AND e.disabled_at IS NULL
      ORDER BY d.next_attempt_at, d.sequence LIMIT ${limit}
      FOR UPDATE OF d SKIP LOCKED)
    RETURNING id`;
  if (rows.length === 0) return [];
  return prisma.notificationDelivery.findMany({
    where: { id: { in: rows.map((row) => row.id) } },
    include: { event: true, endpoint: true },
    orderBy: { sequence: 'asc' },
  });
}

/** Records an attempt's outcome, unless the lease was lost meanwhile (another worker owns the row now). */
export const finishAttempt = (
  prisma: PrismaClient,
  { id, leaseUntil }: { id: string; leaseUntil: Date | null },
  data: Prisma.NotificationDeliveryUpdateManyMutationInput,
) => prisma.notificationDelivery.updateMany({ where: { id, leaseUntil }, data: { ...data, leaseUntil: null } });

/** Signing secrets are sealed by the keyring: how the keyring checks and rotates them. */
export const notificationEndpointRows: SealedRows = {
  name: 'notification endpoints',
  ...keyIdQueries('notification_endpoints', (db) => db.notificationEndpoint),
  rewrapBatch: rewrapEach({
    notUnder: (prisma, termId, limit) =>
      prisma.notificationEndpoint.findMany({ where: { keyId: { not: termId } }, orderBy: { id: 'asc' }, take: limit }),
    aadOf: (row) => endpointAad(row),
    move: (tx, { id, keyId }, moved) => tx.notificationEndpoint.updateMany({ where: { id, keyId }, data: moved }),
  }),
};

export const environmentName = async (tx: Tx, id: string) =>
  (await tx.environment.findUnique({ where: { id }, select: { name: true } }))?.name ?? null;

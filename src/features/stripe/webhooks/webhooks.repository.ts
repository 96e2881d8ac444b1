import { keysetOrder, keysetWhere, toConnection, type PagePlan } from '../../../db/pagination.js';
import type { Prisma, PrismaClient } from '../../../generated/prisma/client.js';
import type { StripeEnvironment } from '../../../generated/prisma/enums.js';

type Tx = Prisma.TransactionClient;

export interface ReceivedEvent {
  projectId: string;
  environment: StripeEnvironment;
  eventId: string;
  type: string;
  objectId: string | null;
  created: Date;
  receivedAt: Date;
  /** Why a signed event could not be applied; null for one that was. */
  rejectedReason?: string | null;
}

/** Records an event id once; false when it was already received (Stripe delivers at least once). */
export async function recordReceivedEvent(tx: Tx, event: ReceivedEvent): Promise<boolean> {
  const inserted = await tx.$executeRaw`
    INSERT INTO stripe_webhook_events (project_id, environment, event_id, type, object_id, created, received_at, rejected_reason)
    VALUES (${event.projectId}::uuid, ${event.environment}::"StripeEnvironment", ${event.eventId}, ${event.type}, ${event.objectId},
            ${event.created}, ${event.receivedAt}, ${event.rejectedReason ?? null})
    ON CONFLICT DO NOTHING`;
  return inserted > 0;
}

/**
 * An object of a type without a table of its own, as JSON. The WHERE keeps newer data: an event
 * older than the stored change is recorded, not applied.
 */
export async function upsertOtherObject(
  tx: Tx,
  object: {
    projectId: string;
    environment: StripeEnvironment;
    objectType: string;
    stripeId: string;
    data: string;
    changedAt: Date;
    now: Date;
  },
): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO stripe_objects (project_id, environment, object_type, stripe_id, data, event_created_at, updated_at)
    VALUES (${object.projectId}::uuid, ${object.environment}::"StripeEnvironment", ${object.objectType}, ${object.stripeId},
            ${object.data}::jsonb, ${object.changedAt}, ${object.now})
    ON CONFLICT (project_id, environment, stripe_id) DO UPDATE
      SET data = EXCLUDED.data, event_created_at = EXCLUDED.event_created_at, updated_at = EXCLUDED.updated_at
      WHERE stripe_objects.event_created_at <= EXCLUDED.event_created_at`;
}

/** Received events, newest first; only the rejected ones when asked. */
export async function listReceivedEvents(
  prisma: PrismaClient,
  {
    projectId,
    environment,
    rejectedOnly,
    plan,
  }: { projectId: string; environment: StripeEnvironment; rejectedOnly: boolean; plan: PagePlan },
) {
  const where = { projectId, environment, ...(rejectedOnly ? { rejectedReason: { not: null } } : {}) };
  const rows = await prisma.stripeWebhookEvent.findMany({
    where: { AND: [where, keysetWhere(plan, 'receivedAt', 'eventId')] },
    orderBy: keysetOrder(plan, 'receivedAt', 'eventId'),
    take: plan.take,
  });
  return toConnection(rows, plan, {
    keyOf: (row) => ({ createdAt: row.receivedAt, id: row.eventId }),
    count: () => prisma.stripeWebhookEvent.count({ where }),
  });
}

/** The `created` of the newest event received for an environment (delivered or caught up). */
export async function lastEventCreated(prisma: PrismaClient, projectId: string, environment: StripeEnvironment): Promise<Date | null> {
  const { _max } = await prisma.stripeWebhookEvent.aggregate({ where: { projectId, environment }, _max: { created: true } });
  return _max.created;
}

/** When the newest run that synced every object type successfully started (its data is at least that new). */
export async function lastCompleteSyncStart(
  prisma: PrismaClient,
  projectId: string,
  environment: StripeEnvironment,
  allTypes: number,
): Promise<Date | null> {
  const runs = await prisma.stripeSyncRun.findMany({
    where: { projectId, environment, status: 'SUCCEEDED', startedAt: { not: null } },
    orderBy: { startedAt: 'desc' },
    select: { startedAt: true, objects: true },
    take: 20,
  });
  return runs.find((run) => run.objects.length >= allTypes)?.startedAt ?? null;
}

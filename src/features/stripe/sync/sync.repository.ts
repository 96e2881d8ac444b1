import type { Prisma, PrismaClient, StripeSyncObjectState } from '../../../generated/prisma/client.js';
import type { StripeEnvironment, StripeSyncObjectStatus, StripeSyncTrigger } from '../../../generated/prisma/enums.js';
import { rowsOf, type AnySql } from '../../../db/database.js';
import { keysetOrder, keysetWhere, toConnection, type PagePlan } from '../../../db/pagination.js';

type Db = PrismaClient | Prisma.TransactionClient;
type Tx = Prisma.TransactionClient;

/** The one run of a project environment that may be active (the unique active slot makes it so). */
export const activeRunOf = (db: Db, projectId: string, environment: StripeEnvironment) =>
  db.stripeSyncRun.findUnique({ where: { projectId_environment_activeSlot: { projectId, environment, activeSlot: 'active' } } });

export const findRun = (db: Db, id: string) => db.stripeSyncRun.findUnique({ where: { id } });

export const projectOfRun = async (db: Db, id: string): Promise<string | null> =>
  (await db.stripeSyncRun.findUnique({ where: { id }, select: { projectId: true } }))?.projectId ?? null;

export function insertRun(
  tx: Tx,
  run: {
    projectId: string;
    environment: StripeEnvironment;
    accountId: string | null;
    trigger: StripeSyncTrigger;
    objects: string[];
    requestedById: string | null;
  },
) {
  return tx.stripeSyncRun.create({
    data: { ...run, objectTypes: { create: run.objects.map((objectType, position) => ({ objectType, position })) } },
  });
}

/** Clears the environment's "a first sync is due" mark once a run serves it. */
export async function markSyncServed(tx: Tx, projectId: string, environment: StripeEnvironment): Promise<void> {
  await tx.stripeEnvironmentState.update({ where: { projectId_environment: { projectId, environment } }, data: { syncRequestedAt: null } });
}

/** Locks the run's row: every writer of a run takes it first (no lock-order deadlock). */
export async function lockRun(tx: Tx, id: string): Promise<boolean> {
  const rows = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM stripe_sync_runs WHERE id = ${id}::uuid FOR UPDATE`;
  return rows.length > 0;
}

export const updateRun = (db: Db, id: string, data: Prisma.StripeSyncRunUpdateInput) => db.stripeSyncRun.update({ where: { id }, data });

export const objectStatesOf = (db: Db, runId: string) =>
  db.stripeSyncObjectState.findMany({ where: { runId }, orderBy: { position: 'asc' } });

export const updateObjectState = (db: Db, runId: string, objectType: string, data: Prisma.StripeSyncObjectStateUpdateInput) =>
  db.stripeSyncObjectState.update({ where: { runId_objectType: { runId, objectType } }, data });

/** Ends every object type still pending or running. */
export async function endOpenObjectStates(
  tx: Tx,
  runId: string,
  data: { status: StripeSyncObjectStatus; finishedAt: Date; error?: string },
): Promise<void> {
  await tx.stripeSyncObjectState.updateMany({ where: { runId, status: { in: ['PENDING', 'RUNNING'] } }, data });
}

export async function listRuns(
  db: Db,
  { projectId, environment, plan }: { projectId: string; environment?: StripeEnvironment | null; plan: PagePlan },
) {
  const where = { projectId, ...(environment ? { environment } : {}) };
  const rows = await db.stripeSyncRun.findMany({ where: { ...where, ...keysetWhere(plan) }, orderBy: keysetOrder(plan), take: plan.take });
  return toConnection(rows, plan, { count: () => db.stripeSyncRun.count({ where }) });
}

/** A queued run, or a running one whose worker stopped renewing its lease (FOR UPDATE SKIP LOCKED: one claimant). */
export async function claimRun(db: Db, { workerId, leaseMs, runId }: { workerId: string; leaseMs: number; runId: string | null }) {
  const [claimed] = await db.$queryRaw<Array<{ id: string }>>`
    UPDATE stripe_sync_runs
    SET status = 'RUNNING', lease_owner = ${workerId}, lease_expires_at = now() + (${leaseMs} * interval '1 millisecond'),
        attempts = attempts + 1, started_at = COALESCE(started_at, now())
    WHERE id = (
      SELECT id FROM stripe_sync_runs
      WHERE active_slot = 'active' AND (status = 'QUEUED' OR lease_expires_at IS NULL OR lease_expires_at < now())
        AND (${runId}::uuid IS NULL OR id = ${runId}::uuid)
      ORDER BY created_at
      LIMIT 1
      FOR UPDATE SKIP LOCKED)
    RETURNING id`;
  return claimed ? db.stripeSyncRun.findUniqueOrThrow({ where: { id: claimed.id } }) : null;
}

/** Extends the lease between pages; null when another worker holds the run now. */
export async function renewLease(sql: AnySql, { runId, workerId, leaseMs }: { runId: string; workerId: string; leaseMs: number }) {
  const [lease] = await rowsOf<{ cancel_requested_at: Date | null }>(
    sql,
    `UPDATE stripe_sync_runs SET lease_expires_at = now() + ($3::int * interval '1 millisecond')
     WHERE id = $1::uuid AND lease_owner = $2 RETURNING cancel_requested_at`,
    runId,
    workerId,
    leaseMs,
  );
  return lease ? { cancelRequestedAt: lease.cancel_requested_at } : null;
}

/**
 * The first statement of a page's transaction: renews the lease, reserves `events` sequence
 * numbers, locks the environment's row against an account change and reads a cancel request.
 * Null when the lease was lost.
 */
export async function leaseForPage(
  sql: AnySql,
  run: { id: string; projectId: string; environment: StripeEnvironment },
  { workerId, leaseMs, events }: { workerId: string; leaseMs: number; events: number },
) {
  const [lease] = await rowsOf<{
    cancel_requested_at: Date | null;
    last_sequence: number;
    environments: number;
    account_id: string | null;
  }>(
    sql,
    `WITH environment AS (
       SELECT account_id FROM stripe_environments
       WHERE project_id = $2::uuid AND environment = $3::"StripeEnvironment" FOR SHARE)
     UPDATE stripe_sync_runs
     SET lease_expires_at = now() + ($5::int * interval '1 millisecond'), last_sequence = last_sequence + $6::int
     WHERE id = $1::uuid AND lease_owner = $4
     RETURNING cancel_requested_at, last_sequence,
       (SELECT count(*) FROM environment)::int AS environments, (SELECT account_id FROM environment) AS account_id`,
    run.id,
    run.projectId,
    run.environment,
    workerId,
    leaseMs,
    events,
  );
  if (!lease) return null;
  return {
    cancelRequestedAt: lease.cancel_requested_at,
    lastSequence: lease.last_sequence,
    environmentExists: lease.environments > 0,
    accountId: lease.account_id,
  };
}

export interface StoredEventRow {
  sequence: number;
  kind: string;
  object_type: string | null;
  payload: Prisma.InputJsonValue;
  at: Date;
}

/** A page's checkpoint and its progress events, in one statement. */
export async function saveCheckpoint(sql: AnySql, runId: string, after: StripeSyncObjectState, events: StoredEventRow[]): Promise<void> {
  await rowsOf(
    sql,
    `WITH checkpoint AS (
       UPDATE stripe_sync_object_states
       SET cursor = $3, pages = $4::int, objects = $5::int, status = $6::"StripeSyncObjectStatus", total = $7::int,
           finished_at = $8::timestamptz
       WHERE run_id = $1::uuid AND object_type = $2)
     INSERT INTO stripe_sync_events (run_id, sequence, kind, object_type, payload, at)
     SELECT $1::uuid, e.sequence, e.kind, e.object_type, e.payload, e.at
     FROM jsonb_to_recordset($9::jsonb) AS e(sequence int, kind text, object_type text, payload jsonb, at timestamptz)`,
    runId,
    after.objectType,
    after.cursor,
    after.pages,
    after.objects,
    after.status,
    after.total,
    after.finishedAt,
    JSON.stringify(events),
  );
}

/** The next sequence number of a run; the row lock orders concurrent writers (the worker, a cancel). */
export async function nextSequence(db: Db, runId: string): Promise<number> {
  const { lastSequence } = await db.stripeSyncRun.update({
    where: { id: runId },
    data: { lastSequence: { increment: 1 } },
    select: { lastSequence: true },
  });
  return lastSequence;
}

export async function insertEvent(db: Db, runId: string, row: StoredEventRow): Promise<void> {
  await db.stripeSyncEvent.create({
    data: { runId, sequence: row.sequence, kind: row.kind, objectType: row.object_type, payload: row.payload, at: row.at },
  });
}

export const eventsAfter = (db: Db, runId: string, afterSequence: number, limit: number) =>
  db.stripeSyncEvent.findMany({ where: { runId, sequence: { gt: afterSequence } }, orderBy: { sequence: 'asc' }, take: limit });

/** Hands a run back (lease expired at once) so any worker resumes it; false when it was not ours any more. */
export async function releaseRun(tx: Tx, runId: string, workerId: string): Promise<boolean> {
  const released = await tx.stripeSyncRun.updateMany({
    where: { id: runId, leaseOwner: workerId },
    data: { leaseOwner: null, leaseExpiresAt: new Date(0) },
  });
  return released.count > 0;
}

/** `ownerId`: only runs of that user's projects. */
export const runsByIds = (db: Db, ids: string[], ownerId?: string) =>
  db.stripeSyncRun.findMany({ where: { id: { in: ids }, ...(ownerId ? { project: { ownerId } } : {}) } });

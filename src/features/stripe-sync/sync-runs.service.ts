import { Prisma, type PrismaClient, type StripeSyncRun } from '../../generated/prisma/client.js';
import type { StripeEnvironment, StripeSyncTrigger } from '../../generated/prisma/enums.js';
import type { EventBus } from '../../events/event-bus.js';
import { badInput, CofferError, notFound } from '../../errors.js';
import { keysetOrder, keysetWhere, toConnection, type PagePlan } from '../../db/pagination.js';
import { SYNC_OBJECT_TYPES, type SyncObjectType } from './object-types.js';
import { publishSyncEvents, recordSyncEvent, type SyncProgressEvent, type SyncSummary } from './progress.js';

type Db = PrismaClient | Prisma.TransactionClient;

interface SyncDeps {
  db: { prisma: PrismaClient };
  events: EventBus;
}

export class ActiveSyncConflict extends CofferError {
  constructor(readonly activeRunId: string) {
    super('CONFLICT', 'A sync is already running for this project and environment; cancel it or wait for it to finish.', { activeRunId });
  }
}

export const activeRunOf = (db: Db, projectId: string, environment: StripeEnvironment) =>
  db.stripeSyncRun.findUnique({ where: { projectId_environment_activeSlot: { projectId, environment, activeSlot: 'active' } } });

const isUniqueViolation = (error: unknown) => error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';

/** Object types in Coffer's order (parents before children), without duplicates. */
export function normalizeObjects(objects: readonly string[] | null | undefined): SyncObjectType[] {
  if (!objects || objects.length === 0) return [...SYNC_OBJECT_TYPES];
  const wanted = new Set(objects);
  return SYNC_OBJECT_TYPES.filter((type) => wanted.has(type));
}

/**
 * Queues a run. The unique (project, environment, active_slot) index is what makes it the only
 * active one, on every replica: a second start fails with CONFLICT naming the active run.
 */
export async function createSyncRun(
  deps: SyncDeps,
  { projectId, environment, objects, trigger, requestedById }: { projectId: string; environment: StripeEnvironment; objects?: readonly string[] | null; trigger: StripeSyncTrigger; requestedById?: string | null },
): Promise<StripeSyncRun> {
  const state = await deps.db.prisma.stripeEnvironmentState.findUnique({
    where: { projectId_environment: { projectId, environment } },
    include: { credentials: { where: { kind: 'SECRET_KEY' }, select: { kind: true } } },
  });
  if (!state || state.credentials.length === 0) {
    throw badInput([{ field: 'environment', message: `no ${environment.toLowerCase()} secret key is configured for this project` }], 'Configure Stripe for this environment first.');
  }
  const types = normalizeObjects(objects);
  const create = async (db: Prisma.TransactionClient) => {
    const run = await db.stripeSyncRun.create({
      data: {
        projectId,
        environment,
        accountId: state.accountId,
        trigger,
        objects: types,
        requestedById: requestedById ?? null,
        objectTypes: { create: types.map((objectType, position) => ({ objectType, position })) },
      },
    });
    // The request is being served: nothing is due any more.
    await db.stripeEnvironmentState.update({ where: { id: state.id }, data: { syncRequestedAt: null } });
    const event = await recordSyncEvent(db, run, {
      kind: 'RUN_QUEUED', runStatus: 'QUEUED', objectType: null, objectStatus: null, pages: 0, objects: 0, runObjects: 0, total: null, retries: 0,
      message: `queued (${trigger.toLowerCase()}): ${types.join(', ')}`, summary: null,
    });
    return { run, event };
  };
  let created: { run: StripeSyncRun; event: SyncProgressEvent };
  try {
    created = await deps.db.prisma.$transaction(create);
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const active = await activeRunOf(deps.db.prisma, projectId, environment);
    throw new ActiveSyncConflict(active?.id ?? 'unknown');
  }
  publishSyncEvents(deps.events, [created.event]);
  return created.run;
}

/**
 * Cancels a run. A queued run nobody holds ends at once; a running one is asked to stop and its
 * worker ends it after the page in flight (within a heartbeat on another replica).
 */
export async function cancelSyncRun(deps: SyncDeps, runId: string, now: Date): Promise<StripeSyncRun> {
  const events: SyncProgressEvent[] = [];
  const run = await deps.db.prisma.$transaction(async (tx) => {
    const [locked] = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM stripe_sync_runs WHERE id = ${runId}::uuid FOR UPDATE`;
    if (!locked) throw notFound('Sync run');
    const run = await tx.stripeSyncRun.findUniqueOrThrow({ where: { id: runId }, include: { objectTypes: true } });
    if (run.activeSlot === null) return run; // already finished: cancelling is a no-op
    if (run.cancelRequestedAt) return run;
    const unclaimed = run.status === 'QUEUED' && !run.leaseOwner;
    if (unclaimed) {
      await tx.stripeSyncObjectState.updateMany({ where: { runId, status: { in: ['PENDING', 'RUNNING'] } }, data: { status: 'CANCELED', finishedAt: now } });
      const objectTypes = await tx.stripeSyncObjectState.findMany({ where: { runId }, orderBy: { position: 'asc' } });
      const summary = summarize('CANCELED', objectTypes, run.startedAt, now);
      const finished = await tx.stripeSyncRun.update({ where: { id: runId }, data: { status: 'CANCELED', activeSlot: null, cancelRequestedAt: now, finishedAt: now, summary: summary as unknown as Prisma.InputJsonValue } });
      events.push(await recordSyncEvent(tx, run, { ...runEventBase(finished, summary), kind: 'RUN_FINISHED', message: 'canceled before it started', summary }));
      return finished;
    }
    const requested = await tx.stripeSyncRun.update({ where: { id: runId }, data: { cancelRequestedAt: now } });
    events.push(await recordSyncEvent(tx, run, { ...runEventBase(requested, null), kind: 'CANCEL_REQUESTED', message: 'cancel requested; stopping after the page in flight' }));
    return requested;
  });
  publishSyncEvents(deps.events, events);
  return run;
}

export function summarize(status: SyncSummary['status'], objectTypes: Array<{ objectType: string; status: SyncSummary['objectTypes'][number]['status']; pages: number; objects: number; retries: number; error: string | null }>, startedAt: Date | null, finishedAt: Date): SyncSummary {
  return {
    status,
    objects: objectTypes.reduce((sum, state) => sum + state.objects, 0),
    pages: objectTypes.reduce((sum, state) => sum + state.pages, 0),
    durationMs: startedAt ? finishedAt.getTime() - startedAt.getTime() : null,
    objectTypes: objectTypes.map(({ objectType, status: objectStatus, pages, objects, retries, error }) => ({ objectType, status: objectStatus, pages, objects, retries, error })),
  };
}

export function runEventBase(run: StripeSyncRun, summary: SyncSummary | null) {
  return {
    runStatus: run.status,
    objectType: null,
    objectStatus: null,
    pages: summary?.pages ?? 0,
    objects: summary?.objects ?? 0,
    runObjects: summary?.objects ?? 0,
    total: null,
    retries: 0,
    summary: null,
  };
}

export async function listSyncRuns(db: Db, { projectId, environment, plan }: { projectId: string; environment?: StripeEnvironment | null; plan: PagePlan }) {
  const where = { projectId, ...(environment ? { environment } : {}) };
  const [rows, totalCount] = await Promise.all([
    db.stripeSyncRun.findMany({ where: { ...where, ...keysetWhere(plan) }, orderBy: keysetOrder(plan), take: plan.take }),
    db.stripeSyncRun.count({ where }),
  ]);
  return { ...toConnection(rows, plan), totalCount };
}

/**
 * Environments whose new account still awaits its first sync (the run could not be queued when
 * Stripe was configured, e.g. an older run was still stopping). Workers queue them.
 */
export async function queueDueSyncs(deps: SyncDeps): Promise<StripeSyncRun[]> {
  const due = await deps.db.prisma.stripeEnvironmentState.findMany({
    where: { syncRequestedAt: { not: null }, configuredAt: { not: null }, credentials: { some: { kind: 'SECRET_KEY' } } },
    select: { projectId: true, environment: true },
    take: 20,
  });
  const queued: StripeSyncRun[] = [];
  for (const { projectId, environment } of due) {
    try {
      queued.push(await createSyncRun(deps, { projectId, environment, trigger: 'CONFIGURE' }));
    } catch (error) {
      if (!(error instanceof ActiveSyncConflict)) throw error;
    }
  }
  return queued;
}

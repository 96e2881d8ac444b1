import { userIdOf, type Actor } from '../../../auth/index.js';
import type { Database } from '../../../db/database.js';
import { isUniqueViolation } from '../../../db/prisma-errors.js';
import type { PagePlan } from '../../../db/pagination.js';
import { badInput, CofferError, notFound } from '../../../errors.js';
import type { EventBus } from '../../../events/event-bus.js';
import type { Prisma, StripeSyncRun } from '../../../generated/prisma/client.js';
import type { StripeEnvironment, StripeSyncTrigger } from '../../../generated/prisma/enums.js';
import { recordAudit } from '../../audit/index.js';
import { STRIPE_API_VERSION } from '../client/stripe-client.js';
import * as configRepository from '../config/config.repository.js';
import * as mirrorRepository from '../mirror/mirror.repository.js';
import { SYNC_OBJECT_TYPES, type SyncObjectType } from '../mirror/object-types.js';
import {
  publishSyncEvents,
  recordSyncEvent,
  storedEvents,
  syncWorkerRequests,
  WORKERS,
  type SyncProgressEvent,
  type SyncSummary,
} from './progress.js';
import * as syncRepository from './sync.repository.js';

interface SyncDeps {
  db: Database;
  events: EventBus;
}

/** Starting or cancelling on someone's behalf: audited. */
interface ActingDeps extends SyncDeps {
  actor: Actor;
  now: Date;
}

export class ActiveSyncConflict extends CofferError {
  constructor(readonly activeRunId: string) {
    super('CONFLICT', 'A sync is already running for this project and environment; cancel it or wait for it to finish.', { activeRunId });
  }
}

/** Object types in Coffer's order (parents before children), without duplicates. */
export function normalizeObjects(objects: readonly string[] | null | undefined): SyncObjectType[] {
  if (!objects || objects.length === 0) return [...SYNC_OBJECT_TYPES];
  const wanted = new Set(objects);
  return SYNC_OBJECT_TYPES.filter((type) => wanted.has(type));
}

/** Every replica's worker looks for queued work now (they also poll: a lost message only delays). */
export const wakeWorkers = (events: EventBus) => syncWorkerRequests.publish(events, WORKERS, { kind: 'wake' });

/** Whichever replica executes the run stops it after the page in flight. */
export const stopOnWorkers = (events: EventBus, runId: string) => syncWorkerRequests.publish(events, WORKERS, { kind: 'cancel', runId });

/**
 * Queues a run. The unique (project, environment, active_slot) index is what makes it the only
 * active one, on every replica: a second start fails with CONFLICT naming the active run.
 */
export async function createSyncRun(
  deps: SyncDeps,
  run: {
    projectId: string;
    environment: StripeEnvironment;
    objects?: readonly string[] | null;
    trigger: StripeSyncTrigger;
    requestedById?: string | null;
  },
): Promise<StripeSyncRun> {
  const { projectId, environment, trigger } = run;
  const state = await configRepository.environmentOf(deps.db.prisma, projectId, environment);
  if (!configRepository.credentialOf(state, 'SECRET_KEY')) {
    throw badInput(
      [{ field: 'environment', message: `no ${environment.toLowerCase()} secret key is configured for this project` }],
      'Configure Stripe for this environment first.',
    );
  }
  const objects = normalizeObjects(run.objects);
  let created: { run: StripeSyncRun; event: SyncProgressEvent };
  try {
    created = await deps.db.prisma.$transaction(async (tx) => {
      const queued = await syncRepository.insertRun(tx, {
        projectId,
        environment,
        accountId: state!.accountId,
        trigger,
        objects,
        requestedById: run.requestedById ?? null,
      });
      // The request is being served: nothing is due any more.
      await syncRepository.markSyncServed(tx, projectId, environment);
      const event = await recordSyncEvent(tx, queued, {
        kind: 'RUN_QUEUED',
        runStatus: 'QUEUED',
        objectType: null,
        objectStatus: null,
        pages: 0,
        objects: 0,
        runObjects: 0,
        total: null,
        retries: 0,
        message: `queued (${trigger.toLowerCase()}): ${objects.join(', ')}`,
        summary: null,
      });
      return { run: queued, event };
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const active = await syncRepository.activeRunOf(deps.db.prisma, projectId, environment);
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
    if (!(await syncRepository.lockRun(tx, runId))) throw notFound('Sync run');
    const run = (await syncRepository.findRun(tx, runId))!;
    if (run.activeSlot === null) return run; // already finished: cancelling is a no-op
    if (run.cancelRequestedAt) return run;
    if (run.status === 'QUEUED' && !run.leaseOwner) {
      await syncRepository.endOpenObjectStates(tx, runId, { status: 'CANCELED', finishedAt: now });
      const summary = summarize('CANCELED', await syncRepository.objectStatesOf(tx, runId), run.startedAt, now);
      const finished = await syncRepository.updateRun(tx, runId, {
        status: 'CANCELED',
        activeSlot: null,
        cancelRequestedAt: now,
        finishedAt: now,
        summary: summary as unknown as Prisma.InputJsonValue,
      });
      events.push(
        await recordSyncEvent(tx, run, {
          ...runEventBase(finished, summary),
          kind: 'RUN_FINISHED',
          message: 'canceled before it started',
          summary,
        }),
      );
      return finished;
    }
    const requested = await syncRepository.updateRun(tx, runId, { cancelRequestedAt: now });
    events.push(
      await recordSyncEvent(tx, run, {
        ...runEventBase(requested, null),
        kind: 'CANCEL_REQUESTED',
        message: 'cancel requested; stopping after the page in flight',
      }),
    );
    return requested;
  });
  publishSyncEvents(deps.events, events);
  return run;
}

/** `startStripeSync` (also what `coffer stripe sync` calls): queues the run, audits it, and wakes the workers. */
export async function startSync(
  deps: ActingDeps,
  {
    projectId,
    environment,
    objects,
    trigger,
  }: { projectId: string; environment: StripeEnvironment; objects?: readonly string[] | null; trigger: StripeSyncTrigger },
): Promise<StripeSyncRun> {
  const run = await createSyncRun(deps, { projectId, environment, objects, trigger, requestedById: userIdOf(deps.actor.viewer) });
  await recordAudit(deps.db.prisma, deps.actor, {
    action: 'stripe.sync.start',
    outcome: 'SUCCESS',
    targetType: 'stripe-sync-run',
    targetId: run.id,
    targetName: environment,
    reason: run.objects.join(', '),
  });
  wakeWorkers(deps.events);
  return run;
}

/** `cancelStripeSync` (also `coffer stripe sync-cancel`): cancels, tells the workers, audits. */
export async function cancelSync(deps: ActingDeps, runId: string): Promise<StripeSyncRun> {
  const run = await cancelSyncRun(deps, runId, deps.now);
  stopOnWorkers(deps.events, run.id);
  await recordAudit(deps.db.prisma, deps.actor, {
    action: 'stripe.sync.cancel',
    outcome: 'SUCCESS',
    targetType: 'stripe-sync-run',
    targetId: run.id,
    targetName: run.environment,
  });
  return run;
}

type ObjectStateLike = Pick<
  SyncSummary['objectTypes'][number],
  'objectType' | 'status' | 'pages' | 'objects' | 'retries' | 'error' | 'verifiedListed' | 'verifiedInserted' | 'verifiedDeleted'
>;

export function summarize(
  status: SyncSummary['status'],
  objectTypes: ObjectStateLike[],
  startedAt: Date | null,
  finishedAt: Date,
): SyncSummary {
  return {
    status,
    objects: objectTypes.reduce((sum, state) => sum + state.objects, 0),
    pages: objectTypes.reduce((sum, state) => sum + state.pages, 0),
    durationMs: startedAt ? finishedAt.getTime() - startedAt.getTime() : null,
    objectTypes: objectTypes.map(
      ({ objectType, status: objectStatus, pages, objects, retries, error, verifiedListed, verifiedInserted, verifiedDeleted }) => ({
        objectType,
        status: objectStatus,
        pages,
        objects,
        retries,
        error,
        verifiedListed,
        verifiedInserted,
        verifiedDeleted,
      }),
    ),
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

export const listSyncRuns = (db: Database, query: { projectId: string; environment?: StripeEnvironment | null; plan: PagePlan }) =>
  syncRepository.listRuns(db.prisma, query);

/** Workers queue the first sync of environments whose new account still awaits it. */
export async function queueDueSyncs(deps: SyncDeps): Promise<StripeSyncRun[]> {
  const queued: StripeSyncRun[] = [];
  for (const { projectId, environment } of await configRepository.environmentsDueForSync(deps.db.prisma, 20)) {
    try {
      queued.push(await createSyncRun(deps, { projectId, environment, trigger: 'CONFIGURE' }));
    } catch (error) {
      if (!(error instanceof ActiveSyncConflict)) throw error;
    }
  }
  return queued;
}

/**
 * After the pinned Stripe API version changed, rows written under the previous one have its
 * shapes: a run re-syncs the affected object types of each such environment (trigger
 * API_VERSION). An environment with an active run, or without a secret key, is left for the next
 * start.
 */
export async function queueApiVersionResyncs(deps: SyncDeps): Promise<StripeSyncRun[]> {
  const queued: StripeSyncRun[] = [];
  for (const { projectId, environment, types } of await mirrorRepository.typesUnderOtherVersions(deps.db.prisma, STRIPE_API_VERSION)) {
    try {
      queued.push(await createSyncRun(deps, { projectId, environment, objects: types, trigger: 'API_VERSION' }));
    } catch (error) {
      if (!(error instanceof ActiveSyncConflict) && !(error instanceof CofferError && error.code === 'BAD_USER_INPUT')) throw error;
    }
  }
  return queued;
}

/** A run by id; rules have already checked it exists and may be seen. */
export async function getSyncRun(db: Database, id: string): Promise<StripeSyncRun> {
  const run = await syncRepository.findRun(db.prisma, id);
  if (!run) throw notFound('Sync run');
  return run;
}

export const objectProgressOf = (db: Database, runId: string) => syncRepository.objectStatesOf(db.prisma, runId);

/** A run's stored progress events after `afterSequence`, at most 1,000 at a time. */
export const runEvents = (db: Database, runId: string, { afterSequence, first }: { afterSequence: number; first: number }) =>
  storedEvents(db.prisma, runId, Math.max(0, afterSequence), Math.min(Math.max(first, 1), 1000));

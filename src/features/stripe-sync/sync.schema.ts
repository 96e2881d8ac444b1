import { assertProjectAccess } from '../projects/index.js';
import type { StripeSyncObjectState, StripeSyncRun } from '../../generated/prisma/client.js';
import { StripeSyncObjectStatus, StripeSyncStatus, StripeSyncTrigger, type StripeEnvironment } from '../../generated/prisma/enums.js';
import { builder } from '../../graphql/builder.js';
import type { AuthenticatedContext, Context } from '../../graphql/context.js';
import { planPage } from '../../db/pagination.js';
import { recordAudit } from '../audit/index.js';
import { StripeEnvironmentEnum } from '../stripe/stripe.schema.js';
import { SYNC_OBJECT_TYPES, type SyncObjectType } from './object-types.js';
import { progressTopicId, storedEvents, SYNC_EVENT_KINDS, syncProgressTopic, syncWorkerRequests, WORKERS, type SyncObjectSummary, type SyncProgressEvent, type SyncSummary } from './progress.js';
import { activeRunOf, cancelSyncRun, createSyncRun, listSyncRuns } from './sync-runs.service.js';

const authed = (ctx: unknown) => ctx as AuthenticatedContext;

export const StripeSyncObjectEnum = builder.enumType('StripeSyncObject', {
  description: 'The Stripe object types Coffer mirrors.',
  values: Object.fromEntries(SYNC_OBJECT_TYPES.map((type) => [type.toUpperCase(), { value: type }])) as Record<Uppercase<SyncObjectType>, { value: SyncObjectType }>,
});
const StripeSyncStatusEnum = builder.enumType(StripeSyncStatus, {
  name: 'StripeSyncStatus',
  description: 'SUCCEEDED only when every requested object type was synced completely; FAILED lists what did not.',
});
const StripeSyncTriggerEnum = builder.enumType(StripeSyncTrigger, { name: 'StripeSyncTrigger', description: 'CONFIGURE: the first configureStripe for an account. API: startStripeSync. CLI: `coffer stripe sync`.' });
const StripeSyncObjectStatusEnum = builder.enumType(StripeSyncObjectStatus, { name: 'StripeSyncObjectStatus' });
const StripeSyncEventKindEnum = builder.enumType('StripeSyncEventKind', { values: SYNC_EVENT_KINDS });

const asObjectType = (value: string) => value as SyncObjectType;

const StripeSyncObjectSummaryRef = builder.objectRef<SyncObjectSummary>('StripeSyncObjectSummary').implement({
  fields: (t) => ({
    objectType: t.field({ type: StripeSyncObjectEnum, resolve: (entry) => asObjectType(entry.objectType) }),
    status: t.expose('status', { type: StripeSyncObjectStatusEnum }),
    pages: t.exposeInt('pages'),
    objects: t.exposeInt('objects'),
    retries: t.exposeInt('retries'),
    error: t.exposeString('error', { nullable: true }),
  }),
});

const StripeSyncSummaryRef = builder.objectRef<SyncSummary>('StripeSyncSummary').implement({
  description: 'How a run ended, per object type.',
  fields: (t) => ({
    status: t.expose('status', { type: StripeSyncStatusEnum }),
    objects: t.exposeInt('objects'),
    pages: t.exposeInt('pages'),
    durationMs: t.exposeInt('durationMs', { nullable: true }),
    objectTypes: t.field({ type: [StripeSyncObjectSummaryRef], resolve: (summary) => summary.objectTypes }),
  }),
});

const StripeSyncObjectProgressRef = builder.objectRef<StripeSyncObjectState>('StripeSyncObjectProgress').implement({
  fields: (t) => ({
    objectType: t.field({ type: StripeSyncObjectEnum, resolve: (state) => asObjectType(state.objectType) }),
    status: t.expose('status', { type: StripeSyncObjectStatusEnum }),
    pages: t.exposeInt('pages'),
    objects: t.exposeInt('objects'),
    total: t.exposeInt('total', { nullable: true, description: 'Known once the object type is complete (Stripe lists carry no counts).' }),
    retries: t.exposeInt('retries'),
    error: t.exposeString('error', { nullable: true }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
  }),
});

export const StripeSyncProgressEventRef = builder.objectRef<SyncProgressEvent>('StripeSyncProgressEvent').implement({
  description: 'One step of a sync run. `sequence` counts from 1 per run without gaps.',
  fields: (t) => ({
    runId: t.exposeID('runId'),
    projectId: t.exposeID('projectId'),
    environment: t.expose('environment', { type: StripeEnvironmentEnum }),
    sequence: t.exposeInt('sequence'),
    kind: t.expose('kind', { type: StripeSyncEventKindEnum }),
    runStatus: t.expose('runStatus', { type: StripeSyncStatusEnum }),
    objectType: t.field({ type: StripeSyncObjectEnum, nullable: true, resolve: (event) => (event.objectType ? asObjectType(event.objectType) : null) }),
    objectStatus: t.expose('objectStatus', { type: StripeSyncObjectStatusEnum, nullable: true }),
    pages: t.exposeInt('pages'),
    objects: t.exposeInt('objects'),
    runObjects: t.exposeInt('runObjects', { description: 'Objects stored by the whole run so far.' }),
    total: t.exposeInt('total', { nullable: true }),
    retries: t.exposeInt('retries'),
    message: t.exposeString('message', { nullable: true }),
    summary: t.field({ type: StripeSyncSummaryRef, nullable: true, description: 'Set on RUN_FINISHED.', resolve: (event) => event.summary }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

export const StripeSyncRunRef = builder.objectRef<StripeSyncRun>('StripeSyncRun').implement({
  description: 'One sync of a project environment\'s Stripe data into Coffer.',
  fields: (t) => ({
    id: t.exposeID('id'),
    projectId: t.exposeID('projectId'),
    environment: t.expose('environment', { type: StripeEnvironmentEnum }),
    accountId: t.exposeString('accountId', { nullable: true }),
    status: t.expose('status', { type: StripeSyncStatusEnum }),
    trigger: t.expose('trigger', { type: StripeSyncTriggerEnum }),
    objects: t.field({ type: [StripeSyncObjectEnum], resolve: (run) => run.objects.map(asObjectType) }),
    attempts: t.exposeInt('attempts', { description: 'How many times a worker picked the run up (more than one after a restart or crash).' }),
    error: t.exposeString('error', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    cancelRequestedAt: t.expose('cancelRequestedAt', { type: 'DateTime', nullable: true }),
    summary: t.field({ type: StripeSyncSummaryRef, nullable: true, resolve: (run) => run.summary as SyncSummary | null }),
    progress: t.field({
      type: [StripeSyncObjectProgressRef],
      description: 'Per object type, in sync order.',
      resolve: (run, _args, ctx) => ctx.db.prisma.stripeSyncObjectState.findMany({ where: { runId: run.id }, orderBy: { position: 'asc' } }),
    }),
    events: t.field({
      type: [StripeSyncProgressEventRef],
      description: 'The run\'s progress events in order, as they were published.',
      args: { afterSequence: t.arg.int({ required: false, defaultValue: 0 }), first: t.arg.int({ required: false, defaultValue: 100 }) },
      resolve: (run, args, ctx) => storedEvents(ctx.db.prisma, run.id, Math.max(0, args.afterSequence ?? 0), Math.min(Math.max(args.first ?? 100, 1), 1000)),
    }),
  }),
});

builder.queryFields((t) => ({
  stripeSyncRuns: t.connection(
    {
      type: StripeSyncRunRef,
      description: "A project's sync runs, newest first (owner or admin).",
      args: { projectId: t.arg.id(), environment: t.arg({ type: StripeEnvironmentEnum, required: false }) },
      resolve: (_root, args, ctx) => listSyncRuns(ctx.db.prisma, { projectId: String(args.projectId), environment: args.environment, plan: planPage(args) }),
    },
    { fields: (t) => ({ totalCount: t.int({ resolve: (connection) => (connection as unknown as { totalCount: number }).totalCount }) }) },
  ),
  stripeSyncRun: t.field({
    type: StripeSyncRunRef,
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) => ctx.db.prisma.stripeSyncRun.findUniqueOrThrow({ where: { id: String(id) } }),
  }),
}));

builder.mutationFields((t) => ({
  startStripeSync: t.field({
    type: StripeSyncRunRef,
    description: 'Queues a sync of the given object types (all when left out). CONFLICT, with `activeRunId`, while another run is active.',
    args: {
      projectId: t.arg.id(),
      environment: t.arg({ type: StripeEnvironmentEnum }),
      objects: t.arg({ type: [StripeSyncObjectEnum], required: false }),
    },
    resolve: async (_root, { projectId, environment, objects }, ctx) => {
      const run = await createSyncRun(ctx, { projectId: String(projectId), environment, objects, trigger: 'API', requestedById: authed(ctx).viewer.userId });
      await recordAudit(ctx.db.prisma, ctx, { action: 'stripe.sync.start', outcome: 'SUCCESS', targetType: 'stripe-sync-run', targetId: run.id, targetName: environment, reason: run.objects.join(', ') });
      syncWorkerRequests.publish(ctx.events, WORKERS, { kind: 'wake' });
      return run;
    },
  }),
  cancelStripeSync: t.field({
    type: StripeSyncRunRef,
    description: 'Cancels a run: at once when it has not started, after the page in flight when it has. Finished runs are returned as they are.',
    args: { runId: t.arg.id() },
    resolve: async (_root, { runId }, ctx) => {
      const run = await cancelSyncRun(ctx, String(runId), ctx.now());
      syncWorkerRequests.publish(ctx.events, WORKERS, { kind: 'cancel', runId: run.id });
      await recordAudit(ctx.db.prisma, ctx, { action: 'stripe.sync.cancel', outcome: 'SUCCESS', targetType: 'stripe-sync-run', targetId: run.id, targetName: run.environment });
      return run;
    },
  }),
}));

/**
 * The events of the active run from its first one (replayed from the database), then live ones,
 * and on to the next run. Live events are ordered per run by `sequence`: duplicates of the replay
 * are dropped and a gap (a message lost between replicas) is filled from the database.
 */
async function* progressStream(ctx: Context, projectId: string, environment: StripeEnvironment): AsyncGenerator<SyncProgressEvent> {
  const live = syncProgressTopic.subscribe(ctx.events, progressTopicId(projectId, environment))[Symbol.asyncIterator]();
  // Starting the iterator registers the listener before the replay is read: nothing falls between.
  let next = live.next();
  const seen = new Map<string, number>();
  try {
    await syncProgressTopic.subscribed(ctx.events, progressTopicId(projectId, environment));
    const active = await activeRunOf(ctx.db.prisma, projectId, environment);
    if (active) {
      for (const event of await storedEvents(ctx.db.prisma, active.id)) {
        seen.set(event.runId, event.sequence);
        yield event;
      }
    }
    for (;;) {
      const { value: event, done } = await next;
      if (done) return;
      next = live.next();
      const last = seen.get(event.runId) ?? 0;
      if (event.sequence <= last) continue;
      if (event.sequence > last + 1) {
        for (const missed of await storedEvents(ctx.db.prisma, event.runId, last)) {
          if (missed.sequence >= event.sequence) break;
          yield missed;
        }
      }
      seen.set(event.runId, event.sequence);
      yield event;
    }
  } finally {
    await live.return?.();
  }
}

builder.subscriptionFields((t) => ({
  stripeSyncProgress: t.field({
    type: StripeSyncProgressEventRef,
    description: 'Progress of the active sync run (and of the next one when none is active), over SSE or graphql-ws (owner or admin).',
    args: { projectId: t.arg.id(), environment: t.arg({ type: StripeEnvironmentEnum }) },
    subscribe: async (_root, { projectId, environment }, ctx) => {
      const id = String(projectId);
      await assertProjectAccess(ctx, id);
      return progressStream(ctx, id, environment);
    },
    resolve: (event) => event,
  }),
}));

import { planPage } from '../../../db/pagination.js';
import type { StripeSyncObjectState, StripeSyncRun } from '../../../generated/prisma/client.js';
import { StripeSyncObjectStatus, StripeSyncStatus, StripeSyncTrigger } from '../../../generated/prisma/enums.js';
import { visibleSyncRuns } from '../stripe.rules.js';
import { builder } from '../../../graphql/builder.js';
import { NodeRef, registerNode } from '../../../graphql/node.js';
import { connectionOf } from '../../../graphql/connections.js';
import { assertProjectAccessFor } from '../../projects/index.js';
import { SYNC_OBJECT_TYPES, type SyncObjectType } from '../mirror/object-types.js';
import { actingDeps, StripeEnvironmentEnum } from '../shared.schema.js';
import { SYNC_EVENT_KINDS, type SyncObjectSummary, type SyncProgressEvent, type SyncSummary } from './progress.js';
import { projectProgress } from './progress-stream.js';
import { cancelSync, getSyncRun, listSyncRuns, objectProgressOf, runEvents, startSync } from './sync.service.js';

export const StripeSyncObjectEnum = builder.enumType('StripeSyncObject', {
  description: 'The Stripe object types Coffer mirrors.',
  values: Object.fromEntries(SYNC_OBJECT_TYPES.map((type) => [type.toUpperCase(), { value: type }])) as Record<
    Uppercase<SyncObjectType>,
    { value: SyncObjectType }
  >,
});
const StripeSyncStatusEnum = builder.enumType(StripeSyncStatus, {
  name: 'StripeSyncStatus',
  description: 'SUCCEEDED only when every requested object type was synced completely; FAILED lists what did not.',
});
const StripeSyncTriggerEnum = builder.enumType(StripeSyncTrigger, {
  name: 'StripeSyncTrigger',
  description:
    'CONFIGURE: the first configureStripe for an account. API: startStripeSync (what `coffer stripe sync` calls). ' +
    'CLI: runs that `coffer stripe sync` executed in its own process, before it went through the API.',
});
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
    listed: t.int({
      nullable: true,
      description: 'Verification: how many ids Stripe listed when the mirror was checked (null until the verification ran).',
      resolve: (entry) => entry.verifiedListed ?? null,
    }),
    insertedByVerification: t.int({
      description: 'Verification: objects Stripe listed that the mirror lacked, fetched and stored.',
      resolve: (entry) => entry.verifiedInserted ?? 0,
    }),
    markedDeleted: t.int({
      description: 'Verification: mirrored objects Stripe no longer has (confirmed by a retrieve), marked deleted.',
      resolve: (entry) => entry.verifiedDeleted ?? 0,
    }),
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
    total: t.exposeInt('total', { nullable: true, description: 'Known once the object type is listed (Stripe lists carry no counts).' }),
    retries: t.exposeInt('retries'),
    error: t.exposeString('error', { nullable: true }),
    listed: t.int({
      nullable: true,
      description: 'Verification: how many ids Stripe listed when the mirror was checked (null until the verification ran).',
      resolve: (entry) => entry.verifiedListed ?? null,
    }),
    insertedByVerification: t.int({
      description: 'Verification: objects Stripe listed that the mirror lacked, fetched and stored.',
      resolve: (entry) => entry.verifiedInserted ?? 0,
    }),
    markedDeleted: t.int({
      description: 'Verification: mirrored objects Stripe no longer has (confirmed by a retrieve), marked deleted.',
      resolve: (entry) => entry.verifiedDeleted ?? 0,
    }),
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
    objectType: t.field({
      type: StripeSyncObjectEnum,
      nullable: true,
      resolve: (event) => (event.objectType ? asObjectType(event.objectType) : null),
    }),
    objectStatus: t.expose('objectStatus', { type: StripeSyncObjectStatusEnum, nullable: true }),
    pages: t.exposeInt('pages'),
    objects: t.exposeInt('objects'),
    runObjects: t.exposeInt('runObjects', { description: 'Objects stored by the whole run so far.' }),
    total: t.exposeInt('total', { nullable: true }),
    retries: t.exposeInt('retries'),
    message: t.exposeString('message', { nullable: true }),
    summary: t.field({
      type: StripeSyncSummaryRef,
      nullable: true,
      description: 'Set on RUN_FINISHED.',
      resolve: (event) => event.summary,
    }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

export const StripeSyncRunRef = builder.objectRef<StripeSyncRun>('StripeSyncRun').implement({
  interfaces: [NodeRef],
  description: "One sync of a project environment's Stripe data into Coffer.",
  fields: (t) => ({
    id: t.exposeID('id'),
    projectId: t.exposeID('projectId'),
    environment: t.expose('environment', { type: StripeEnvironmentEnum }),
    accountId: t.exposeString('accountId', { nullable: true }),
    status: t.expose('status', { type: StripeSyncStatusEnum }),
    trigger: t.expose('trigger', { type: StripeSyncTriggerEnum }),
    objects: t.field({ type: [StripeSyncObjectEnum], resolve: (run) => run.objects.map(asObjectType) }),
    attempts: t.exposeInt('attempts', {
      description: 'How many times a worker picked the run up (more than one after a restart or crash).',
    }),
    error: t.exposeString('error', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    cancelRequestedAt: t.expose('cancelRequestedAt', { type: 'DateTime', nullable: true }),
    summary: t.field({ type: StripeSyncSummaryRef, nullable: true, resolve: (run) => run.summary as SyncSummary | null }),
    progress: t.field({
      type: [StripeSyncObjectProgressRef],
      description: 'Per object type, in sync order.',
      resolve: (run, _args, ctx) => objectProgressOf(ctx.db, run.id),
    }),
    events: t.field({
      type: [StripeSyncProgressEventRef],
      description: "The run's progress events in order, as they were published.",
      args: { afterSequence: t.arg.int({ required: false, defaultValue: 0 }), first: t.arg.int({ required: false, defaultValue: 100 }) },
      resolve: (run, args, ctx) => runEvents(ctx.db, run.id, { afterSequence: args.afterSequence ?? 0, first: args.first ?? 100 }),
    }),
  }),
});

registerNode(StripeSyncRunRef, visibleSyncRuns);

builder.queryFields((t) => ({
  stripeSyncRuns: t.connection(
    {
      type: StripeSyncRunRef,
      description: "A project's sync runs, newest first (owner or admin).",
      args: { projectId: t.arg.id(), environment: t.arg({ type: StripeEnvironmentEnum, required: false }) },
      resolve: (_root, args, ctx) =>
        listSyncRuns(ctx.db, { projectId: String(args.projectId), environment: args.environment, plan: planPage(args) }),
    },
    connectionOf(StripeSyncRunRef),
  ),
  stripeSyncRun: t.field({
    type: StripeSyncRunRef,
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) => getSyncRun(ctx.db, String(id)),
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
    resolve: (_root, { projectId, environment, objects }, ctx) =>
      startSync(actingDeps(ctx), { projectId: String(projectId), environment, objects, trigger: 'API' }),
  }),
  cancelStripeSync: t.field({
    type: StripeSyncRunRef,
    description:
      'Cancels a run: at once when it has not started, after the page in flight when it has. Finished runs are returned as they are.',
    args: { runId: t.arg.id() },
    resolve: (_root, { runId }, ctx) => cancelSync(actingDeps(ctx), String(runId)),
  }),
}));

builder.subscriptionFields((t) => ({
  stripeSyncProgress: t.field({
    type: StripeSyncProgressEventRef,
    description: 'Progress of the active sync run (and of the next one when none is active), over SSE or graphql-ws (owner or admin).',
    args: { projectId: t.arg.id(), environment: t.arg({ type: StripeEnvironmentEnum }) },
    subscribe: async (_root, { projectId, environment }, ctx) => {
      const id = String(projectId);
      await assertProjectAccessFor(ctx, id, 'STRIPE_SYNC_RUN');
      return projectProgress(ctx, id, environment);
    },
    resolve: (event) => event,
  }),
}));

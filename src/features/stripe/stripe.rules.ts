import { isAdmin, machineCan } from '../../auth/index.js';
import { isUuid } from '../../db/ids.js';
import { notFound, unauthenticated } from '../../errors.js';
import type { Context } from '../../graphql/context.js';
import { admitsMachines, lookupRule, type FeaturePermissions } from '../../graphql/permissions.js';
import { isProjectOwner, isProjectOwnerOrMachineWith, projectAccessFor, subscriberOwnsProjectOrMachineWith } from '../projects/index.js';
import { OBJECT_TYPES } from './mirror/object-types.js';
import * as syncRepository from './sync/sync.repository.js';

/**
 * For operations naming a sync run (`id` or `runId`): the owner of its project, an admin, or a
 * machine identity of its project with STRIPE_SYNC_RUN. Someone else's run answers as one that
 * does not exist; a machine lacking the permission is FORBIDDEN before any lookup.
 */
export const isSyncRunOwner = admitsMachines(
  lookupRule({ cache: 'strict' })(async (_parent, args: { id?: string; runId?: string }, ctx: Context) => {
    if (!ctx.viewer) return unauthenticated();
    if (ctx.viewer.kind === 'machine' && !ctx.viewer.permissions.includes('STRIPE_SYNC_RUN'))
      return projectAccessFor(ctx, ctx.viewer.projectId, 'STRIPE_SYNC_RUN');
    const runId = String(args.runId ?? args.id ?? '');
    const projectId = isUuid(runId) ? await syncRepository.projectOfRun(ctx.db.prisma, runId) : null;
    if (!projectId) return notFound('Sync run');
    const access = await projectAccessFor(ctx, projectId, 'STRIPE_SYNC_RUN');
    return access === true || (ctx.viewer.kind === 'user' && access.code !== 'NOT_FOUND') ? access : notFound('Sync run');
  }),
);

/** For node(id:): the runs `stripeSyncRun(id:)` would answer (owner of the run's project, or admin). */
export async function visibleSyncRuns(ctx: Context, ids: string[]) {
  const viewer = ctx.viewer;
  if (!viewer) return [];
  if (viewer.kind === 'machine')
    return (await syncRepository.runsByIds(ctx.db.prisma, ids)).filter((run) => machineCan(viewer, 'STRIPE_SYNC_RUN', run.projectId));
  return syncRepository.runsByIds(ctx.db.prisma, ids, isAdmin(viewer) ? undefined : viewer.userId);
}

/** The mirror queries: the project's owner, an admin, or a machine identity with STRIPE_MIRROR_READ. */
const mirrorReader = isProjectOwnerOrMachineWith('STRIPE_MIRROR_READ');

export const stripePermissions: FeaturePermissions = {
  Query: {
    stripeConfig: isProjectOwnerOrMachineWith('STRIPE_CONFIG_READ'),
    stripeWebhookUrls: isProjectOwner,
    stripeSyncRuns: isProjectOwnerOrMachineWith('STRIPE_SYNC_RUN'),
    stripeSyncRun: isSyncRunOwner,
    stripeProducts: mirrorReader,
    stripePrices: mirrorReader,
    stripeCustomers: mirrorReader,
    stripeSubscriptions: mirrorReader,
    stripeInvoices: mirrorReader,
    stripePaymentIntents: mirrorReader,
    // Every object type declared with a query: like the ones above.
    ...Object.fromEntries(Object.values(OBJECT_TYPES).flatMap((spec) => (spec.query ? [[spec.query.field, mirrorReader]] : []))),
    stripeWebhookEvents: mirrorReader,
  },
  Mutation: {
    configureStripe: isProjectOwner,
    validateStripeCredentials: isProjectOwner,
    removeStripeConfig: isProjectOwner,
    retryStripeWebhookSetup: isProjectOwner,
    startStripeSync: isProjectOwnerOrMachineWith('STRIPE_SYNC_RUN'),
    cancelStripeSync: isSyncRunOwner,
  },
  Subscription: { stripeSyncProgress: subscriberOwnsProjectOrMachineWith('STRIPE_SYNC_RUN') },
};

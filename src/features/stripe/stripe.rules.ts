import { isAdmin } from '../../auth/index.js';
import { isUuid } from '../../db/ids.js';
import { notFound, unauthenticated } from '../../errors.js';
import type { Context } from '../../graphql/context.js';
import { lookupRule, type FeaturePermissions } from '../../graphql/permissions.js';
import { isProjectOwner, projectAccess, subscriberOwnsProject } from '../projects/index.js';
import { OBJECT_TYPES } from './mirror/object-types.js';
import * as syncRepository from './sync/sync.repository.js';

/**
 * For operations naming a sync run (`id` or `runId`): the owner of its project, or an admin.
 * Someone else's run answers as one that does not exist.
 */
export const isSyncRunOwner = lookupRule({ cache: 'strict' })(async (_parent, args: { id?: string; runId?: string }, ctx: Context) => {
  if (!ctx.viewer) return unauthenticated();
  const runId = String(args.runId ?? args.id ?? '');
  const projectId = isUuid(runId) ? await syncRepository.projectOfRun(ctx.db.prisma, runId) : null;
  if (!projectId) return notFound('Sync run');
  const access = await projectAccess(ctx, projectId);
  return access === true || access.code !== 'NOT_FOUND' ? access : notFound('Sync run');
});

/** For node(id:): the runs `stripeSyncRun(id:)` would answer (owner of the run's project, or admin). */
export async function visibleSyncRuns(ctx: Context, ids: string[]) {
  if (!ctx.viewer) return [];
  return syncRepository.runsByIds(ctx.db.prisma, ids, isAdmin(ctx.viewer) ? undefined : ctx.viewer.userId);
}

export const stripePermissions: FeaturePermissions = {
  Query: {
    stripeConfig: isProjectOwner,
    stripeWebhookUrls: isProjectOwner,
    stripeSyncRuns: isProjectOwner,
    stripeSyncRun: isSyncRunOwner,
    stripeProducts: isProjectOwner,
    stripePrices: isProjectOwner,
    stripeCustomers: isProjectOwner,
    stripeSubscriptions: isProjectOwner,
    stripeInvoices: isProjectOwner,
    stripePaymentIntents: isProjectOwner,
    // Every object type declared with a query: owner or admin, like the ones above.
    ...Object.fromEntries(Object.values(OBJECT_TYPES).flatMap((spec) => (spec.query ? [[spec.query.field, isProjectOwner]] : []))),
    stripeWebhookEvents: isProjectOwner,
  },
  Mutation: {
    configureStripe: isProjectOwner,
    validateStripeCredentials: isProjectOwner,
    removeStripeConfig: isProjectOwner,
    retryStripeWebhookSetup: isProjectOwner,
    startStripeSync: isProjectOwner,
    cancelStripeSync: isSyncRunOwner,
  },
  Subscription: { stripeSyncProgress: subscriberOwnsProject },
};

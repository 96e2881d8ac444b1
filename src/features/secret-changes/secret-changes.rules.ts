import { machineMay, type Viewer } from '../../auth/index.js';
import { unauthenticated, type CofferError } from '../../errors.js';
import type { Context } from '../../graphql/context.js';
import { admitsMachines, lookupRule, type FeaturePermissions } from '../../graphql/permissions.js';
import { isProjectOwner, ownerOfProjectOf, projectAccess } from '../projects/index.js';
import * as changesRepository from './secret-changes.repository.js';

/**
 * Who may read a project's change stream: its owner, an admin, or a machine identity of the
 * project with SECRETS_READ, for one environment of its grant (it must name it: a stream of every
 * environment would show it names outside its grant). Checked when the subscription starts
 * (shield does not guard `subscribe`) and again when the subscriber's credentials change.
 */
export const mayReadChanges = async (
  ctx: Pick<Context, 'db'>,
  viewer: Viewer,
  projectId: string,
  environment: string | null,
): Promise<true | CofferError> =>
  viewer.kind === 'machine' ? machineMay(viewer, 'SECRETS_READ', projectId, environment) : projectAccess({ db: ctx.db, viewer }, projectId);

/** secretChanges, once per subscription (shield runs a subscription's rule for every event; see subscriberOwnsProject). */
const mayReadChangeStream = admitsMachines(
  lookupRule({ cache: 'contextual' })((_parent, args: { projectId?: string; environment?: string | null }, ctx: Context) => {
    if (!ctx.viewer) return unauthenticated();
    return mayReadChanges(ctx, ctx.viewer, String(args.projectId ?? '').toLowerCase(), args.environment ?? null);
  }),
);

const endpointOwner = (arg: 'id' | 'endpointId') =>
  ownerOfProjectOf('Notification endpoint', (ctx, id) => changesRepository.projectOfEndpoint(ctx.db.prisma, id), arg);
const deliveryOwner = ownerOfProjectOf('Notification delivery', (ctx, id) => changesRepository.projectOfDelivery(ctx.db.prisma, id), 'id');

export const secretChangesPermissions: FeaturePermissions = {
  Query: { notificationEndpoints: isProjectOwner, notificationDeliveries: endpointOwner('endpointId') },
  Mutation: {
    createNotificationEndpoint: isProjectOwner,
    deleteNotificationEndpoint: endpointOwner('id'),
    setNotificationEndpointEnabled: endpointOwner('id'),
    retryNotificationDelivery: deliveryOwner,
  },
  Subscription: { secretChanges: mayReadChangeStream },
};

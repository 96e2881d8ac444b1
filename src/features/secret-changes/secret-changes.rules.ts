import type { Viewer } from '../../auth/index.js';
import { isUuid } from '../../db/ids.js';
import { notFound, unauthenticated, type CofferError } from '../../errors.js';
import type { Context } from '../../graphql/context.js';
import { lookupRule, type FeaturePermissions } from '../../graphql/permissions.js';
import { isProjectOwner, projectAccess, subscriberOwnsProject } from '../projects/index.js';
import * as changesRepository from './secret-changes.repository.js';

/**
 * Who may read a project's change stream: its owner, an admin. Checked when the subscription
 * starts (shield does not guard `subscribe`) and again when the subscriber's credentials change.
 */
export const mayReadChanges = (ctx: Pick<Context, 'db'>, viewer: Viewer, projectId: string): Promise<true | CofferError> =>
  projectAccess({ db: ctx.db, viewer }, projectId);

/** For an id of a row that belongs to a project: its owner or an admin; anyone else is told it does not exist. */
const ownerOfProjectOf = (what: string, projectOf: (ctx: Context, id: string) => Promise<string | null>, arg: 'id' | 'endpointId') =>
  lookupRule({ cache: 'strict' })(async (_parent, args: { id?: string; endpointId?: string }, ctx: Context) => {
    if (!ctx.viewer) return unauthenticated();
    const id = String(args[arg] ?? '');
    const projectId = isUuid(id) ? await projectOf(ctx, id) : null;
    if (!projectId) return notFound(what);
    const access = await projectAccess(ctx, projectId);
    return access === true || access.code !== 'NOT_FOUND' ? access : notFound(what);
  });

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
  Subscription: { secretChanges: subscriberOwnsProject },
};

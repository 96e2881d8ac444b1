import { isAdmin, type Viewer } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import { isUuid } from '../../db/ids.js';
import { notFound, unauthenticated, type CofferError } from '../../errors.js';
import { lookupRule, type FeaturePermissions } from '../../graphql/permissions.js';
import { isProjectOwner, projectAccess } from '../projects/index.js';
import * as identitiesRepository from './machine-identities.repository.js';

type Ctx = { viewer: Viewer | null; db: Database };

/**
 * Machine identities are managed by their project's owner and admins, never by a machine identity
 * (no rule here admits one: every field below refuses machines before it runs). Someone else's
 * identity or key answers as one that does not exist.
 */
const ownerOfProjectOf = (what: string, projectOf: (ctx: Ctx, id: string) => Promise<string | null>, arg: 'id' | 'machineIdentityId') =>
  lookupRule({ cache: 'strict' })(
    async (_parent, args: { id?: string; machineIdentityId?: string }, ctx: Ctx): Promise<true | CofferError> => {
      if (!ctx.viewer) return unauthenticated();
      const id = String(args[arg] ?? '');
      const projectId = isUuid(id) ? await projectOf(ctx, id) : null;
      if (!projectId) return notFound(what);
      const access = await projectAccess(ctx, projectId);
      return access === true || access.code !== 'NOT_FOUND' ? access : notFound(what);
    },
  );

const identityOwner = (arg: 'id' | 'machineIdentityId') =>
  ownerOfProjectOf('Machine identity', (ctx, id) => identitiesRepository.projectOfIdentity(ctx.db.prisma, id), arg);

const identityKeyOwner = ownerOfProjectOf(
  'Machine identity API key',
  (ctx, id) => identitiesRepository.projectOfIdentityKey(ctx.db.prisma, id),
  'id',
);

/** For node(id:): the identities `Project.machineIdentities` would list (owner of the project, or admin). */
export async function visibleMachineIdentities(ctx: Ctx, ids: string[]) {
  if (ctx.viewer?.kind !== 'user') return [];
  return identitiesRepository.identitiesByIds(ctx.db.prisma, ids, isAdmin(ctx.viewer) ? undefined : ctx.viewer.userId);
}

export const machineIdentitiesPermissions: FeaturePermissions = {
  Query: { machineIdentities: isProjectOwner },
  Mutation: {
    createMachineIdentity: isProjectOwner,
    updateMachineIdentity: identityOwner('id'),
    deleteMachineIdentity: identityOwner('id'),
    createMachineIdentityApiKey: identityOwner('machineIdentityId'),
    revokeMachineIdentityApiKey: identityKeyOwner,
  },
};

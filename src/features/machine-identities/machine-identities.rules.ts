import { isAdmin, type Viewer } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import type { FeaturePermissions } from '../../graphql/permissions.js';
import { isProjectOwner, ownerOfProjectOf } from '../projects/index.js';
import * as identitiesRepository from './machine-identities.repository.js';

type Ctx = { viewer: Viewer | null; db: Database };

/**
 * Machine identities are managed by their project's owner and admins, never by a machine identity
 * (no rule here admits one: every field below refuses machines before it runs). Someone else's
 * identity or key answers as one that does not exist.
 */
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

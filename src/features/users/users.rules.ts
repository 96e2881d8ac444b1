import { isAdmin, requiresAdmin, signedIn, type Viewer } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import type { FeaturePermissions } from '../../graphql/permissions.js';
import * as usersRepository from './users.repository.js';

/** For node(id:): as `users` (admins) and `me` (yourself). */
export async function visibleUsers(ctx: { viewer: Viewer | null; db: Database }, ids: string[]) {
  const viewer = ctx.viewer;
  if (viewer?.kind !== 'user') return [];
  const admin = isAdmin(viewer);
  const wanted = admin ? ids : ids.filter((id) => id === viewer.userId);
  return wanted.length === 0 ? [] : usersRepository.usersByIds(ctx.db.prisma, wanted);
}

export const usersPermissions: FeaturePermissions = {
  Query: { me: signedIn, users: requiresAdmin },
  Mutation: { createUser: requiresAdmin, disableUser: requiresAdmin, enableUser: requiresAdmin },
};

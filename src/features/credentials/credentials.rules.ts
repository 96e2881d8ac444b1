import { rule } from 'graphql-shield';
import { isAdmin, requiresAdmin, signedIn, type Viewer } from '../../auth/index.js';
import { forbidden, unauthenticated } from '../../errors.js';
import type { Database } from '../../db/database.js';
import type { FeaturePermissions } from '../../graphql/permissions.js';
import * as credentialsRepository from './credentials.repository.js';

type Ctx = { viewer: Viewer | null };

/** For node(id:): as `User.apiKeys`, the key's user or an admin. */
export async function visibleApiKeys(ctx: Ctx & { db: Database }, ids: string[]) {
  if (ctx.viewer?.kind !== 'user') return [];
  return credentialsRepository.apiKeysByIds(ctx.db.prisma, ids, isAdmin(ctx.viewer) ? undefined : ctx.viewer.userId);
}

/** For fields on a User: the user themselves or an admin. */
const isSelfOrAdmin = rule({ cache: 'strict' })((parent: { id: string }, _args, ctx: Ctx) => {
  if (!ctx.viewer) return unauthenticated();
  if (ctx.viewer.kind !== 'user') return forbidden();
  return parent.id === ctx.viewer.userId || isAdmin(ctx.viewer) ? true : forbidden();
});

/** Acting for another user (`input.userId`) is an admin's privilege. */
const actsForSelfUnlessAdmin = rule({ cache: 'strict' })((_parent, args: { input?: { userId?: string | null } }, ctx: Ctx) => {
  if (!ctx.viewer) return unauthenticated();
  if (ctx.viewer.kind !== 'user') return forbidden();
  const target = args.input?.userId;
  if (!target || String(target) === ctx.viewer.userId || isAdmin(ctx.viewer)) return true;
  return forbidden('Only admins can act for another user.');
});

export const credentialsPermissions: FeaturePermissions = {
  Mutation: { createApiKey: actsForSelfUnlessAdmin, revokeApiKey: signedIn, issueToken: requiresAdmin },
  types: { User: { apiKeys: isSelfOrAdmin } },
};

import type { FeaturePermissions } from '../../graphql/permissions.js';
import { rule } from 'graphql-shield';
import type { Context } from '../../graphql/context.js';
import { forbidden, isCofferError, notFound, unauthenticated } from '../../errors.js';
import { recordAudit } from '../audit/index.js';
import { resolveScope, type ScopeInputShape } from './secrets.types.js';

type SecretArgs = { scope?: ScopeInputShape | null; name?: string; input?: { scope?: ScopeInputShape | null; name?: string } };

/**
 * ACCOUNT secrets: admins. PROJECT: the project's owner or an admin. USER: that user or an admin.
 * Every denial is audited, so probing other people's secrets leaves a trace.
 */
const secretScopeRule = (options: { adminOnly: boolean }) => rule({ cache: 'strict' })(async (_parent, args: SecretArgs, ctx: Context, info) => {
  if (!ctx.viewer) return unauthenticated();
  let ref;
  try {
    ref = resolveScope(args.scope ?? args.input?.scope, ctx.viewer, args.input ? 'input.scope' : 'scope');
  } catch (error) {
    if (isCofferError(error)) return error;
    throw error;
  }
  const deny = async (error: Error, reason: string) => {
    await recordAudit(ctx.db.prisma, ctx, {
      action: `secret.${info.fieldName}`,
      outcome: 'DENIED',
      targetType: 'secret',
      targetName: args.name ?? args.input?.name ?? null,
      scope: ref.scope,
      scopeOwnerId: ref.ownerId,
      reason,
    });
    return error;
  };
  if (ctx.viewer.role === 'ADMIN') {
    // Admins may use any scope, but a scope naming a project or user that does not exist is NOT_FOUND.
    if (ref.scope === 'PROJECT' && !(await ctx.db.prisma.project.findUnique({ where: { id: ref.ownerId }, select: { id: true } }))) return deny(notFound('Project'), 'no such project');
    if (ref.scope === 'USER' && !(await ctx.db.prisma.user.findUnique({ where: { id: ref.ownerId }, select: { id: true } }))) return deny(notFound('User'), 'no such user');
    return true;
  }
  if (options.adminOnly) return deny(forbidden('Only admins can do this.'), 'needs an admin');
  if (ref.scope === 'ACCOUNT') return deny(forbidden('Only admins can use ACCOUNT secrets.'), 'account scope needs an admin');
  if (ref.scope === 'USER') return ref.ownerId === ctx.viewer.userId ? true : deny(forbidden("You cannot use another user's secrets."), 'another user');
  const project = await ctx.db.prisma.project.findUnique({ where: { id: ref.ownerId }, select: { ownerId: true } });
  if (!project) return deny(notFound('Project'), 'no such project');
  return project.ownerId === ctx.viewer.userId ? true : deny(forbidden('Only the owner of this project or an admin can use its secrets.'), 'not the project owner');
});

export const canUseSecretScope = secretScopeRule({ adminOnly: false });

/** destroySecret: admins only, and a developer's attempt is audited like any other denial. */
export const canDestroySecret = secretScopeRule({ adminOnly: true });

export const secretsPermissions: FeaturePermissions = {
  Query: { secrets: canUseSecretScope, secret: canUseSecretScope, secretVersions: canUseSecretScope },
  Mutation: {
    upsertSecret: canUseSecretScope,
    updateSecret: canUseSecretScope,
    deleteSecret: canUseSecretScope,
    restoreSecret: canUseSecretScope,
    rollbackSecret: canUseSecretScope,
    destroySecret: canDestroySecret,
  },
};

import { rule } from 'graphql-shield';
import { projectAccess } from '../projects/index.js';
import type { Context } from '../../graphql/context.js';
import { notFound, unauthenticated } from '../../errors.js';
import { isUuid } from '../../db/ids.js';

/** For operations naming a sync run (`id` or `runId`): the owner of its project, or an admin. */
export const isSyncRunOwner = rule({ cache: 'strict' })(async (_parent, args: { id?: string; runId?: string }, ctx: Context) => {
  if (!ctx.viewer) return unauthenticated();
  const runId = String(args.runId ?? args.id ?? '');
  const run = isUuid(runId) ? await ctx.db.prisma.stripeSyncRun.findUnique({ where: { id: runId }, select: { projectId: true } }) : null;
  if (!run) return notFound('Sync run');
  return projectAccess(ctx, run.projectId);
});

import { rule } from 'graphql-shield';
import type { Context } from '../../graphql/context.js';
import { forbidden, notFound, unauthenticated } from '../../graphql/errors.js';
import { isUuid } from '../../graphql/ids.js';

/** For operations naming a sync run (`id` or `runId`): the owner of its project, or an admin. */
export const isSyncRunOwner = rule({ cache: 'strict' })(async (_parent, args: { id?: string; runId?: string }, ctx: Context) => {
  if (!ctx.viewer) return unauthenticated();
  const runId = String(args.runId ?? args.id ?? '');
  if (!isUuid(runId)) return notFound('Sync run');
  const run = await ctx.db.prisma.stripeSyncRun.findUnique({ where: { id: runId }, select: { project: { select: { ownerId: true } } } });
  if (!run) return notFound('Sync run');
  if (run.project.ownerId === ctx.viewer.userId || ctx.viewer.role === 'ADMIN') return true;
  return forbidden('Only the owner of this project or an admin can do this.');
});

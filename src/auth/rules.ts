import { rule } from 'graphql-shield';
import type { Context } from '../graphql/context.js';
import { forbidden, notFound, unauthenticated, type CofferError } from '../graphql/errors.js';
import { isUuid } from '../graphql/ids.js';

/**
 * Reusable graphql-shield rules. A rule answers true, or the coded error the client should see.
 * Domains add their own here so the whole authorization model stays in one folder.
 */

export const isAuthenticated = rule({ cache: 'contextual' })((_parent, _args, ctx: Context) => (ctx.viewer ? true : unauthenticated()));

export const isAdmin = rule({ cache: 'contextual' })((_parent, _args, ctx: Context) => {
  if (!ctx.viewer) return unauthenticated();
  return ctx.viewer.role === 'ADMIN' ? true : forbidden('Only admins can do this.');
});

/** True when the viewer owns the project or is an admin; otherwise the error the client should see. */
export async function projectAccess(ctx: Context, projectId: string | undefined): Promise<true | CofferError> {
  if (!ctx.viewer) return unauthenticated();
  if (!projectId) return forbidden();
  // Not a UUID: no such project (and no database error swallowed into a misleading FORBIDDEN).
  if (!isUuid(projectId)) return notFound('Project');
  const project = await ctx.db.prisma.project.findUnique({ where: { id: projectId }, select: { ownerId: true } });
  if (!project) return notFound('Project');
  if (project.ownerId === ctx.viewer.userId || ctx.viewer.role === 'ADMIN') return true;
  return forbidden('Only the owner of this project or an admin can do this.');
}

/**
 * The same check for subscriptions: graphql-shield does not guard their subscribe step, so it is
 * repeated there and a client that may not see the project never gets a stream.
 */
export async function assertProjectAccess(ctx: Context, projectId: string): Promise<void> {
  const access = await projectAccess(ctx, projectId);
  if (access !== true) throw access;
}

/** The project named by `projectId` (or `id`) belongs to the viewer, or the viewer is an admin. */
export const isProjectOwner = rule({ cache: 'strict' })((_parent, args: { projectId?: string; id?: string }, ctx: Context) => {
  const projectId = args.projectId ?? args.id;
  return projectAccess(ctx, projectId === undefined ? undefined : String(projectId));
});

/**
 * The same, checked once per subscription: shield also runs a subscription's rule for every event
 * it delivers, and with a per-subscription (contextual) cache that is one query per subscriber
 * instead of one per event. (The subscribe step checks again; see assertProjectAccess.)
 */
export const subscriberOwnsProject = rule({ cache: 'contextual' })((_parent, args: { projectId?: string }, ctx: Context) =>
  projectAccess(ctx, args.projectId === undefined ? undefined : String(args.projectId)),
);

/** For fields on a User: the user themselves or an admin. */
export const isSelfOrAdmin = rule({ cache: 'strict' })((parent: { id: string }, _args, ctx: Context) => {
  if (!ctx.viewer) return unauthenticated();
  return parent.id === ctx.viewer.userId || ctx.viewer.role === 'ADMIN' ? true : forbidden();
});

/** Acting for another user (`input.userId`) is an admin's privilege. */
export const actsForSelfUnlessAdmin = rule({ cache: 'strict' })((_parent, args: { input?: { userId?: string | null } }, ctx: Context) => {
  if (!ctx.viewer) return unauthenticated();
  const target = args.input?.userId;
  if (!target || String(target) === ctx.viewer.userId || ctx.viewer.role === 'ADMIN') return true;
  return forbidden('Only admins can act for another user.');
});

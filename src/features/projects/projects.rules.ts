import { isAdmin, machineMay, signedIn, type Viewer } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import { isUuid } from '../../db/ids.js';
import { forbidden, notFound, unauthenticated, type CofferError } from '../../errors.js';
import { admitsMachines, lookupRule, type FeaturePermissions } from '../../graphql/permissions.js';
import type { MachineIdentityPermission } from '../../generated/prisma/enums.js';
import * as projectsRepository from './projects.repository.js';

type Ctx = { viewer: Viewer | null; db: Database };

/**
 * True when the viewer owns the project or is an admin; otherwise the error the client should see.
 * Someone else's project is NOT_FOUND, the very error of an id that names no project: a refusal
 * must not confirm that a project exists (no existence oracle).
 */
export async function projectAccess(ctx: Ctx, projectId: string | undefined): Promise<true | CofferError> {
  if (!ctx.viewer) return unauthenticated();
  // A machine identity reaches its project only through a permission (projectAccessFor).
  if (ctx.viewer.kind !== 'user') return forbidden('A machine identity may not do this.');
  if (!projectId) return forbidden();
  // Not a UUID: no such project (and no database error swallowed into a misleading FORBIDDEN).
  if (!isUuid(projectId)) return notFound('Project');
  const ownerId = await projectsRepository.ownerOf(ctx.db.prisma, projectId);
  if (ownerId && (ownerId === ctx.viewer.userId || isAdmin(ctx.viewer))) return true;
  return notFound('Project');
}

/** For node(id:): the projects `project(id:)` would answer (owner or admin). */
export async function visibleProjects(ctx: Ctx, ids: string[]) {
  if (ctx.viewer?.kind !== 'user') return [];
  return projectsRepository.projectsByIds(ctx.db.prisma, ids, isAdmin(ctx.viewer) ? undefined : ctx.viewer.userId);
}

/**
 * For an id of a row that belongs to a project (read from the argument `arg`): the project's owner
 * or an admin; anyone else, and an id that names nothing, is told `what` does not exist.
 */
export const ownerOfProjectOf = <Arg extends string>(what: string, projectOf: (ctx: Ctx, id: string) => Promise<string | null>, arg: Arg) =>
  lookupRule({ cache: 'strict' })(async (_parent, args: Partial<Record<Arg, string>>, ctx: Ctx): Promise<true | CofferError> => {
    if (!ctx.viewer) return unauthenticated();
    const id = String(args[arg] ?? '');
    const projectId = isUuid(id) ? await projectOf(ctx, id) : null;
    if (!projectId) return notFound(what);
    const access = await projectAccess(ctx, projectId);
    return access === true || access.code !== 'NOT_FOUND' ? access : notFound(what);
  });

/**
 * projectAccess, where a machine identity of the project holding `permission` is let in too.
 * Machines are refused with FORBIDDEN, decided from their grant alone (see machineMay).
 */
export async function projectAccessFor(
  ctx: Ctx,
  projectId: string | undefined,
  permission: MachineIdentityPermission,
): Promise<true | CofferError> {
  if (ctx.viewer?.kind === 'machine') return machineMay(ctx.viewer, permission, projectId);
  return projectAccess(ctx, projectId);
}

/** Throws what projectAccessFor answers when it is not true (subscribe steps). */
export async function assertProjectAccessFor(ctx: Ctx, projectId: string, permission: MachineIdentityPermission): Promise<void> {
  const access = await projectAccessFor(ctx, projectId, permission);
  if (access !== true) throw access;
}

/** isProjectOwner, or a machine identity of the project holding `permission`. */
export const isProjectOwnerOrMachineWith = (permission: MachineIdentityPermission) =>
  admitsMachines(
    lookupRule({ cache: 'strict' })((_parent, args: { projectId?: string; id?: string }, ctx: Ctx) => {
      const projectId = args.projectId ?? args.id;
      return projectAccessFor(ctx, projectId === undefined ? undefined : String(projectId), permission);
    }),
  );

/** subscriberOwnsProject, or a machine identity of the project holding `permission`. */
export const subscriberOwnsProjectOrMachineWith = (permission: MachineIdentityPermission) =>
  admitsMachines(
    lookupRule({ cache: 'contextual' })((_parent, args: { projectId?: string }, ctx: Ctx) =>
      projectAccessFor(ctx, args.projectId === undefined ? undefined : String(args.projectId), permission),
    ),
  );

/**
 * The same check for subscriptions: graphql-shield does not guard their subscribe step, so it is
 * repeated there and a client that may not see the project never gets a stream.
 */
export async function assertProjectAccess(ctx: Ctx, projectId: string): Promise<void> {
  const access = await projectAccess(ctx, projectId);
  if (access !== true) throw access;
}

/** The project named by `projectId` (or `id`) belongs to the viewer, or the viewer is an admin. */
export const isProjectOwner = lookupRule({ cache: 'strict' })((_parent, args: { projectId?: string; id?: string }, ctx: Ctx) => {
  const projectId = args.projectId ?? args.id;
  return projectAccess(ctx, projectId === undefined ? undefined : String(projectId));
});

/**
 * The same, checked once per subscription: shield also runs a subscription's rule for every event
 * it delivers, and with a per-subscription (contextual) cache that is one query per subscriber
 * instead of one per event. (The subscribe step checks again; see assertProjectAccess.)
 */
export const subscriberOwnsProject = lookupRule({ cache: 'contextual' })((_parent, args: { projectId?: string }, ctx: Ctx) =>
  projectAccess(ctx, args.projectId === undefined ? undefined : String(args.projectId)),
);

export const projectsPermissions: FeaturePermissions = {
  Query: { projects: signedIn, project: isProjectOwner },
  Mutation: { createProject: signedIn, updateProject: isProjectOwner },
  Subscription: { projectEvents: subscriberOwnsProject },
};

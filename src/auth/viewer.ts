import { forbidden, unauthenticated } from '../errors.js';
import type { User } from '../generated/prisma/client.js';
import type { MachineIdentityPermission, Role } from '../generated/prisma/enums.js';

/** How a viewer proved who they are: audit records and logs say which credential was used. */
export type ViewerCredential = { kind: 'api-key'; apiKeyId: string } | { kind: 'token' } | { kind: 'external-token'; issuer: string };

/** A person (or a program using a person's key or token), once their credential has been verified. */
export interface UserViewer {
  kind: 'user';
  userId: string;
  role: Role;
  /** The user row read while verifying the credential; saves `me` a second query. */
  user: User;
  credential: ViewerCredential;
}

/**
 * A machine identity, through one of its API keys: it belongs to one project, reaches only the
 * environments and permissions it was granted, is never an admin and has no user.
 */
export interface MachineViewer {
  kind: 'machine';
  identityId: string;
  name: string;
  projectId: string;
  environments: readonly string[];
  permissions: readonly MachineIdentityPermission[];
  /** Client address ranges its keys may be used from; empty: anywhere. */
  allowedCidrs: readonly string[];
  credential: { kind: 'api-key'; apiKeyId: string };
}

/** Who is calling, once their credential has been verified. */
export type Viewer = UserViewer | MachineViewer;

/** A machine identity is never an admin. */
export const isAdmin = (viewer: Viewer | null | undefined): boolean => viewer?.kind === 'user' && viewer.role === 'ADMIN';

export const isMachine = (viewer: Viewer | null | undefined): viewer is MachineViewer => viewer?.kind === 'machine';

/**
 * The user viewer of a request a shield rule has already let through as signed in: one narrowing
 * for every resolver, instead of a cast. UNAUTHENTICATED if a field was ever left unguarded;
 * FORBIDDEN for a machine identity (every field that admits one reads `ctx.viewer` itself).
 */
export function requireViewer(ctx: { viewer: Viewer | null }): UserViewer {
  if (!ctx.viewer) throw unauthenticated();
  if (ctx.viewer.kind !== 'user') throw forbidden('A machine identity may not do this.');
  return ctx.viewer;
}

/** Like requireViewer, for the fields a machine identity may also reach (their rules checked its grant). */
export function requireAnyViewer(ctx: { viewer: Viewer | null }): Viewer {
  if (!ctx.viewer) throw unauthenticated();
  return ctx.viewer;
}

/** The user behind a viewer, for "created by" columns; null for a machine identity and for Coffer itself. */
export const userIdOf = (viewer: Viewer | null | undefined): string | null => (viewer?.kind === 'user' ? viewer.userId : null);

/** Who and where an action came from, as audit records need it. */
export interface Actor {
  viewer: Viewer | null;
  requestId: string | null;
  clientAddress: string | null;
}

/** Coffer itself: the expiry sweeper, the CLI. */
export const SYSTEM_ACTOR: Actor = { viewer: null, requestId: null, clientAddress: null };

export const actorOf = (ctx: Actor): Actor => ({ viewer: ctx.viewer, requestId: ctx.requestId, clientAddress: ctx.clientAddress });

import { unauthenticated } from '../errors.js';
import type { User } from '../generated/prisma/client.js';
import type { Role } from '../generated/prisma/enums.js';

/** Who is calling, once their credential has been verified. */
export interface Viewer {
  userId: string;
  role: Role;
  /** The user row read while verifying the credential; saves `me` a second query. */
  user: User;
  /** How they proved it: audit records and logs say which credential was used. */
  credential: { kind: 'api-key'; apiKeyId: string } | { kind: 'token' } | { kind: 'external-token'; issuer: string };
}

export const isAdmin = (viewer: Viewer | null | undefined): boolean => viewer?.role === 'ADMIN';

/**
 * The viewer of a request a shield rule has already let through as signed in: one narrowing for
 * every resolver, instead of a cast. UNAUTHENTICATED if a field was ever left unguarded.
 */
export function requireViewer(ctx: { viewer: Viewer | null }): Viewer {
  if (!ctx.viewer) throw unauthenticated();
  return ctx.viewer;
}

/** Who and where an action came from, as audit records need it. */
export interface Actor {
  viewer: Viewer | null;
  requestId: string | null;
  clientAddress: string | null;
}

/** Coffer itself: the expiry sweeper, the CLI. */
export const SYSTEM_ACTOR: Actor = { viewer: null, requestId: null, clientAddress: null };

export const actorOf = (ctx: Actor): Actor => ({ viewer: ctx.viewer, requestId: ctx.requestId, clientAddress: ctx.clientAddress });

import { rule } from 'graphql-shield';
import { forbidden, unauthenticated } from '../errors.js';
import { isAdmin, type Viewer } from './viewer.js';

/**
 * The shield rules every feature builds on. A rule answers true, or the error the client should
 * see; features add their own in `<domain>.rules.ts` (project ownership, secret scopes...).
 */

export const signedIn = rule({ cache: 'contextual' })((_parent, _args, ctx: { viewer: Viewer | null }) =>
  ctx.viewer ? true : unauthenticated(),
);

export const requiresAdmin = rule({ cache: 'contextual' })((_parent, _args, ctx: { viewer: Viewer | null }) => {
  if (!ctx.viewer) return unauthenticated();
  return isAdmin(ctx.viewer) ? true : forbidden('Only admins can do this.');
});

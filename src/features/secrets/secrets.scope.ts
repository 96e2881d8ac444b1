import type { Viewer } from '../../auth/index.js';
import { isUuid } from '../../db/ids.js';
import { badInput } from '../../errors.js';
import type { SecretScope } from '../../generated/prisma/enums.js';

/** `ownerId` of ACCOUNT secrets: one unique key (scope, owner, name) covers every scope. */
export const ACCOUNT_OWNER_ID = '00000000-0000-0000-0000-000000000000';

/** `environment_id` of ACCOUNT and USER secrets (see prisma/schema.prisma, Secret.environmentId). */
export const NO_ENVIRONMENT_ID = ACCOUNT_OWNER_ID;
/** The environment of PROJECT secrets when a client names none: where the migration put every existing one. */
export const DEFAULT_ENVIRONMENT = 'production';
export const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * A scope as it is stored: the kind, the project or user it belongs to, and for PROJECT the
 * environment (its name as asked, and its id once the scope's rule has found it).
 */
export interface ScopeRef {
  scope: SecretScope;
  ownerId: string;
  environment: string | null;
  environmentId: string | null;
}

/** The `environment_id` a scope's secrets carry; a PROJECT scope must have been resolved by its rule. */
export function environmentIdOf(ref: ScopeRef): string {
  if (ref.scope !== 'PROJECT') return NO_ENVIRONMENT_ID;
  if (!ref.environmentId) throw new Error(`The environment ${ref.environment} of project ${ref.ownerId} was not resolved.`);
  return ref.environmentId;
}

/** A scope as clients give it (SecretScopeInput). */
export interface ScopeInputShape {
  type?: SecretScope | null;
  projectId?: string | number | null;
  userId?: string | number | null;
  environment?: string | null;
}

/** Omitted: ACCOUNT. USER without userId: the viewer. BAD_USER_INPUT naming `field` when the parts do not fit. */
export function resolveScope(input: ScopeInputShape | null | undefined, viewer: Viewer, field = 'scope'): ScopeRef {
  const type = input?.type ?? 'ACCOUNT';
  const problem = (name: string, message: string) => badInput([{ field: `${field}.${name}`, message }], 'Invalid secret scope.');
  const none = { environment: null, environmentId: null };
  if (type !== 'PROJECT' && input?.environment != null) throw problem('environment', 'is only for PROJECT');
  if (type === 'ACCOUNT') {
    if (input?.projectId != null || input?.userId != null) throw problem('type', 'ACCOUNT takes neither projectId nor userId');
    return { scope: 'ACCOUNT', ownerId: ACCOUNT_OWNER_ID, ...none };
  }
  if (type === 'PROJECT') {
    if (input?.projectId == null) throw problem('projectId', 'is required for PROJECT');
    if (!isUuid(String(input.projectId))) throw problem('projectId', 'is not a project id');
    const environment = input.environment ?? DEFAULT_ENVIRONMENT;
    if (!ENVIRONMENT_NAME.test(environment)) throw problem('environment', 'is not an environment name (a-z, 0-9 and -, up to 32)');
    return { scope: 'PROJECT', ownerId: String(input.projectId).toLowerCase(), environment, environmentId: null };
  }
  if (input?.projectId != null) throw problem('projectId', 'is only for PROJECT');
  // A machine identity has no user: its USER scope names nobody (and its rule refuses it).
  const userId = input?.userId == null ? (viewer.kind === 'user' ? viewer.userId : ACCOUNT_OWNER_ID) : String(input.userId);
  if (!isUuid(userId)) throw problem('userId', 'is not a user id');
  return { scope: 'USER', ownerId: userId.toLowerCase(), ...none };
}

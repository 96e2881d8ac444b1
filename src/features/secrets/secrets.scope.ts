import type { Viewer } from '../../auth/index.js';
import { isUuid } from '../../db/ids.js';
import { badInput } from '../../errors.js';
import type { SecretScope } from '../../generated/prisma/enums.js';

/** `ownerId` of ACCOUNT secrets: one unique key (scope, owner, name) covers every scope. */
export const ACCOUNT_OWNER_ID = '00000000-0000-0000-0000-000000000000';

/** A scope as it is stored: the kind, and the project or user it belongs to. */
export interface ScopeRef {
  scope: SecretScope;
  ownerId: string;
}

/** A scope as clients give it (SecretScopeInput). */
export interface ScopeInputShape {
  type?: SecretScope | null;
  projectId?: string | number | null;
  userId?: string | number | null;
}

/** Omitted: ACCOUNT. USER without userId: the viewer. BAD_USER_INPUT naming `field` when the parts do not fit. */
export function resolveScope(input: ScopeInputShape | null | undefined, viewer: Viewer, field = 'scope'): ScopeRef {
  const type = input?.type ?? 'ACCOUNT';
  const problem = (name: string, message: string) => badInput([{ field: `${field}.${name}`, message }], 'Invalid secret scope.');
  if (type === 'ACCOUNT') {
    if (input?.projectId != null || input?.userId != null) throw problem('type', 'ACCOUNT takes neither projectId nor userId');
    return { scope: 'ACCOUNT', ownerId: ACCOUNT_OWNER_ID };
  }
  if (type === 'PROJECT') {
    if (input?.projectId == null) throw problem('projectId', 'is required for PROJECT');
    if (!isUuid(String(input.projectId))) throw problem('projectId', 'is not a project id');
    return { scope: 'PROJECT', ownerId: String(input.projectId).toLowerCase() };
  }
  if (input?.projectId != null) throw problem('projectId', 'is only for PROJECT');
  const userId = input?.userId == null ? viewer.userId : String(input.userId);
  if (!isUuid(userId)) throw problem('userId', 'is not a user id');
  return { scope: 'USER', ownerId: userId.toLowerCase() };
}

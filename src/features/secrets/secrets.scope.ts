import { SecretScope } from '../../generated/prisma/enums.js';
import { builder } from '../../graphql/builder.js';
import { SecretScopeEnum } from '../../graphql/shared-types.js';
import type { Viewer } from '../../auth/index.js';
import { badInput } from '../../errors.js';
import { isUuid } from '../../db/ids.js';

export { SecretScopeEnum };

/** `ownerId` of ACCOUNT secrets: one unique key (scope, owner, name) covers every scope. */
export const ACCOUNT_OWNER_ID = '00000000-0000-0000-0000-000000000000';

export interface ScopeRef {
  scope: SecretScope;
  ownerId: string;
}

export interface ScopeInputShape {
  type?: SecretScope | null;
  projectId?: string | number | null;
  userId?: string | number | null;
}

export const SecretScopeInput = builder.inputType('SecretScopeInput', {
  description: 'Where a secret lives. Omitted: ACCOUNT. PROJECT needs projectId; USER defaults to you.',
  fields: (t) => ({
    type: t.field({ type: SecretScopeEnum, defaultValue: 'ACCOUNT' }),
    projectId: t.id({ required: false }),
    userId: t.id({ required: false }),
  }),
});


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

/** Name rule: the environment-variable one. */
export const SECRET_NAME = /^[A-Z0-9_]{1,255}$/;
export const MAX_VALUE_BYTES = 64 * 1024;

import { SYSTEM_ACTOR, type ServerKeys } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import type { ClusterSignals } from '../../events/signals.js';
import type { MachineIdentityPermission } from '../../generated/prisma/enums.js';
import { createMachineIdentity, createMachineIdentityApiKey } from './machine-identities.service.js';

/** A machine identity of `projectId` with one API key, written directly (tests only). */
export async function machineWithKey({
  db,
  keys,
  signals,
  projectId,
  permissions,
  environments = ['production'],
  allowedCidrs = [],
  expiresAt = null,
  name = `machine-${Math.random().toString(36).slice(2, 10)}`,
}: {
  db: Database;
  keys: ServerKeys;
  signals: ClusterSignals;
  projectId: string;
  permissions: MachineIdentityPermission[];
  environments?: string[];
  allowedCidrs?: string[];
  expiresAt?: Date | null;
  name?: string;
}) {
  const now = new Date();
  const identity = await createMachineIdentity({
    db,
    actor: SYSTEM_ACTOR,
    signals,
    now,
    projectId,
    input: { name, environments, permissions, allowedCidrs, expiresAt },
  });
  const { apiKey, key } = await createMachineIdentityApiKey({
    db,
    actor: SYSTEM_ACTOR,
    now,
    keys,
    machineIdentityId: identity.id,
    name: 'test',
    expiresAt: null,
  });
  return { identity, apiKey, key };
}

import { announcePrincipalChange, generateApiKey, hashApiKey, parseCidr, userIdOf, type Actor, type ServerKeys } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import { isUniqueViolation } from '../../db/prisma-errors.js';
import { badInput, conflict, notFound, type FieldProblem } from '../../errors.js';
import type { ClusterSignals } from '../../events/signals.js';
import type { MachineIdentity, MachineIdentityPermission, Prisma } from '../../generated/prisma/client.js';
import { recordAudit } from '../audit/index.js';
import * as identitiesRepository from './machine-identities.repository.js';

/** At most this many address ranges per identity: the list is checked on every request. */
export const MAX_ALLOWED_CIDRS = 50;

interface Deps {
  db: Database;
  actor: Actor;
  signals: ClusterSignals;
  now: Date;
}

export interface IdentityInput {
  name?: string | null;
  environments?: readonly string[] | null;
  permissions?: readonly MachineIdentityPermission[] | null;
  expiresAt?: Date | null;
  allowedCidrs?: readonly string[] | null;
  /** Updates only: true disables every key of the identity at once, false enables them again. */
  disabled?: boolean | null;
}

const audited = (action: string, identity: Pick<MachineIdentity, 'id' | 'name' | 'projectId'>, reason: string | null = null) =>
  ({
    action,
    outcome: 'SUCCESS',
    targetType: 'machine_identity',
    targetId: identity.id,
    targetName: identity.name,
    scope: 'PROJECT',
    scopeOwnerId: identity.projectId,
    reason,
  }) as const;

/**
 * The parts of `input` that were given, checked and normalised (names trimmed, lists without
 * duplicates, CIDRs canonical). BAD_USER_INPUT naming every field at fault; nothing is written then.
 */
async function checkedFields(db: Database, projectId: string, input: IdentityInput, now: Date, creating: boolean) {
  const problems: FieldProblem[] = [];
  const fields: Partial<identitiesRepository.IdentityFields> = {};
  if (input.name != null || creating) {
    const name = (input.name ?? '').trim();
    if (name.length === 0 || name.length > 100) problems.push({ field: 'input.name', message: 'must be 1-100 characters' });
    fields.name = name;
  }
  if (input.permissions != null) {
    const permissions = [...new Set(input.permissions)];
    if (permissions.length === 0) problems.push({ field: 'input.permissions', message: 'must grant at least one permission' });
    fields.permissions = permissions;
  }
  if (input.environments != null) {
    const environments = [...new Set(input.environments)];
    const existing = new Set(await identitiesRepository.existingEnvironments(db.prisma, projectId, environments));
    const unknown = environments.filter((name) => !existing.has(name));
    if (unknown.length > 0) problems.push({ field: 'input.environments', message: `the project has no environment ${unknown.join(', ')}` });
    fields.environments = environments;
  }
  if (input.allowedCidrs != null) {
    const cidrs = [...new Set(input.allowedCidrs.map((cidr) => cidr.trim()))];
    const invalid = cidrs.filter((cidr) => parseCidr(cidr) === null);
    if (invalid.length > 0)
      problems.push({ field: 'input.allowedCidrs', message: `not a CIDR range (address/prefix): ${invalid.slice(0, 5).join(', ')}` });
    if (cidrs.length > MAX_ALLOWED_CIDRS) problems.push({ field: 'input.allowedCidrs', message: `at most ${MAX_ALLOWED_CIDRS} ranges` });
    fields.allowedCidrs = cidrs;
  }
  if (input.expiresAt !== undefined) {
    if (input.expiresAt && input.expiresAt <= now) problems.push({ field: 'input.expiresAt', message: 'must be in the future' });
    fields.expiresAt = input.expiresAt;
  }
  if (problems.length > 0) throw badInput(problems, 'Invalid machine identity.');
  return fields;
}

async function uniqueName<T>(name: string | undefined, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`The project already has a machine identity named ${name ?? ''}.`);
    throw error;
  }
}

export async function createMachineIdentity(deps: Deps & { projectId: string; input: IdentityInput }) {
  const { db, actor, projectId, input, now } = deps;
  const fields = await checkedFields(db, projectId, { environments: [], allowedCidrs: [], expiresAt: null, ...input }, now, true);
  if (input.permissions == null) throw badInput([{ field: 'input.permissions', message: 'must grant at least one permission' }]);
  return uniqueName(fields.name, () =>
    identitiesRepository.inTransaction(db.prisma, async (tx) => {
      const identity = await identitiesRepository.insertIdentity(tx, {
        ...(fields as identitiesRepository.IdentityFields),
        projectId,
        createdById: userIdOf(actor.viewer),
      });
      await recordAudit(tx, actor, audited('machine_identity.create', identity, grantSummary(identity)));
      return identity;
    }),
  );
}

/** What an identity may do, for its audit records (names and permissions only). */
const grantSummary = (identity: Pick<MachineIdentity, 'permissions' | 'environments' | 'allowedCidrs' | 'expiresAt' | 'disabledAt'>) =>
  [
    `permissions ${identity.permissions.join(',')}`,
    `environments ${identity.environments.join(',') || '(none)'}`,
    identity.allowedCidrs.length > 0 ? `from ${identity.allowedCidrs.join(',')}` : null,
    identity.expiresAt ? `expires ${identity.expiresAt.toISOString()}` : null,
    identity.disabledAt ? 'disabled' : null,
  ]
    .filter(Boolean)
    .join('; ');

/**
 * Changes what the identity may do. Every process drops what it had verified of the identity's keys
 * at once (the principal change signal), so a narrowed grant or a disabling holds on the next request.
 */
export async function updateMachineIdentity(deps: Deps & { id: string; input: IdentityInput }) {
  const { db, actor, id, input, now, signals } = deps;
  const current = await identitiesRepository.findIdentity(db.prisma, id);
  if (!current) throw notFound('Machine identity');
  const fields = await checkedFields(db, current.projectId, input, now, false);
  const disabledAt = input.disabled == null ? undefined : input.disabled ? (current.disabledAt ?? now) : null;
  const updated = await uniqueName(fields.name, () =>
    identitiesRepository.inTransaction(db.prisma, async (tx) => {
      const identity = await identitiesRepository.updateIdentity(tx, id, {
        ...fields,
        ...(disabledAt !== undefined ? { disabledAt } : {}),
      });
      await recordAudit(tx, actor, audited('machine_identity.update', identity, grantSummary(identity)));
      return identity;
    }),
  );
  await announcePrincipalChange(signals, { machineIdentityId: id });
  return updated;
}

/** Deletes the identity and its keys; they stop working at once on every replica. */
export async function deleteMachineIdentity(deps: Deps & { id: string }) {
  const { db, actor, id, signals } = deps;
  const deleted = await identitiesRepository.inTransaction(db.prisma, async (tx) => {
    const identity = await identitiesRepository.findIdentity(tx, id);
    if (!identity) throw notFound('Machine identity');
    await identitiesRepository.deleteIdentity(tx, id);
    await recordAudit(tx, actor, audited('machine_identity.delete', identity));
    return identity;
  });
  await announcePrincipalChange(signals, { machineIdentityId: id });
  return deleted;
}

/**
 * Grants name environments: a renamed environment is renamed in them and a deleted one removed, in
 * the environment's own transaction (a later environment of the old name is not granted by
 * accident). Call `announceGrantChanges` with the answer after commit.
 */
export const followEnvironmentRename = (tx: Prisma.TransactionClient, projectId: string, from: string, to: string) =>
  identitiesRepository.renameEnvironmentInGrants(tx, projectId, from, to);

export const followEnvironmentDeletion = (tx: Prisma.TransactionClient, projectId: string, name: string) =>
  identitiesRepository.removeEnvironmentFromGrants(tx, projectId, name);

/** Every replica drops what it had verified of these identities' keys. */
export async function announceGrantChanges(signals: ClusterSignals, identityIds: readonly string[]) {
  for (const machineIdentityId of identityIds) await announcePrincipalChange(signals, { machineIdentityId });
}

export const listMachineIdentities = ({ db, projectId }: { db: Database; projectId: string }) =>
  identitiesRepository.identitiesOf(db.prisma, projectId);

export const listMachineIdentityKeys = ({ db, machineIdentityId }: { db: Database; machineIdentityId: string }) =>
  identitiesRepository.keysOf(db.prisma, machineIdentityId);

/** A new API key of the identity (the same kind of key as a user's: `cof_...`); the key itself is in this answer only. */
export async function createMachineIdentityApiKey(
  deps: Omit<Deps, 'signals'> & { keys: ServerKeys; machineIdentityId: string; name: string; expiresAt: Date | null },
) {
  const { db, actor, now, keys, machineIdentityId, expiresAt } = deps;
  const name = deps.name.trim();
  if (expiresAt && expiresAt <= now) throw badInput([{ field: 'input.expiresAt', message: 'must be in the future' }]);
  return identitiesRepository.inTransaction(db.prisma, async (tx) => {
    const identity = await identitiesRepository.findIdentity(tx, machineIdentityId);
    if (!identity) throw notFound('Machine identity');
    const { key, lookupId } = generateApiKey();
    const apiKey = await identitiesRepository.insertKey(tx, {
      name,
      machineIdentityId,
      lookupId,
      secretHash: hashApiKey(keys.apiKeyHmacKey, key),
      expiresAt,
    });
    await recordAudit(tx, actor, audited('machine_identity.key.create', identity, `key ${apiKey.id} (${name})`));
    return { apiKey, key };
  });
}

/** Revokes at once on every replica; revoking twice is harmless. */
export async function revokeMachineIdentityApiKey(deps: Deps & { id: string }) {
  const { db, actor, id, now, signals } = deps;
  const revoked = await identitiesRepository.inTransaction(db.prisma, async (tx) => {
    const apiKey = await identitiesRepository.findKey(tx, id);
    const identity = apiKey?.machineIdentityId ? await identitiesRepository.findIdentity(tx, apiKey.machineIdentityId) : null;
    if (!apiKey || !identity) throw notFound('Machine identity API key');
    if (apiKey.revokedAt) return apiKey;
    const row = await identitiesRepository.revokeKey(tx, id, now);
    await recordAudit(tx, actor, audited('machine_identity.key.revoke', identity, `key ${id} (${apiKey.name})`));
    return row;
  });
  await announcePrincipalChange(signals, { apiKeyId: id });
  return revoked;
}

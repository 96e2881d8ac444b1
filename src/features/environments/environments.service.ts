import type { Actor } from '../../auth/index.js';
import type { ClusterSignals } from '../../events/signals.js';
import type { Database } from '../../db/database.js';
import { isUniqueViolation } from '../../db/prisma-errors.js';
import { badInput, conflict, notFound } from '../../errors.js';
import { recordAudit } from '../audit/index.js';
import { announceGrantChanges, followEnvironmentDeletion, followEnvironmentRename } from '../machine-identities/index.js';
import { ENVIRONMENT_NAME, secretsInEnvironment } from '../secrets/index.js';
import * as environmentsRepository from './environments.repository.js';

interface Deps {
  db: Database;
  actor: Actor;
  projectId: string;
}

const checkName = (name: string, field: string) => {
  if (!ENVIRONMENT_NAME.test(name)) {
    throw badInput([{ field, message: 'must be 1-32 characters of a-z, 0-9 and -, starting with a letter' }], 'Invalid environment name.');
  }
};

const audited = (deps: Deps, action: string, name: string, reason: string | null = null) =>
  ({
    action,
    outcome: 'SUCCESS',
    targetType: 'environment',
    targetName: name,
    reason,
    scope: 'PROJECT',
    scopeOwnerId: deps.projectId,
    environment: name,
  }) as const;

export const listEnvironments = ({ db, projectId }: Pick<Deps, 'db' | 'projectId'>) =>
  environmentsRepository.listEnvironments(db.prisma, projectId);

async function unique<T>(name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`The project already has an environment ${name}.`);
    throw error;
  }
}

export function createEnvironment(deps: Deps & { name: string }) {
  checkName(deps.name, 'name');
  return unique(deps.name, () =>
    environmentsRepository.inTransaction(deps.db.prisma, async (tx) => {
      const environment = await environmentsRepository.insertEnvironment(tx, deps.projectId, deps.name);
      await recordAudit(tx, deps.actor, audited(deps, 'environment.create', deps.name));
      return environment;
    }),
  );
}

/** Renaming keeps the environment's id, so its secrets (and machine identities' grants naming it) stay with it. */
export async function renameEnvironment(deps: Deps & { signals: ClusterSignals; name: string; newName: string }) {
  checkName(deps.newName, 'newName');
  const { renamed, regranted } = await unique(deps.newName, () =>
    environmentsRepository.inTransaction(deps.db.prisma, async (tx) => {
      const environment = await environmentsRepository.findEnvironment(tx, deps.projectId, deps.name);
      if (!environment) throw notFound(`Environment ${deps.name}`);
      const renamed = await environmentsRepository.renameEnvironment(tx, environment.id, deps.newName);
      const regranted = await followEnvironmentRename(tx, deps.projectId, deps.name, deps.newName);
      await recordAudit(tx, deps.actor, audited(deps, 'environment.rename', deps.newName, `renamed from ${deps.name}`));
      return { renamed, regranted };
    }),
  );
  await announceGrantChanges(deps.signals, regranted);
  return renamed;
}

/**
 * An environment holding secrets (deleted ones included: they can still be restored) is deleted
 * only with `force`, and then its secrets go with it, in the same transaction.
 */
export async function deleteEnvironment(deps: Deps & { signals: ClusterSignals; name: string; force: boolean }) {
  const { environment, regranted } = await environmentsRepository.inTransaction(deps.db.prisma, async (tx) => {
    const environment = await environmentsRepository.findEnvironment(tx, deps.projectId, deps.name);
    if (!environment) throw notFound(`Environment ${deps.name}`);
    const secrets = secretsInEnvironment(tx, environment.id);
    const held = await secrets.count();
    if (held > 0 && !deps.force) {
      throw conflict(`Environment ${deps.name} holds ${held} secret(s): delete them first, or pass force: true to delete them with it.`);
    }
    const destroyed = held > 0 ? await secrets.destroyAll() : 0;
    await environmentsRepository.deleteEnvironment(tx, environment.id);
    const regranted = await followEnvironmentDeletion(tx, deps.projectId, deps.name);
    await recordAudit(tx, deps.actor, audited(deps, 'environment.delete', deps.name, destroyed > 0 ? `with ${destroyed} secret(s)` : null));
    return { environment, regranted };
  });
  await announceGrantChanges(deps.signals, regranted);
  return environment;
}

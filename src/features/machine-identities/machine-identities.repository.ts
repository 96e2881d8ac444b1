import type { MachineIdentityPermission, Prisma, PrismaClient } from '../../generated/prisma/client.js';

/** Every statement on `machine_identities`, and on the `api_keys` rows that belong to them. */

type Db = PrismaClient | Prisma.TransactionClient;
type Tx = Prisma.TransactionClient;

export const inTransaction = <T>(prisma: PrismaClient, work: (tx: Tx) => Promise<T>): Promise<T> => prisma.$transaction(work);

export interface IdentityFields {
  name: string;
  environments: string[];
  permissions: MachineIdentityPermission[];
  allowedCidrs: string[];
  expiresAt: Date | null;
}

export const insertIdentity = (db: Db, row: IdentityFields & { projectId: string; createdById: string | null }) =>
  db.machineIdentity.create({ data: row });

export const findIdentity = (db: Db, id: string) => db.machineIdentity.findUnique({ where: { id } });

export const updateIdentity = (db: Db, id: string, data: Partial<IdentityFields> & { disabledAt?: Date | null }) =>
  db.machineIdentity.update({ where: { id }, data });

export const deleteIdentity = (db: Db, id: string) => db.machineIdentity.delete({ where: { id } });

export const identitiesOf = (db: Db, projectId: string) =>
  db.machineIdentity.findMany({ where: { projectId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });

export const projectOfIdentity = async (db: Db, id: string) =>
  (await db.machineIdentity.findUnique({ where: { id }, select: { projectId: true } }))?.projectId ?? null;

export const projectOfIdentityKey = async (db: Db, apiKeyId: string) =>
  (await db.apiKey.findUnique({ where: { id: apiKeyId }, select: { machineIdentity: { select: { projectId: true } } } }))?.machineIdentity
    ?.projectId ?? null;

/** The project's environments among `names`. */
export const existingEnvironments = async (db: Db, projectId: string, names: string[]) =>
  (await db.environment.findMany({ where: { projectId, name: { in: names } }, select: { name: true } })).map((row) => row.name);

/** Renames an environment in every grant of the project that names it; the identities changed. */
export const renameEnvironmentInGrants = async (db: Db, projectId: string, from: string, to: string) =>
  (
    await db.$queryRaw<Array<{ id: string }>>`
      UPDATE machine_identities SET environments = array_replace(environments, ${from}, ${to}), updated_at = now()
      WHERE project_id = ${projectId}::uuid AND ${from} = ANY(environments)
      RETURNING id`
  ).map((row) => row.id);

/** Removes a deleted environment from every grant of the project; the identities changed. */
export const removeEnvironmentFromGrants = async (db: Db, projectId: string, name: string) =>
  (
    await db.$queryRaw<Array<{ id: string }>>`
      UPDATE machine_identities SET environments = array_remove(environments, ${name}), updated_at = now()
      WHERE project_id = ${projectId}::uuid AND ${name} = ANY(environments)
      RETURNING id`
  ).map((row) => row.id);

/** For node(id:): `ownerId` given, only identities of that user's projects. */
export const identitiesByIds = (db: Db, ids: string[], ownerId?: string) =>
  db.machineIdentity.findMany({ where: { id: { in: ids }, ...(ownerId ? { project: { ownerId } } : {}) } });

export const insertKey = (
  db: Db,
  row: { name: string; machineIdentityId: string; lookupId: string; secretHash: Uint8Array<ArrayBuffer>; expiresAt: Date | null },
) => db.apiKey.create({ data: row });

export const keysOf = (db: Db, machineIdentityId: string) =>
  db.apiKey.findMany({ where: { machineIdentityId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });

export const findKey = (db: Db, id: string) => db.apiKey.findUnique({ where: { id } });

export const revokeKey = (db: Db, id: string, at: Date) => db.apiKey.update({ where: { id }, data: { revokedAt: at } });

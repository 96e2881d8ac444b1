import type { AssociatedData } from '../../crypto/index.js';
import type { Database } from '../../db/database.js';
import { type PagePlan } from '../../db/pagination.js';
import type { Prisma, PrismaClient, Secret, SecretVersion } from '../../generated/prisma/client.js';
import { keyIdQueries, rewrapEach, type SealedRows } from '../../keyring/index.js';
import { environmentIdOf, type ScopeRef } from './secrets.scope.js';

/** Every statement on `secrets` and `secret_versions`. */

type Db = PrismaClient | Prisma.TransactionClient;
type Tx = Prisma.TransactionClient;

export const inTransaction = <T>(prisma: PrismaClient, work: (tx: Tx) => Promise<T>): Promise<T> => prisma.$transaction(work);

/** Binds a version's ciphertext to exactly this secret, scope, name and version. */
export const versionAad = (secret: Pick<Secret, 'id' | 'scope' | 'ownerId' | 'name'>, version: number): AssociatedData => ({
  table: 'secret_versions',
  secretId: secret.id,
  scope: secret.scope,
  ownerId: secret.ownerId,
  name: secret.name,
  version,
});

/** A `secrets` row as Prisma returns it, for statements that bypass Prisma (`Database.query`). */
const SECRET_COLUMNS = `id, scope, owner_id AS "ownerId", environment_id AS "environmentId", name, description,
  current_version AS "currentVersion",
  is_active AS "isActive", is_reserved AS "isReserved", expires_at AS "expiresAt", last_used_at AS "lastUsedAt",
  deleted_at AS "deletedAt", created_at AS "createdAt", updated_at AS "updatedAt",
  created_by_id AS "createdById", updated_by_id AS "updatedById"`;

const byName = (ref: ScopeRef, name: string) => ({
  scope_ownerId_environmentId_name: { scope: ref.scope, ownerId: ref.ownerId, environmentId: environmentIdOf(ref), name },
});

const lockRow = (tx: Tx, ref: ScopeRef, name: string) => tx.$queryRaw<Array<{ id: string }>>`
  SELECT id FROM secrets WHERE scope = ${ref.scope}::"SecretScope" AND owner_id = ${ref.ownerId}::uuid
    AND environment_id = ${environmentIdOf(ref)}::uuid AND name = ${name} FOR UPDATE`;

/** The secret, locked until `tx` ends: writers of one name line up behind each other. */
export async function lockSecret(tx: Tx, ref: ScopeRef, name: string): Promise<Secret | null> {
  const rows = await lockRow(tx, ref, name);
  return rows.length > 0 ? tx.secret.findUnique({ where: byName(ref, name) }) : null;
}

/**
 * The secret, created empty (version 0) unless a row holds the name (a deleted or expired one
 * too), and locked until `tx` ends. Insert-or-nothing first, so concurrent creators cannot both
 * insert: the loser waits on the lock and sees the winner's row.
 */
export async function lockOrCreate(tx: Tx, ref: ScopeRef, name: string, by: string | null, now: Date) {
  const inserted = await tx.$executeRaw`
    INSERT INTO secrets (id, scope, owner_id, environment_id, name, current_version, created_at, updated_at, created_by_id, updated_by_id)
    VALUES (gen_random_uuid(), ${ref.scope}::"SecretScope", ${ref.ownerId}::uuid, ${environmentIdOf(ref)}::uuid, ${name}, 0,
            ${now}, ${now}, ${by}::uuid, ${by}::uuid)
    ON CONFLICT (scope, owner_id, environment_id, name) DO NOTHING`;
  await lockRow(tx, ref, name);
  const secret: Secret = await tx.secret.findUniqueOrThrow({ where: byName(ref, name) });
  return { secret, created: inserted > 0 };
}

/** A secret as listed or looked up: with its environment's name (null for ACCOUNT and USER). */
export type SecretRow = Secret & { environment: string | null };

/** Adds the environment's name to rows the driver just made (no copy: a list is on the hot path). */
const withEnvironment =
  (ref: ScopeRef) =>
  (secret: Secret): SecretRow => {
    const row = secret as SecretRow;
    row.environment = ref.environment;
    return row;
  };

/** Read on every reveal and lookup: one statement without Prisma's query engine (see listSecrets). */
export const findSecret = async (db: Database, ref: ScopeRef, name: string): Promise<SecretRow | null> =>
  (
    await db.query<Secret>(
      `SELECT ${SECRET_COLUMNS} FROM secrets
       WHERE scope = $1::"SecretScope" AND owner_id = $2::uuid AND environment_id = $3::uuid AND name = $4`,
      [ref.scope, ref.ownerId, environmentIdOf(ref), name],
    )
  ).map(withEnvironment(ref))[0] ?? null;

export const updateSecret = (db: Db, id: string, data: Prisma.SecretUncheckedUpdateInput) => db.secret.update({ where: { id }, data });

/** The secret and, by cascade, every version. */
export const deleteSecret = (db: Db, id: string) => db.secret.delete({ where: { id } });

export const insertVersion = (db: Db, row: Prisma.SecretVersionUncheckedCreateInput) => db.secretVersion.create({ data: row });

export const deleteVersionsUpTo = (db: Db, secretId: string, version: number) =>
  db.secretVersion.deleteMany({ where: { secretId, version: { lte: version } } });

export const findVersion = (db: Db, secretId: string, version: number) =>
  db.secretVersion.findUnique({ where: { secretId_version: { secretId, version } } });

/** The audit record of a reveal, as `revealVersion` writes it; `reason` is per outcome. */
export interface RevealAudit {
  actorId: string | null;
  actorMachineIdentityId: string | null;
  actorVia: string;
  action: string;
  targetType: string;
  targetId: string | null;
  targetName: string | null;
  scope: string | null;
  scopeOwnerId: string | null;
  environment: string | null;
  requestId: string | null;
  clientAddress: string | null;
  reasonFound: string;
  reasonMissing: string;
}

interface RevealedRow {
  key_id: string;
  wrapped_key: Uint8Array;
  iv: Uint8Array;
  tag: Uint8Array;
  ciphertext: Uint8Array;
  created_at: Date;
  created_by_id: string | null;
}

/**
 * A reveal's writes in one statement: reads the version, records the audit event (SUCCESS, or
 * FAILED when the version is not kept) and moves the secret's last_used_at forward, at most once
 * a minute (a busy secret is not rewritten on every read). Either all of it is committed or
 * nothing is: a reveal that cannot be audited fails here, before anything is decrypted.
 * Returns the version, or null when it is not kept (the FAILED record is written all the same).
 */
export async function revealVersion(
  db: Database,
  { secretId, version, now, audit }: { secretId: string; version: number; now: Date; audit: RevealAudit },
): Promise<SecretVersion | null> {
  const rows = await db.query<RevealedRow>(
    `WITH v AS (
      SELECT key_id, wrapped_key, iv, tag, ciphertext, created_at, created_by_id
      FROM secret_versions WHERE secret_id = $1::uuid AND version = $2
    ), audit AS (
      INSERT INTO audit_events (id, actor_id, actor_via, action, target_type, target_id, target_name, scope, scope_owner_id,
                                environment, outcome, reason, request_id, client_address, actor_machine_identity_id)
      SELECT gen_random_uuid(), $3::uuid, $4, $5, $6, $7, $8, $9::"SecretScope", $10::uuid, $16,
             CASE WHEN EXISTS (SELECT 1 FROM v) THEN 'SUCCESS' ELSE 'FAILED' END::"AuditOutcome",
             CASE WHEN EXISTS (SELECT 1 FROM v) THEN $11 ELSE $12 END,
             $13, $14, $17::uuid
    ), used AS (
      UPDATE secrets SET last_used_at = $15
      WHERE id = $1::uuid AND EXISTS (SELECT 1 FROM v)
        AND (last_used_at IS NULL OR last_used_at < $15::timestamptz - interval '1 minute')
    )
    SELECT * FROM v`,
    [
      secretId,
      version,
      audit.actorId,
      audit.actorVia,
      audit.action,
      audit.targetType,
      audit.targetId,
      audit.targetName,
      audit.scope,
      audit.scopeOwnerId,
      audit.reasonFound,
      audit.reasonMissing,
      audit.requestId,
      audit.clientAddress,
      now,
      audit.environment,
      audit.actorMachineIdentityId,
    ],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    secretId,
    version,
    keyId: row.key_id,
    wrappedKey: row.wrapped_key,
    iv: row.iv,
    tag: row.tag,
    ciphertext: row.ciphertext,
    createdAt: row.created_at,
    createdById: row.created_by_id,
  } as SecretVersion;
}

/** Newest first; never the sealed value. */
export const listVersions = (db: Db, secretId: string) =>
  db.secretVersion.findMany({
    where: { secretId },
    orderBy: { version: 'desc' },
    select: { secretId: true, version: true, keyId: true, createdAt: true, createdById: true },
  });

export interface SecretFilter {
  namePrefix?: string | null;
  isActive?: boolean | null;
  isReserved?: boolean | null;
  includeDeleted?: boolean | null;
  expiringBefore?: Date | null;
}

/**
 * One scope's secrets as `plan` pages them, newest first. The hottest read of the API, so one
 * statement without Prisma's query engine (which cost more than the query; README, Benchmarks).
 * Expired secrets vanish at once; reserved ones stay visible (flagged isExpired).
 */
export async function listSecrets(db: Database, ref: ScopeRef, filter: SecretFilter, now: Date, plan: PagePlan): Promise<SecretRow[]> {
  const params: unknown[] = [ref.scope, ref.ownerId, environmentIdOf(ref), now];
  const where = [
    'scope = $1::"SecretScope"',
    'owner_id = $2::uuid',
    'environment_id = $3::uuid',
    '(expires_at IS NULL OR expires_at > $4 OR is_reserved)',
  ];
  const param = (value: unknown) => `$${params.push(value)}`;
  if (filter.namePrefix) where.push(`starts_with(name, ${param(filter.namePrefix)})`);
  if (filter.isActive != null) where.push(`is_active = ${param(filter.isActive)}`);
  if (filter.isReserved != null) where.push(`is_reserved = ${param(filter.isReserved)}`);
  if (!filter.includeDeleted) where.push('deleted_at IS NULL');
  if (filter.expiringBefore) where.push(`expires_at < ${param(filter.expiringBefore)}`);
  if (plan.cursor) {
    // The plain range first bounds the (scope, owner_id, environment_id, created_at, id) index scan: deep pages cost what the first does.
    const at = param(plan.cursor.createdAt);
    const id = `${param(plan.cursor.id)}::uuid`;
    where.push(
      plan.backwards
        ? `created_at >= ${at} AND (created_at > ${at} OR id > ${id})`
        : `created_at <= ${at} AND (created_at < ${at} OR id < ${id})`,
    );
  }
  const direction = plan.backwards ? 'ASC' : 'DESC';
  const order = `ORDER BY created_at ${direction}, id ${direction} LIMIT ${param(plan.take)}`;
  const rows = await db.query<Secret>(`SELECT ${SECRET_COLUMNS} FROM secrets WHERE ${where.join(' AND ')} ${order}`, params);
  return rows.map(withEnvironment(ref));
}

const listingWhere = (ref: ScopeRef, filter: SecretFilter, now: Date) => ({
  scope: ref.scope,
  ownerId: ref.ownerId,
  environmentId: environmentIdOf(ref),
  ...(filter.namePrefix ? { name: { startsWith: filter.namePrefix } } : {}),
  ...(filter.isActive != null ? { isActive: filter.isActive } : {}),
  ...(filter.isReserved != null ? { isReserved: filter.isReserved } : {}),
  ...(filter.includeDeleted ? {} : { deletedAt: null }),
  AND: [
    // Expired secrets vanish at once; reserved ones stay visible (flagged isExpired).
    { OR: [{ expiresAt: null }, { expiresAt: { gt: now } }, { isReserved: true }] },
    ...(filter.expiringBefore ? [{ expiresAt: { lt: filter.expiringBefore } }] : []),
  ],
});

export const countSecrets = (db: Db, ref: ScopeRef, filter: SecretFilter, now: Date) =>
  db.secret.count({ where: listingWhere(ref, filter, now) });

/** Secrets by id, for node(id:) lookups; visibility is the caller's to decide. Expired ones vanish as in listings. */
export const secretsByIds = (db: Db, ids: string[], now: Date) =>
  db.secret.findMany({ where: { id: { in: ids }, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }, { isReserved: true }] } });

/** What the expiry sweeper may purge, soonest expired first. */
export const expiredSecrets = (db: Db, now: Date, limit: number) =>
  db.secret.findMany({ where: { expiresAt: { lte: now }, isReserved: false }, take: limit, orderBy: { expiresAt: 'asc' } });

/** Deletes the secret if it is still expired and not reserved: a write may have extended it since it was read. */
export const purgeIfExpired = async (tx: Tx, id: string, now: Date) =>
  (await tx.secret.deleteMany({ where: { id, expiresAt: { lte: now }, isReserved: false } })).count > 0;

export const expiredReserved = (db: Db, now: Date, limit: number) =>
  db.secret.findMany({
    where: { expiresAt: { lte: now }, isReserved: true, deletedAt: null },
    select: { name: true, scope: true, ownerId: true },
    take: limit,
  });

/** An environment's name by id: for secrets a write returned (reads carry it already). */
export const environmentName = async (db: Db, id: string) =>
  (await db.environment.findUnique({ where: { id }, select: { name: true } }))?.name ?? null;

/** The project's owner and the id of its environment `environment` (null if it has none), or null when there is no such project. */
export async function projectAccess(db: Database, projectId: string, environment: string) {
  const [row] = await db.query<{ ownerId: string; environmentId: string | null }>(
    `SELECT p.owner_id AS "ownerId", e.id AS "environmentId"
     FROM projects p LEFT JOIN environments e ON e.project_id = p.id AND e.name = $2
     WHERE p.id = $1::uuid`,
    [projectId, environment],
  );
  return row ?? null;
}

export const userExists = async (db: Db, userId: string) =>
  (await db.user.findUnique({ where: { id: userId }, select: { id: true } })) !== null;

/** Secret versions hold data keys wrapped by keyring terms: how the keyring checks and rotates them. */
export const secretVersionRows: SealedRows = {
  name: 'secret versions',
  ...keyIdQueries('secret_versions', (db) => db.secretVersion),
  rewrapBatch: rewrapEach({
    notUnder: (prisma, termId, limit) =>
      prisma.secretVersion.findMany({
        where: { keyId: { not: termId } },
        orderBy: [{ secretId: 'asc' }, { version: 'asc' }],
        take: limit,
        include: { secret: { select: { id: true, scope: true, ownerId: true, name: true } } },
      }),
    aadOf: (row) => versionAad(row.secret, row.version),
    move: (tx, { secretId, version, keyId }, moved) => tx.secretVersion.updateMany({ where: { secretId, version, keyId }, data: moved }),
  }),
};

/** The secrets of one environment (live and soft-deleted), for deleting the environment. */
export const secretsInEnvironment = (tx: Tx, environmentId: string) => {
  const where = { scope: 'PROJECT' as const, environmentId };
  return {
    count: () => tx.secret.count({ where }),
    /** The rows and, by cascade, every version. */
    destroyAll: async () => (await tx.secret.deleteMany({ where })).count,
  };
};

/** The ids among `projectIds` of projects `userId` owns. */
/** Environment id → name, for the given ids (a machine identity's grant names environments). */
export const environmentNames = async (db: Db, ids: string[]) =>
  new Map(
    (await db.environment.findMany({ where: { id: { in: ids } }, select: { id: true, name: true } })).map((row) => [row.id, row.name]),
  );

export const projectsOwnedBy = async (db: Db, projectIds: string[], userId: string) =>
  (await db.project.findMany({ where: { id: { in: projectIds }, ownerId: userId }, select: { id: true } })).map((project) => project.id);

/** A secret served by a bulk read, with its current version (sealed). */
export type ServedSecret = SecretRow & { version: SecretVersion };

type ServedRow = Secret & Omit<RevealedRow, 'created_at' | 'created_by_id'> & { version_created_at: Date };

/**
 * A bulk read's reads and writes in one statement: the ACTIVE, live, unexpired secrets of one
 * scope (only `names` when given) at their current versions, one audit record per secret revealed
 * ("version N, bulk read") and last_used_at moved forward (at most once a minute). At most `cap`
 * secrets are revealed: when more match, `cap + 1` rows come back and nothing is written, so the
 * caller refuses without any record claiming a reveal. Either all is committed or nothing is.
 */
export async function revealServedSecrets(
  db: Database,
  {
    ref,
    names,
    now,
    cap,
    audit,
  }: {
    ref: ScopeRef;
    names: string[] | null;
    now: Date;
    cap: number;
    audit: Omit<RevealAudit, 'targetId' | 'targetName' | 'reasonFound' | 'reasonMissing'>;
  },
): Promise<ServedSecret[]> {
  const rows = await db.query<ServedRow>(
    `WITH v AS (
      SELECT s.id, s.scope, s.owner_id AS "ownerId", s.environment_id AS "environmentId", s.name, s.description,
             s.current_version AS "currentVersion", s.is_active AS "isActive", s.is_reserved AS "isReserved",
             s.expires_at AS "expiresAt", s.last_used_at AS "lastUsedAt", s.deleted_at AS "deletedAt",
             s.created_at AS "createdAt", s.updated_at AS "updatedAt", s.created_by_id AS "createdById", s.updated_by_id AS "updatedById",
             sv.key_id, sv.wrapped_key, sv.iv, sv.tag, sv.ciphertext, sv.created_at AS version_created_at
      FROM secrets s JOIN secret_versions sv ON sv.secret_id = s.id AND sv.version = s.current_version
      WHERE s.scope = $1::"SecretScope" AND s.owner_id = $2::uuid AND s.environment_id = $3::uuid
        AND s.deleted_at IS NULL AND s.is_active AND (s.expires_at IS NULL OR s.expires_at > $4)
        AND ($5::text[] IS NULL OR s.name = ANY($5::text[]))
      ORDER BY s.name LIMIT $6::int + 1
    ), within AS (
      SELECT * FROM v WHERE (SELECT count(*) FROM v) <= $6::int
    ), audit AS (
      INSERT INTO audit_events (id, actor_id, actor_via, action, target_type, target_id, target_name, scope, scope_owner_id,
                                environment, outcome, reason, request_id, client_address)
      SELECT gen_random_uuid(), $7::uuid, $8, $9, $10, w.id::text, w.name, w.scope, w."ownerId", $11,
             'SUCCESS'::"AuditOutcome", 'version ' || w."currentVersion" || ', bulk read', $12, $13
      FROM within w
    ), used AS (
      UPDATE secrets SET last_used_at = $4
      WHERE id IN (SELECT id FROM within) AND (last_used_at IS NULL OR last_used_at < $4::timestamptz - interval '1 minute')
    )
    SELECT * FROM v ORDER BY name`,
    [
      ref.scope,
      ref.ownerId,
      environmentIdOf(ref),
      now,
      names,
      cap,
      audit.actorId,
      audit.actorVia,
      audit.action,
      audit.targetType,
      audit.environment,
      audit.requestId,
      audit.clientAddress,
    ],
  );
  return rows.map((row) => {
    const { key_id, wrapped_key, iv, tag, ciphertext, version_created_at, ...secret } = row;
    const served = withEnvironment(ref)(secret) as ServedSecret;
    served.version = {
      secretId: secret.id,
      version: secret.currentVersion,
      keyId: key_id,
      wrappedKey: wrapped_key,
      iv,
      tag,
      ciphertext,
      createdAt: version_created_at,
      createdById: null,
    } as SecretVersion;
    return served;
  });
}

/**
 * The live secrets of one scope (not deleted; expired ones only when reserved, as reads see them),
 * by name, inactive ones included; only `names` when given.
 */
export const liveSecretsIn = (db: Db, ref: ScopeRef, now: Date, names: readonly string[] | null = null) =>
  db.secret.findMany({
    where: {
      scope: ref.scope,
      ownerId: ref.ownerId,
      environmentId: environmentIdOf(ref),
      deletedAt: null,
      OR: [{ expiresAt: null }, { expiresAt: { gt: now } }, { isReserved: true }],
      ...(names ? { name: { in: [...names] } } : {}),
    },
    orderBy: { name: 'asc' },
  });

/** The current version (sealed) of each secret. */
export const currentVersions = (db: Db, secrets: ReadonlyArray<Pick<Secret, 'id' | 'currentVersion'>>) =>
  secrets.length === 0
    ? Promise.resolve([])
    : db.secretVersion.findMany({ where: { OR: secrets.map((secret) => ({ secretId: secret.id, version: secret.currentVersion })) } });

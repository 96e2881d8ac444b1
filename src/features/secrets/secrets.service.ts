import { decryptValue, sealedOf, storedOf, type AssociatedData } from '../../crypto/index.js';
import type { Prisma, Secret } from '../../generated/prisma/client.js';
import type { AuthenticatedContext } from '../../graphql/context.js';
import { badInput, conflict, forbidden, isCofferError, notFound, type FieldProblem } from '../../errors.js';
import { keysetOrder, keysetWhere, planPage, toConnection, type PageArgs } from '../../db/pagination.js';
import type { Actor } from '../../auth/index.js';
import { recordAudit } from '../audit/index.js';
import { MAX_VALUE_BYTES, SECRET_NAME, type ScopeRef } from './secrets.types.js';

type Tx = Prisma.TransactionClient;

/** Binds a version's ciphertext to exactly this secret, scope, name and version. */
export const versionAad = (secret: Pick<Secret, 'id' | 'scope' | 'ownerId' | 'name'>, version: number): AssociatedData => ({
  table: 'secret_versions',
  secretId: secret.id,
  scope: secret.scope,
  ownerId: secret.ownerId,
  name: secret.name,
  version,
});

const actorOf = (ctx: AuthenticatedContext): Actor => ({ viewer: ctx.viewer, requestId: ctx.requestId, clientAddress: ctx.clientAddress });

/** Expired and not reserved: gone for every read, waiting for the sweeper. */
export const isHidden = (secret: Secret, now: Date) => secret.deletedAt !== null || (!secret.isReserved && secret.expiresAt !== null && secret.expiresAt <= now);

export function validateName(name: string, field = 'name'): FieldProblem[] {
  return SECRET_NAME.test(name) ? [] : [{ field, message: 'must be 1-255 characters of A-Z, 0-9 and _' }];
}

export function validateValue(value: string, field = 'value'): FieldProblem[] {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes < 1) return [{ field, message: 'must not be empty' }];
  if (bytes > MAX_VALUE_BYTES) return [{ field, message: `must be at most ${MAX_VALUE_BYTES} bytes of UTF-8` }];
  if (!value.isWellFormed()) return [{ field, message: 'must be valid UTF-8 text' }];
  return [];
}

/**
 * Runs a secrets operation; a FORBIDDEN answer (reserved secret, isReserved by a non-admin) is
 * audited as DENIED. Written after the operation's transaction rolled back, so it stays.
 */
export async function auditingDenials<T>(ctx: AuthenticatedContext, action: string, ref: ScopeRef, name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isCofferError(error) && error.code === 'FORBIDDEN') {
      await recordAudit(ctx.db.prisma, actorOf(ctx), { action, outcome: 'DENIED', targetType: 'secret', targetName: name, scope: ref.scope, scopeOwnerId: ref.ownerId, reason: error.message });
    }
    throw error;
  }
}

function ensureValid(problems: FieldProblem[]) {
  if (problems.length > 0) throw badInput(problems);
}

function ensureReservedByAdmin(ctx: AuthenticatedContext, isReserved: boolean | null | undefined) {
  if (isReserved != null && ctx.viewer.role !== 'ADMIN') throw forbidden('Only admins can set or clear isReserved.');
}

async function lockSecret(tx: Tx, ref: ScopeRef, name: string): Promise<Secret | null> {
  const rows = await tx.$queryRaw<Array<{ id: string }>>`
    SELECT id FROM secrets WHERE scope = ${ref.scope}::"SecretScope" AND owner_id = ${ref.ownerId}::uuid AND name = ${name} FOR UPDATE`;
  return rows[0] ? tx.secret.findUnique({ where: { id: rows[0].id } }) : null;
}

/** Appends a new version holding `value`, and drops versions beyond what is kept. */
async function writeVersion(ctx: AuthenticatedContext, tx: Tx, secret: Secret, value: string) {
  const version = secret.currentVersion + 1;
  const sealed = await ctx.keyring.seal(tx, value, versionAad(secret, version));
  await tx.secretVersion.create({ data: { secretId: secret.id, version, ...storedOf(sealed), createdById: ctx.viewer.userId } });
  await tx.secretVersion.deleteMany({ where: { secretId: secret.id, version: { lte: version - ctx.config.secretVersionsKept } } });
  return version;
}

export interface UpsertInput {
  name: string;
  value: string;
  ifExists: 'REPLACE' | 'FAIL';
  expectedVersion?: number | null;
  description?: string | null;
  isActive?: boolean | null;
  isReserved?: boolean | null;
  expiresAt?: Date | null;
}

/**
 * Create-or-replace. The row is locked for the whole write, so concurrent writers of one name
 * line up: every write gets its own version, none is lost, and `ifExists: FAIL` lets one win.
 */
export async function upsertSecret({ ctx, ref, input }: { ctx: AuthenticatedContext; ref: ScopeRef; input: UpsertInput }) {
  ensureValid([...validateName(input.name, 'input.name'), ...validateValue(input.value, 'input.value'), ...validateExpiry(ctx, input.expiresAt)]);
  ensureReservedByAdmin(ctx, input.isReserved);
  const now = ctx.now();
  // A rotation elsewhere may retire the term this write started under: it is then written again.
  return ctx.keyring.retrying(() => ctx.db.prisma.$transaction(async (tx) => {
    const inserted = await tx.$executeRaw`
      INSERT INTO secrets (id, scope, owner_id, name, current_version, created_at, updated_at, created_by_id, updated_by_id)
      VALUES (gen_random_uuid(), ${ref.scope}::"SecretScope", ${ref.ownerId}::uuid, ${input.name}, 0, ${now}, ${now}, ${ctx.viewer.userId}::uuid, ${ctx.viewer.userId}::uuid)
      ON CONFLICT (scope, owner_id, name) DO NOTHING`;
    const secret = (await lockSecret(tx, ref, input.name)) as Secret;
    const existed = inserted === 0 && !isHidden(secret, now);
    if (existed && input.ifExists === 'FAIL') throw conflict(`A secret named ${input.name} already exists in this scope.`);
    const current = existed ? secret.currentVersion : 0;
    if (input.expectedVersion != null && input.expectedVersion !== current) {
      throw conflict(`The secret is at version ${current}, not ${input.expectedVersion}.`);
    }
    const version = await writeVersion(ctx, tx, secret, input.value);
    const revived = !existed && inserted === 0;
    const updated = await tx.secret.update({
      where: { id: secret.id },
      data: {
        currentVersion: version,
        deletedAt: null,
        updatedAt: now,
        updatedById: ctx.viewer.userId,
        // A name revived after deletion or expiry starts afresh, as a create would.
        ...(revived ? { createdAt: now, createdById: ctx.viewer.userId, isActive: true, isReserved: false, expiresAt: null, description: null, lastUsedAt: null } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.isActive != null ? { isActive: input.isActive } : {}),
        ...(input.isReserved != null ? { isReserved: input.isReserved } : {}),
        ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
      },
    });
    await recordAudit(tx, actorOf(ctx), { action: existed ? 'secret.replace' : 'secret.create', outcome: 'SUCCESS', ...target(updated) });
    return updated;
  }));
}

function validateExpiry(ctx: AuthenticatedContext, expiresAt: Date | null | undefined): FieldProblem[] {
  return expiresAt && expiresAt <= ctx.now() ? [{ field: 'input.expiresAt', message: 'must be in the future' }] : [];
}

const target = (secret: Secret) => ({ targetType: 'secret', targetId: secret.id, targetName: secret.name, scope: secret.scope, scopeOwnerId: secret.ownerId });

async function lockVisible(tx: Tx, ref: ScopeRef, name: string, now: Date, { includeDeleted = false } = {}) {
  const secret = await lockSecret(tx, ref, name);
  if (!secret || (includeDeleted ? secret.deletedAt === null && isHidden(secret, now) : isHidden(secret, now))) throw notFound(`Secret ${name}`);
  return secret;
}

export interface UpdateInput {
  name: string;
  value?: string | null;
  expectedVersion?: number | null;
  description?: string | null;
  isActive?: boolean | null;
  isReserved?: boolean | null;
  expiresAt?: Date | null;
}

/** Changes what is given; a new value makes a new version. `expiresAt: null` clears the expiry. */
export async function updateSecret({ ctx, ref, input }: { ctx: AuthenticatedContext; ref: ScopeRef; input: UpdateInput }) {
  ensureValid([...validateName(input.name, 'input.name'), ...(input.value != null ? validateValue(input.value, 'input.value') : []), ...validateExpiry(ctx, input.expiresAt)]);
  ensureReservedByAdmin(ctx, input.isReserved);
  const now = ctx.now();
  return ctx.keyring.retrying(() => ctx.db.prisma.$transaction(async (tx) => {
    const secret = await lockVisible(tx, ref, input.name, now);
    if (input.expectedVersion != null && input.expectedVersion !== secret.currentVersion) {
      throw conflict(`The secret is at version ${secret.currentVersion}, not ${input.expectedVersion}.`);
    }
    const version = input.value != null ? await writeVersion(ctx, tx, secret, input.value) : secret.currentVersion;
    const updated = await tx.secret.update({
      where: { id: secret.id },
      data: {
        currentVersion: version,
        updatedAt: now,
        updatedById: ctx.viewer.userId,
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.isActive != null ? { isActive: input.isActive } : {}),
        ...(input.isReserved != null ? { isReserved: input.isReserved } : {}),
        ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
      },
    });
    await recordAudit(tx, actorOf(ctx), { action: 'secret.update', outcome: 'SUCCESS', ...target(updated) });
    return updated;
  }));
}

export async function deleteSecret({ ctx, ref, name }: { ctx: AuthenticatedContext; ref: ScopeRef; name: string }) {
  ensureValid(validateName(name));
  const now = ctx.now();
  return ctx.db.prisma.$transaction(async (tx) => {
    const secret = await lockVisible(tx, ref, name, now);
    if (secret.isReserved) throw forbidden(`${name} is reserved and cannot be deleted. An admin can clear isReserved first.`);
    const deleted = await tx.secret.update({ where: { id: secret.id }, data: { deletedAt: now, updatedAt: now, updatedById: ctx.viewer.userId } });
    await recordAudit(tx, actorOf(ctx), { action: 'secret.delete', outcome: 'SUCCESS', ...target(deleted) });
    return deleted;
  });
}

export async function restoreSecret({ ctx, ref, name }: { ctx: AuthenticatedContext; ref: ScopeRef; name: string }) {
  ensureValid(validateName(name));
  const now = ctx.now();
  return ctx.db.prisma.$transaction(async (tx) => {
    const secret = await lockSecret(tx, ref, name);
    if (!secret || secret.deletedAt === null) throw notFound(`Deleted secret ${name}`);
    const restored = await tx.secret.update({ where: { id: secret.id }, data: { deletedAt: null, updatedAt: now, updatedById: ctx.viewer.userId } });
    await recordAudit(tx, actorOf(ctx), { action: 'secret.restore', outcome: 'SUCCESS', ...target(restored) });
    return restored;
  });
}

/** Makes a kept version current again, as a new version (history only grows). */
export async function rollbackSecret({ ctx, ref, name, version, expectedVersion }: { ctx: AuthenticatedContext; ref: ScopeRef; name: string; version: number; expectedVersion?: number | null }) {
  ensureValid(validateName(name));
  const now = ctx.now();
  return ctx.keyring.retrying(() => ctx.db.prisma.$transaction(async (tx) => {
    const secret = await lockVisible(tx, ref, name, now);
    if (expectedVersion != null && expectedVersion !== secret.currentVersion) throw conflict(`The secret is at version ${secret.currentVersion}, not ${expectedVersion}.`);
    const old = await tx.secretVersion.findUnique({ where: { secretId_version: { secretId: secret.id, version } } });
    if (!old) throw notFound(`Version ${version} of ${name}`);
    const keyring = await ctx.keyring.holding(old.keyId, tx);
    const value = decryptValue(keyring, sealedOf(old), versionAad(secret, version)).toString('utf8');
    const next = await writeVersion(ctx, tx, secret, value);
    const updated = await tx.secret.update({ where: { id: secret.id }, data: { currentVersion: next, updatedAt: now, updatedById: ctx.viewer.userId } });
    await recordAudit(tx, actorOf(ctx), { action: 'secret.rollback', outcome: 'SUCCESS', reason: `to version ${version}`, ...target(updated) });
    return updated;
  }));
}

/** Permanent: the row and every version are gone. Admins only; reserved secrets must be released first. */
export async function destroySecret({ ctx, ref, name }: { ctx: AuthenticatedContext; ref: ScopeRef; name: string }) {
  ensureValid(validateName(name));
  return ctx.db.prisma.$transaction(async (tx) => {
    const secret = await lockSecret(tx, ref, name);
    if (!secret) throw notFound(`Secret ${name}`);
    if (secret.isReserved) throw forbidden(`${name} is reserved: clear isReserved before destroying it.`);
    await tx.secret.delete({ where: { id: secret.id } });
    await recordAudit(tx, actorOf(ctx), { action: 'secret.destroy', outcome: 'SUCCESS', ...target(secret) });
    return secret;
  });
}

/** Metadata of one secret, or NOT_FOUND; `includeDeleted` lets history be read after a delete. */
export async function findSecret({ ctx, ref, name, includeDeleted = false }: { ctx: AuthenticatedContext; ref: ScopeRef; name: string; includeDeleted?: boolean }) {
  ensureValid(validateName(name));
  const secret = await ctx.db.prisma.secret.findUnique({ where: { scope_ownerId_name: { scope: ref.scope, ownerId: ref.ownerId, name } } });
  const now = ctx.now();
  if (!secret || (isHidden(secret, now) && !(includeDeleted && secret.deletedAt !== null))) throw notFound(`Secret ${name}`);
  return secret;
}

export async function listVersions({ ctx, ref, name }: { ctx: AuthenticatedContext; ref: ScopeRef; name: string }) {
  const secret = await findSecret({ ctx, ref, name, includeDeleted: true });
  return ctx.db.prisma.secretVersion.findMany({ where: { secretId: secret.id }, orderBy: { version: 'desc' }, select: { secretId: true, version: true, keyId: true, createdAt: true, createdById: true } });
}

/**
 * Decrypts one version. The audit record and last-used time are written first, in one
 * transaction: a reveal that cannot be audited does not happen.
 */
export async function revealValue({ ctx, secret, version }: { ctx: AuthenticatedContext; secret: Secret; version: number }) {
  const row = await ctx.db.prisma.$transaction(async (tx) => {
    const found = await tx.secretVersion.findUnique({ where: { secretId_version: { secretId: secret.id, version } } });
    await recordAudit(tx, actorOf(ctx), {
      action: 'secret.reveal',
      outcome: found ? 'SUCCESS' : 'FAILED',
      reason: found ? `version ${version}` : `version ${version} is not kept`,
      ...target(secret),
    });
    if (found) await tx.secret.update({ where: { id: secret.id }, data: { lastUsedAt: ctx.now() } });
    return found;
  });
  if (!row) throw notFound(`Version ${version} of ${secret.name}`);
  const keyring = await ctx.keyring.holding(row.keyId);
  return decryptValue(keyring, sealedOf(row), versionAad(secret, version)).toString('utf8');
}

export interface SecretFilterInput {
  namePrefix?: string | null;
  isActive?: boolean | null;
  isReserved?: boolean | null;
  includeDeleted?: boolean | null;
  expiringBefore?: Date | null;
}

/** Metadata only, newest first, keyset-paginated (no duplicates or gaps while secrets are added). */
export async function listSecrets({ ctx, ref, filter, page }: { ctx: AuthenticatedContext; ref: ScopeRef; filter: SecretFilterInput; page: PageArgs }) {
  const plan = planPage(page);
  if (filter.namePrefix != null && !/^[A-Z0-9_]{0,255}$/.test(filter.namePrefix)) {
    throw badInput([{ field: 'filter.namePrefix', message: 'must be characters of A-Z, 0-9 and _' }]);
  }
  const now = ctx.now();
  const rows = await ctx.db.prisma.secret.findMany({
    where: {
      scope: ref.scope,
      ownerId: ref.ownerId,
      ...(filter.namePrefix ? { name: { startsWith: filter.namePrefix } } : {}),
      ...(filter.isActive != null ? { isActive: filter.isActive } : {}),
      ...(filter.isReserved != null ? { isReserved: filter.isReserved } : {}),
      ...(filter.includeDeleted ? {} : { deletedAt: null }),
      AND: [
        // Expired secrets vanish at once; reserved ones stay visible (flagged isExpired).
        { OR: [{ expiresAt: null }, { expiresAt: { gt: now } }, { isReserved: true }] },
        ...(filter.expiringBefore ? [{ expiresAt: { lt: filter.expiringBefore } }] : []),
        keysetWhere(plan),
      ],
    },
    orderBy: keysetOrder(plan),
    take: plan.take,
  });
  return toConnection(rows, plan);
}

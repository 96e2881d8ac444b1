import { createHash } from 'node:crypto';
import { decryptValue, sealedOf, storedOf, type AssociatedData } from '../../../crypto/index.js';
import type { Prisma, PrismaClient, StripeCredential } from '../../../generated/prisma/client.js';
import type { StripeCredentialKind, StripeEnvironment } from '../../../generated/prisma/enums.js';
import { keyIdQueries, type KeyringStore, type SealedRows } from '../../../keyring/index.js';
import { maskCredential } from './credentials.js';

type Db = PrismaClient | Prisma.TransactionClient;

/** Binds a stored credential to its project, environment and kind: it cannot be moved to another. */
export const credentialAad = (projectId: string, environment: StripeEnvironment, kind: StripeCredentialKind): AssociatedData => ({
  table: 'stripe_credentials',
  projectId,
  environment,
  kind,
});

/**
 * Recognises "the same key again" without decrypting. A plain SHA-256 is enough: Stripe keys
 * carry well over 128 random bits, so the digest cannot be searched back to the key.
 */
export const fingerprintOf = (value: string) => new Uint8Array(createHash('sha256').update(`stripe-credential:${value}`).digest());

/** Run inside the saving transaction, itself inside `keyring.retrying` (see KeyringStore.seal). */
export async function saveCredential(
  tx: Prisma.TransactionClient,
  keyring: KeyringStore,
  {
    environmentId,
    projectId,
    environment,
    kind,
    value,
    keepPreviousUntil,
  }: {
    environmentId: string;
    projectId: string;
    environment: StripeEnvironment;
    kind: StripeCredentialKind;
    value: string;
    /** For a webhook signing secret: the one it replaces stays accepted until then (a roll's overlap). */
    keepPreviousUntil?: Date | null;
  },
) {
  if (kind === 'WEBHOOK_SECRET') {
    const previous = await tx.stripeCredential.findUnique({ where: { environmentId_kind: { environmentId, kind } } });
    await deleteCredential(tx, environmentId, 'PREVIOUS_WEBHOOK_SECRET');
    if (previous && keepPreviousUntil && !sameCredential(previous, value)) {
      // Sealed again under its new kind: the kind is part of what the ciphertext is bound to.
      const old = await revealCredential(keyring, projectId, environment, previous, tx);
      const resealed = storedOf(await keyring.seal(tx, old, credentialAad(projectId, environment, 'PREVIOUS_WEBHOOK_SECRET')));
      await tx.stripeCredential.create({
        data: {
          environmentId,
          kind: 'PREVIOUS_WEBHOOK_SECRET',
          masked: previous.masked,
          fingerprint: previous.fingerprint,
          ...resealed,
          createdAt: previous.createdAt,
          expiresAt: keepPreviousUntil,
        },
      });
    }
  }
  const sealed = storedOf(await keyring.seal(tx, value, credentialAad(projectId, environment, kind)));
  const data = { masked: maskCredential(value), fingerprint: fingerprintOf(value), ...sealed, createdAt: new Date() };
  await tx.stripeCredential.upsert({
    where: { environmentId_kind: { environmentId, kind } },
    create: { environmentId, kind, ...data },
    update: data,
  });
}

export async function deleteCredential(db: Db, environmentId: string, kind: StripeCredentialKind) {
  await db.stripeCredential.deleteMany({ where: { environmentId, kind } });
}

/** Decrypts a stored credential; pass `db` when called inside a transaction. */
export async function revealCredential(
  keyring: KeyringStore,
  projectId: string,
  environment: StripeEnvironment,
  row: StripeCredential,
  db?: Db,
): Promise<string> {
  const ring = await keyring.holding(row.keyId, db);
  return decryptValue(ring, sealedOf(row), credentialAad(projectId, environment, row.kind)).toString('utf8');
}

export function sameCredential(row: StripeCredential | undefined, value: string): boolean {
  return row !== undefined && Buffer.from(row.fingerprint).equals(Buffer.from(fingerprintOf(value)));
}

/** Stripe credentials share the vault's keyring: how the keyring checks and rotates them. */
export const stripeCredentialRows: SealedRows = {
  name: 'Stripe credentials',
  ...keyIdQueries('stripe_credentials', (db) => db.stripeCredential),
  async rewrapBatch(prisma, rewrap, termId, limit) {
    const rows = await prisma.stripeCredential.findMany({
      where: { keyId: { not: termId } },
      orderBy: [{ environmentId: 'asc' }, { kind: 'asc' }],
      take: limit,
      include: { environment: { select: { projectId: true, environment: true } } },
    });
    if (rows.length === 0) return 0;
    await prisma.$transaction(async (tx) => {
      for (const row of rows) {
        const moved = rewrap(sealedOf(row), credentialAad(row.environment.projectId, row.environment.environment, row.kind));
        await tx.stripeCredential.updateMany({
          where: { environmentId: row.environmentId, kind: row.kind, keyId: row.keyId },
          data: { keyId: moved.keyId, wrappedKey: storedOf(moved).wrappedKey },
        });
      }
    });
    return rows.length;
  },
};

import { createHash } from 'node:crypto';
import { decryptValue, encryptValue, type AssociatedData, type Keyring } from '../../crypto/index.js';
import type { Prisma, PrismaClient, StripeCredential } from '../../generated/prisma/client.js';
import type { StripeCredentialKind, StripeEnvironment } from '../../generated/prisma/enums.js';
import { sealedOf, storedOf } from '../secrets/secrets.service.js';
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

export async function saveCredential(db: Db, keyring: Keyring, { environmentId, projectId, environment, kind, value }: { environmentId: string; projectId: string; environment: StripeEnvironment; kind: StripeCredentialKind; value: string }) {
  const sealed = storedOf(encryptValue(keyring, value, credentialAad(projectId, environment, kind)));
  const data = { masked: maskCredential(value), fingerprint: fingerprintOf(value), ...sealed, createdAt: new Date() };
  await db.stripeCredential.upsert({ where: { environmentId_kind: { environmentId, kind } }, create: { environmentId, kind, ...data }, update: data });
}

export async function deleteCredential(db: Db, environmentId: string, kind: StripeCredentialKind) {
  await db.stripeCredential.deleteMany({ where: { environmentId, kind } });
}

export function revealCredential(keyring: Keyring, projectId: string, environment: StripeEnvironment, row: StripeCredential): string {
  return decryptValue(keyring, sealedOf(row), credentialAad(projectId, environment, row.kind)).toString('utf8');
}

export function sameCredential(row: StripeCredential | undefined, value: string): boolean {
  return row !== undefined && Buffer.from(row.fingerprint).equals(Buffer.from(fingerprintOf(value)));
}

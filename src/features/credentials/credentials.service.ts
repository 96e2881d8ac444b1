import { isUniqueViolation } from '../../db/prisma-errors.js';
import {
  announcePrincipalChange,
  apiKeyMatches,
  generateApiKey,
  hashApiKey,
  isAdmin,
  parseApiKey,
  signToken,
  type ServerKeys,
  type Viewer,
} from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import { isUuid } from '../../db/ids.js';
import { badInput, forbidden, notFound } from '../../errors.js';
import type { ClusterSignals } from '../../events/signals.js';
import { firstAdmin } from '../users/index.js';
import * as credentialsRepository from './credentials.repository.js';

/** Creates an API key for `userId`; the key itself is in this answer only. */
export async function createApiKey({
  db,
  keys,
  userId,
  name,
  expiresAt = null,
  now,
}: {
  db: Database;
  keys: ServerKeys;
  userId: string;
  name: string;
  expiresAt?: Date | null;
  now?: Date;
}) {
  if (expiresAt && now && expiresAt <= now) throw badInput([{ field: 'input.expiresAt', message: 'must be in the future' }]);
  if (!(await credentialsRepository.userExists(db.prisma, userId))) throw notFound('User');
  const { key, lookupId } = generateApiKey();
  const apiKey = await credentialsRepository.createApiKey(db.prisma, {
    name: name.trim(),
    userId,
    lookupId,
    secretHash: hashApiKey(keys.apiKeyHmacKey, key),
    expiresAt,
  });
  return { apiKey, key };
}

/**
 * Revokes at once; revoking twice is harmless. Someone else's key is NOT_FOUND to a non-admin;
 * without a viewer (the operator's CLI) any key may be revoked.
 */
export async function revokeApiKey({
  db,
  signals,
  viewer,
  id,
  now,
}: {
  db: Database;
  signals: ClusterSignals;
  viewer: Viewer | null;
  id: string;
  now: Date;
}) {
  const apiKey = isUuid(id) ? await credentialsRepository.findApiKey(db.prisma, id) : null;
  // Do not confirm that someone else's key exists.
  // A machine identity's keys are revoked through revokeMachineIdentityApiKey (its project's owner).
  if (!apiKey || !apiKey.userId || (viewer && (viewer.kind !== 'user' || apiKey.userId !== viewer.userId) && !isAdmin(viewer)))
    throw notFound('API key');
  if (apiKey.revokedAt) return apiKey;
  const revoked = await credentialsRepository.revokeApiKey(db.prisma, id, now);
  // Every process that holds the key verified in memory drops it now, not when its cache expires.
  await announcePrincipalChange(signals, { apiKeyId: id });
  return revoked;
}

export const listApiKeys = ({ db, userId }: { db: Database; userId: string }) => credentialsRepository.apiKeysOf(db.prisma, userId);

/** A short-lived Coffer JWT for a user. */
export async function issueToken({
  db,
  keys,
  ttlSeconds,
  userId,
  now,
}: {
  db: Database;
  keys: ServerKeys;
  ttlSeconds: number;
  userId: string;
  now: Date;
}) {
  const user = await credentialsRepository.findUser(db.prisma, userId);
  if (!user) throw notFound('User');
  if (user.disabledAt) throw forbidden('This user is disabled.');
  return signToken(keys.tokenSigningKey, user.id, ttlSeconds, now);
}

/**
 * Registers a key chosen by the operator (COFFER_ADMIN_API_KEY), e.g. one kept in their own
 * vault. A changed key replaces (revokes) the one registered before it.
 */
async function registerApiKey({
  db,
  signals,
  keys,
  userId,
  name,
  key,
}: {
  db: Database;
  signals: ClusterSignals | undefined;
  keys: ServerKeys;
  userId: string;
  name: string;
  key: string;
}) {
  const parsed = parseApiKey(key);
  if (!parsed) throw new Error('Not a Coffer API key.');
  const existing = await credentialsRepository.findApiKeyByLookupId(db.prisma, parsed.lookupId);
  if (existing && apiKeyMatches(keys.apiKeyHmacKey, key, existing.secretHash) && !existing.revokedAt) return { registered: false };
  const row = { name, userId, lookupId: parsed.lookupId, secretHash: hashApiKey(keys.apiKeyHmacKey, key), expiresAt: null };
  try {
    await credentialsRepository.replaceNamedKey(db.prisma, { userId, name, existingId: existing?.id ?? null, row });
  } catch (error) {
    // Replicas starting at once with the same COFFER_ADMIN_API_KEY: the first one registered it.
    if (!isUniqueViolation(error)) throw error;
    const registered = await credentialsRepository.findApiKeyByLookupId(db.prisma, parsed.lookupId);
    if (registered && apiKeyMatches(keys.apiKeyHmacKey, key, registered.secretHash) && !registered.revokedAt) return { registered: false };
    throw error;
  }
  // The replaced keys are revoked: drop this user's cached credentials everywhere.
  if (signals) await announcePrincipalChange(signals, { userId });
  return { registered: true };
}

export type BootstrapResult =
  | { kind: 'existing-admin' }
  | { kind: 'created'; email: string; apiKey: string }
  | { kind: 'registered-configured-key'; email: string }
  | { kind: 'configured-key-unchanged' };

/**
 * First start: with no admin there is no way in, so create one. The generated key is returned
 * once for the operator to copy; a key given in COFFER_ADMIN_API_KEY is registered instead.
 */
export async function ensureBootstrapAdmin({
  db,
  signals,
  keys,
  configuredKey,
}: {
  db: Database;
  /** Other replicas may hold the replaced key in memory: told when given. */
  signals?: ClusterSignals;
  keys: ServerKeys;
  configuredKey?: string | undefined;
}): Promise<BootstrapResult> {
  const { user, created } = await firstAdmin({ db, signals });
  if (!created && !configuredKey) return { kind: 'existing-admin' };
  if (configuredKey) {
    const { registered } = await registerApiKey({ db, signals, keys, userId: user.id, name: 'COFFER_ADMIN_API_KEY', key: configuredKey });
    return registered ? { kind: 'registered-configured-key', email: user.email } : { kind: 'configured-key-unchanged' };
  }
  const { key } = await createApiKey({ db, keys, userId: user.id, name: 'bootstrap admin key' });
  return { kind: 'created', email: user.email, apiKey: key };
}

import { generateMasterKey, rewrapDataKey, type KeyringStore } from '../../crypto/index.js';
import type { Database } from '../../db/database.js';
import { conflict } from '../../graphql/errors.js';
import { recordAudit, type AuditActor } from '../audit/audit.service.js';
import { credentialAad } from '../stripe/stripe-credentials.repository.js';
import { sealedOf, storedOf, versionAad } from './secrets.service.js';

export interface RotationProgress {
  rewrapped: number;
  total: number;
}

/**
 * Moves every data key under the active master key, one committed batch at a time: values are
 * not re-encrypted, and an interrupted rotation resumes where it stopped when run again.
 * Old keys stay in the keyring until no data key depends on them.
 */
export async function rotateMasterKey({
  db,
  keyring,
  actor,
  generateNewKey,
  maxBatches,
  batchSize = 500,
  onProgress,
}: {
  db: Database;
  keyring: KeyringStore;
  actor: AuditActor;
  generateNewKey: boolean;
  maxBatches?: number | undefined;
  batchSize?: number;
  onProgress?: (progress: RotationProgress) => void;
}) {
  if (generateNewKey) {
    if (!keyring.canWrite) {
      throw conflict('Master keys come from COFFER_MASTER_KEYS: put a new key first in that list and restart, then rotate without generateNewKey.');
    }
    await keyring.activate(generateMasterKey());
  }
  const activeKeyId = keyring.current.active.id;
  const stale = { keyId: { not: activeKeyId } };
  const countStale = async () => (await db.prisma.secretVersion.count({ where: stale })) + (await db.prisma.stripeCredential.count({ where: stale }));
  const total = await countStale();
  let rewrapped = 0;
  let batch = 0;
  for (; maxBatches === undefined || batch < maxBatches; batch += 1) {
    const rows = await db.prisma.secretVersion.findMany({
      where: stale,
      orderBy: [{ secretId: 'asc' }, { version: 'asc' }],
      take: batchSize,
      include: { secret: { select: { id: true, scope: true, ownerId: true, name: true } } },
    });
    if (rows.length === 0) break;
    const current = keyring.current;
    await db.prisma.$transaction(async (tx) => {
      for (const row of rows) {
        const moved = rewrapDataKey(current, sealedOf(row), versionAad(row.secret, row.version), activeKeyId);
        // Only if still under the old key: a concurrent rotation or write may have moved it.
        await tx.secretVersion.updateMany({
          where: { secretId: row.secretId, version: row.version, keyId: row.keyId },
          data: { keyId: moved.keyId, wrappedKey: storedOf(moved).wrappedKey },
        });
      }
    });
    rewrapped += rows.length;
    onProgress?.({ rewrapped, total });
  }
  // Stripe credentials share the keyring: they move with the same rotation.
  for (; maxBatches === undefined || batch < maxBatches; batch += 1) {
    const rows = await db.prisma.stripeCredential.findMany({
      where: stale,
      orderBy: [{ environmentId: 'asc' }, { kind: 'asc' }],
      take: batchSize,
      include: { environment: { select: { projectId: true, environment: true } } },
    });
    if (rows.length === 0) break;
    const current = keyring.current;
    await db.prisma.$transaction(async (tx) => {
      for (const row of rows) {
        const moved = rewrapDataKey(current, sealedOf(row), credentialAad(row.environment.projectId, row.environment.environment, row.kind), activeKeyId);
        await tx.stripeCredential.updateMany({
          where: { environmentId: row.environmentId, kind: row.kind, keyId: row.keyId },
          data: { keyId: moved.keyId, wrappedKey: storedOf(moved).wrappedKey },
        });
      }
    });
    rewrapped += rows.length;
    onProgress?.({ rewrapped, total });
  }
  const remaining = await countStale();
  const retiredKeyIds: string[] = [];
  if (remaining === 0) {
    const inUse = new Set([
      ...(await db.prisma.secretVersion.groupBy({ by: ['keyId'] })).map((group) => group.keyId),
      ...(await db.prisma.stripeCredential.groupBy({ by: ['keyId'] })).map((group) => group.keyId),
    ]);
    for (const key of keyring.current.keys) {
      if (key.id === activeKeyId || inUse.has(key.id)) continue;
      retiredKeyIds.push(key.id);
      if (keyring.canWrite) await keyring.retire(key.id);
    }
  }
  await recordAudit(db.prisma, actor, {
    action: 'master-key.rotate',
    outcome: 'SUCCESS',
    targetType: 'master-key',
    targetId: activeKeyId,
    reason: `${rewrapped} data keys re-wrapped, ${remaining} remaining`,
  });
  return { activeKeyId, rewrapped, remaining, retiredKeyIds };
}

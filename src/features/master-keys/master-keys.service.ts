import { generateRootKey, rewrapDataKey, RootKeys, serializeRootKeys, writeKeyFile } from '../../crypto/index.js';
import type { Database } from '../../db/database.js';
import { withExclusiveLock } from '../../db/locks.js';
import { conflict } from '../../errors.js';
import {
  addActiveTerm,
  describeTerms,
  KeyringUnavailableError,
  purgeRetiredTerms,
  resealTerms,
  retireUnusedTerms,
  TermsInUseError,
  type KeyringStore,
  type Rewrap,
} from '../../keyring/index.js';
import type { Actor } from '../../auth/index.js';
import { recordAudit } from '../audit/index.js';

export interface RotationProgress {
  rewrapped: number;
  total: number;
}

interface KeyringDeps {
  db: Database;
  keyring: KeyringStore;
  actor: Actor;
}

/** One rotation at a time, across replicas: two would move the same rows back and forth. */
const ROTATION_LOCK = 'coffer-master-key-rotation';

/** Refuses to rotate over a keyring with a problem: moving data keys would hide it, not fix it. */
async function verified(keyring: KeyringStore) {
  const problem = await keyring.verify();
  if (problem) throw new KeyringUnavailableError(problem);
}

/** Every term of the keyring, oldest first; never its material. */
export const listMasterKeys = ({ db }: { db: Database }) => describeTerms(db);

/**
 * Optionally adds a new active term, then moves every data key under the active term, one
 * committed batch at a time (values are not re-encrypted; an interrupted rotation resumes when
 * run again), then marks retired the terms nothing uses any more. Key material is never deleted
 * here: see purgeRetiredMasterKeys.
 */
export async function rotateMasterKey({
  db,
  keyring,
  actor,
  generateNewKey,
  maxBatches,
  batchSize = 500,
  onProgress,
}: KeyringDeps & {
  generateNewKey: boolean;
  maxBatches?: number | undefined;
  batchSize?: number;
  onProgress?: (progress: RotationProgress) => void;
}) {
  return withExclusiveLock(db, ROTATION_LOCK, async () => {
    await verified(keyring);
    if (generateNewKey) await addActiveTerm({ db, keyring });
    const activeKeyId = keyring.current.active.id;
    const rewrap: Rewrap = (sealed, aad) => rewrapDataKey(keyring.current, sealed, aad, activeKeyId);
    const countStale = async () => {
      const counts = await Promise.all(keyring.sealedRows.map((rows) => rows.countNotUnder(db.prisma, activeKeyId)));
      return counts.reduce((a, b) => a + b, 0);
    };
    const total = await countStale();
    let rewrapped = 0;
    let batches = 0;
    for (const rows of keyring.sealedRows) {
      // Until none is left: a replica that has not heard of the new term yet may still write under the old one.
      while (maxBatches === undefined || batches < maxBatches) {
        const moved = await rows.rewrapBatch(db.prisma, rewrap, activeKeyId, batchSize);
        if (moved === 0) break;
        batches += 1;
        rewrapped += moved;
        onProgress?.({ rewrapped, total: Math.max(total, rewrapped) });
      }
    }
    const remaining = await countStale();
    const retiredKeyIds = remaining === 0 ? await retireUnusedTerms({ db, keyring }) : [];
    const retired = retiredKeyIds.length > 0 ? `; retired ${retiredKeyIds.join(', ')}` : '';
    await recordAudit(db.prisma, actor, {
      action: 'master-key.rotate',
      outcome: 'SUCCESS',
      targetType: 'master-key',
      targetId: activeKeyId,
      reason: `${rewrapped} data keys re-wrapped, ${remaining} remaining${retired}`,
    });
    return { activeKeyId, rewrapped, remaining, retiredKeyIds };
  });
}

const PURGE_NOTE =
  'Backups taken before this purge still hold the purged terms in their own keyring table: ' +
  'such a backup plus the root key still restores every value it holds.';

/** Deletes retired terms for good (admins); CONFLICT, deleting nothing, while any row still uses one. */
export async function purgeRetiredMasterKeys({ db, keyring, actor }: KeyringDeps) {
  return withExclusiveLock(db, ROTATION_LOCK, async () => {
    let purgedKeyIds: string[];
    try {
      purgedKeyIds = await purgeRetiredTerms({ db, keyring });
    } catch (error) {
      if (error instanceof TermsInUseError) throw conflict(error.message);
      throw error;
    }
    await recordAudit(db.prisma, actor, {
      action: 'master-key.purge',
      outcome: 'SUCCESS',
      targetType: 'master-key',
      reason: purgedKeyIds.length > 0 ? `purged ${purgedKeyIds.join(', ')}` : 'nothing to purge',
    });
    return { purgedKeyIds, note: PURGE_NOTE };
  });
}

/**
 * Re-seals every keyring term under a new root key: instant, whatever the number of secrets.
 * With the generated DATA_DIR/root-key, `generate` makes the new key and rewrites the file (the
 * old key stays in it until the database holds the new seals, so a crash never strands either).
 * With configured root keys, the first configured one seals.
 */
export async function rotateRootKey({ db, keyring, actor, generate }: KeyringDeps & { generate: boolean }) {
  return withExclusiveLock(db, ROTATION_LOCK, async () => {
    await verified(keyring);
    const source = keyring.rootKeySource;
    const previous = keyring.rootKeys;
    let target = previous;
    if (generate) {
      if (source.kind !== 'file' || !source.managed) {
        throw conflict(
          'Root keys come from COFFER_ROOT_KEY or COFFER_ROOT_KEY_FILE: put the new key first there (the old one after it), restart, ' +
            'call rotateRootKey without generate, then remove the old key.',
        );
      }
      target = new RootKeys([generateRootKey(), ...previous.keys]);
      await writeKeyFile(source.path, serializeRootKeys(target.keys));
    }
    const resealed = await resealTerms({ db, keyring }, target);
    if (generate && source.kind === 'file') {
      const sealing = new RootKeys([target.sealing]);
      await writeKeyFile(source.path, serializeRootKeys(sealing.keys));
      keyring.useRootKeys(sealing);
    }
    const rootKeyId = target.sealing.id;
    await recordAudit(db.prisma, actor, {
      action: 'root-key.rotate',
      outcome: 'SUCCESS',
      targetType: 'root-key',
      targetId: rootKeyId,
      reason: `${resealed} keyring terms re-sealed`,
    });
    return { rootKeyId, resealedTerms: resealed, previousRootKeyIds: previous.keys.map((key) => key.id).filter((id) => id !== rootKeyId) };
  });
}

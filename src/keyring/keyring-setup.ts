import { join } from 'node:path';
import {
  generateMasterKey,
  KeyringError,
  MASTER_KEY_FILE,
  parseMasterKeys,
  readLegacyKeyFile,
  type Keyring,
  type MasterKey,
  type RootKeys,
} from '../crypto/index.js';
import type { Database } from '../db/database.js';
import { withExclusiveLock } from '../db/locks.js';
import type { Logger } from '../logger.js';
import { insertTerm, listTerms } from './terms.repository.js';

/** Serializes every change to `keyring_terms`, across replicas on PostgreSQL. */
export const KEYRING_LOCK = 'coffer-keyring';

/** Master keys of versions before the database keyring: imported once, then only read to say so. */
export interface LegacyKeys {
  /** `COFFER_MASTER_KEYS`, or the key file's path. */
  source: string;
  keyring: Keyring;
}

export async function readLegacyKeys(options: {
  masterKeys?: string | undefined;
  masterKeysFile?: string | undefined;
  dataDir: string;
}): Promise<LegacyKeys | null> {
  if (options.masterKeys) {
    try {
      return { source: 'COFFER_MASTER_KEYS', keyring: parseMasterKeys(options.masterKeys) };
    } catch (error) {
      throw new KeyringError(`COFFER_MASTER_KEYS: ${(error as Error).message}`);
    }
  }
  const path = options.masterKeysFile ?? join(options.dataDir, MASTER_KEY_FILE);
  const keyring = await readLegacyKeyFile(path);
  return keyring ? { source: path, keyring } : null;
}

export interface KeyringSetup {
  imported: string[];
  /** Legacy ids that the database keyring holds with other material: the database wins. */
  conflicting: string[];
  generated: string | null;
}

/**
 * Makes sure the database keyring exists: imports legacy keys it lacks (the first legacy key is
 * active only when the keyring had none), or creates the first term. Idempotent, and safe with
 * several replicas starting at once (one lock, and every insert re-reads under it).
 */
export async function setUpKeyring({
  db,
  rootKeys,
  legacy,
  logger,
}: {
  db: Database;
  rootKeys: RootKeys;
  legacy: LegacyKeys | null;
  logger: Logger;
}): Promise<KeyringSetup> {
  const setup = await withExclusiveLock(db, KEYRING_LOCK, async () => {
    const existing = new Map((await listTerms(db.prisma)).map((row) => [row.id, row]));
    const result: KeyringSetup = { imported: [], conflicting: [], generated: null };
    const add = (key: MasterKey, active: boolean) =>
      db.prisma.$transaction((tx) => insertTerm(tx, { id: key.id, ...rootKeys.seal(key.id, key.key), active, now: new Date() }));
    let hasActive = [...existing.values()].some((row) => row.activeSlot !== null);
    for (const key of legacy?.keyring.keys ?? []) {
      const row = existing.get(key.id);
      if (row) {
        if (!sameMaterial(rootKeys, row, key)) result.conflicting.push(key.id);
        continue;
      }
      await add(key, !hasActive);
      hasActive = true;
      result.imported.push(key.id);
    }
    if (existing.size === 0 && result.imported.length === 0) {
      const key = generateMasterKey();
      await add(key, true);
      result.generated = key.id;
    }
    return result;
  });
  if (legacy && setup.imported.length > 0) {
    logger.warn(
      { source: legacy.source, imported: setup.imported },
      `imported master keys from ${legacy.source} into the database keyring. That setting is import-only now: once you have ` +
        'a database backup taken after this start, remove it (the keys live in the database, sealed by the root key).',
    );
  } else if (legacy) {
    logger.info(
      { source: legacy.source },
      `${legacy.source} is import-only and its keys are in the database keyring already: it can be removed.`,
    );
  }
  if (setup.conflicting.length > 0) {
    logger.warn(
      { source: legacy?.source, keyIds: setup.conflicting },
      'legacy master keys differ from the database keyring terms of the same id; the database keyring is used',
    );
  }
  return setup;
}

function sameMaterial(rootKeys: RootKeys, row: { id: string; rootKeyId: string; sealedKey: Uint8Array }, key: MasterKey): boolean {
  try {
    return rootKeys.unseal(row.id, row.rootKeyId, Buffer.from(row.sealedKey)).equals(key.key);
  } catch {
    // Unreadable rows are the start-up integrity check's to report.
    return true;
  }
}

import { generateMasterKey, type RootKeys } from '../crypto/index.js';
import type { Database } from '../db/database.js';
import { withExclusiveLock } from '../db/locks.js';
import { KEYRING_LOCK } from './keyring-setup.js';
import type { KeyringStore } from './keyring-store.js';
import type { SealedRows } from './sealed-rows.js';
import { deleteTerms, insertTerm, listTerms, lockRetiredTerms, lockTerm, markRetired, resealTerm } from './terms.repository.js';

/** Changes to the keyring's terms. Each is one committed transaction, then every process reloads. */

interface TermDeps {
  db: Database;
  keyring: KeyringStore;
}

/** Terms that rows still use, among `ids` (checked inside the caller's transaction, under its locks). */
async function inUse(deps: TermDeps, tx: Parameters<SealedRows['termInUse']>[0], ids: string[]): Promise<string[]> {
  const used: string[] = [];
  for (const id of ids) {
    for (const rows of deps.keyring.sealedRows) {
      if (await rows.termInUse(tx, id)) {
        used.push(id);
        break;
      }
    }
  }
  return used;
}

/** A new term, active at once (the one it replaces keeps decrypting). */
export async function addActiveTerm(deps: TermDeps): Promise<string> {
  const key = generateMasterKey();
  const rootKeys = deps.keyring.rootKeys;
  await withExclusiveLock(deps.db, KEYRING_LOCK, () =>
    deps.db.prisma.$transaction((tx) => insertTerm(tx, { id: key.id, ...rootKeys.seal(key.id, key.key), active: true, now: new Date() })),
  );
  key.key.fill(0);
  await deps.keyring.changed();
  return key.id;
}

/**
 * Marks retired every term no data key is wrapped by any more (never the active one). The term's
 * row is locked first: a writer still using it holds it (FOR SHARE) and is waited for, then seen.
 */
export async function retireUnusedTerms(deps: TermDeps): Promise<string[]> {
  const retired = await withExclusiveLock(deps.db, KEYRING_LOCK, async () => {
    const candidates = (await listTerms(deps.db.prisma)).filter((row) => row.activeSlot === null && row.retiredAt === null);
    const done: string[] = [];
    for (const candidate of candidates) {
      const retiredNow = await deps.db.prisma.$transaction(async (tx) => {
        const term = await lockTerm(tx, candidate.id);
        if (!term || term.active || term.retired) return false;
        if ((await inUse(deps, tx, [term.id])).length > 0) return false;
        await markRetired(tx, term.id, new Date());
        return true;
      });
      if (retiredNow) done.push(candidate.id);
    }
    return done;
  });
  if (retired.length > 0) await deps.keyring.changed();
  return retired;
}

export class TermsInUseError extends Error {
  override name = 'TermsInUseError';
  constructor(readonly termIds: string[]) {
    super(`Retired master key terms still wrap data keys: ${termIds.join(', ')}. Run rotateMasterKey to move them, then purge again.`);
  }
}

/**
 * Deletes retired terms for good, all or none: refused (TermsInUseError) while any row still uses
 * one. Backups taken before keep those terms in their own keyring table.
 */
export async function purgeRetiredTerms(deps: TermDeps): Promise<string[]> {
  const purged = await withExclusiveLock(deps.db, KEYRING_LOCK, () =>
    deps.db.prisma.$transaction(async (tx) => {
      const retired = await lockRetiredTerms(tx);
      const used = await inUse(deps, tx, retired);
      if (used.length > 0) throw new TermsInUseError(used);
      if (retired.length > 0) await deleteTerms(tx, retired);
      return retired;
    }),
  );
  if (purged.length > 0) await deps.keyring.changed();
  return purged;
}

/** Re-seals every term under `rootKeys.sealing`, in one transaction: the data keys are not touched. */
export async function resealTerms(deps: TermDeps, rootKeys: RootKeys): Promise<number> {
  const holding = deps.keyring.rootKeys;
  const count = await withExclusiveLock(deps.db, KEYRING_LOCK, () =>
    deps.db.prisma.$transaction(async (tx) => {
      const rows = await listTerms(tx);
      for (const row of rows) {
        const material = (rootKeys.has(row.rootKeyId) ? rootKeys : holding).unseal(row.id, row.rootKeyId, Buffer.from(row.sealedKey));
        const { rootKeyId, sealedKey } = rootKeys.seal(row.id, material);
        material.fill(0);
        await resealTerm(tx, row.id, rootKeyId, sealedKey);
      }
      return rows.length;
    }),
  );
  deps.keyring.useRootKeys(rootKeys);
  await deps.keyring.changed();
  return count;
}

export type TermState = 'ACTIVE' | 'DECRYPT_ONLY' | 'RETIRED';

const termState = (row: { activeSlot: string | null; retiredAt: Date | null }): TermState =>
  row.activeSlot !== null ? 'ACTIVE' : row.retiredAt !== null ? 'RETIRED' : 'DECRYPT_ONLY';

/** The keyring's terms as operators see them: ids, states and dates (never material). */
export async function describeTerms(db: Database) {
  const rows = await listTerms(db.prisma);
  return rows.map((row) => ({
    id: row.id,
    state: termState(row),
    rootKeyId: row.rootKeyId,
    createdAt: row.createdAt,
    activatedAt: row.activatedAt,
    retiredAt: row.retiredAt,
  }));
}

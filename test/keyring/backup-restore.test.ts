import { afterEach, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/auth/index.js';
import { rotateMasterKey } from '../../src/features/master-keys/master-keys.service.js';
import { canary, put, reveal, uniqueName } from '../crypto/support.js';
import { expectError } from '../support/assertions.js';
import { dumpDatabase, newRootKey, persistentDeployment } from './support.js';

/**
 * What to back up is the database and the root key. Rotations never delete key material, and a
 * purge only deletes terms nothing uses, so a backup taken before both, restored into a fresh
 * database with the same root key, still reads every value it holds.
 */

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function deployment(...args: Parameters<typeof persistentDeployment>) {
  const created = await persistentDeployment(...args);
  cleanups.push(() => created.destroy());
  return created;
}

const ROTATE = 'mutation { rotateMasterKey(generateNewKey: true) { activeKeyId remaining retiredKeyIds } }';
const PURGE = 'mutation { purgeRetiredMasterKeys { purgedKeyIds note } }';

describe('backup and restore', () => {
  it(
    'a dump taken before two rotations and a purge restores, with the same root key, every value it holds',
    { timeout: 120_000 },
    async () => {
      const rootKey = newRootKey();
      const original = await deployment();
      let coffer = await original.open({ COFFER_ROOT_KEY: rootKey });
      const { key } = await coffer.admin();
      const before = Array.from({ length: 4 }, () => ({ name: uniqueName('BACKED_UP'), value: canary('backed-up') }));
      for (const { name, value } of before) await put(coffer.send, key, name, value);
      const termsAtDump = (await coffer.services.db.prisma.keyringTerm.findMany()).map((row) => row.id);
      await coffer.close();

      const dump = await dumpDatabase(original);

      coffer = await original.open({ COFFER_ROOT_KEY: rootKey });
      try {
        for (let rotation = 0; rotation < 2; rotation++) {
          const rotated = await coffer.send({ query: ROTATE }, { credential: key });
          expect(rotated.json.errors, rotated.text).toBeUndefined();
        }
        const purge = await coffer.send({ query: PURGE }, { credential: key });
        expect(purge.json.errors, purge.text).toBeUndefined();
        const purged = (purge.json.data as { purgeRetiredMasterKeys: { purgedKeyIds: string[]; note: string } }).purgeRetiredMasterKeys;
        // Both older terms are gone from the live keyring, the one the dump was written under among them.
        expect(purged.purgedKeyIds).toHaveLength(2);
        expect(purged.purgedKeyIds).toEqual(expect.arrayContaining(termsAtDump));
        expect(purged.note).toMatch(/backup/i);
        for (const { name, value } of before) expect(await reveal(coffer.send, key, name)).toBe(value);
      } finally {
        await coffer.close();
      }

      const restored = await deployment(dump);
      const reopened = await restored.open({ COFFER_ROOT_KEY: rootKey });
      try {
        expect((await reopened.ready()).status).toBe(200);
        for (const { name, value } of before) expect(await reveal(reopened.send, key, name)).toBe(value);
      } finally {
        await reopened.close();
      }
    },
  );

  it('a purge is refused, deleting nothing, while a retired term still wraps a data key', { timeout: 120_000 }, async () => {
    const live = await deployment();
    const coffer = await live.open();
    try {
      const { key } = await coffer.admin();
      const written = Array.from({ length: 2 }, () => ({ name: uniqueName('STILL_USED'), value: canary('still-used') }));
      for (const { name, value } of written) await put(coffer.send, key, name, value);
      const [term] = await coffer.services.db.prisma.keyringTerm.findMany();
      // Half a rotation leaves one data key under the old term; marking that term retired anyway
      // makes what the purge must never delete.
      const { db, keyring } = coffer.services;
      await rotateMasterKey({ db, keyring, actor: SYSTEM_ACTOR, generateNewKey: true, batchSize: 1, maxBatches: 1 });
      await db.prisma.keyringTerm.update({ where: { id: term!.id }, data: { retiredAt: new Date() } });

      const purge = await coffer.send({ query: PURGE }, { credential: key });
      expect(expectError(purge, 'CONFLICT').message).toContain(term!.id);
      expect(await coffer.services.db.prisma.keyringTerm.count({ where: { id: term!.id } })).toBe(1);
      for (const { name, value } of written) expect(await reveal(coffer.send, key, name)).toBe(value);
    } finally {
      await coffer.close();
    }
  });
});

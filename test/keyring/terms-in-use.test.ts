import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { secretVersionRows } from '../../src/features/secrets/index.js';
import { notificationEndpointRows } from '../../src/features/secret-changes/index.js';
import { stripeCredentialRows } from '../../src/features/stripe/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * Which keyring terms stored rows are wrapped by: every start asks, and a term missing from the
 * keyring keeps Coffer unready. The answer walks each table's `key_id` index (one probe per term)
 * and must be exactly the distinct terms, whatever their number or spread, through Prisma or raw.
 */

let database: TestDatabase;
beforeEach(async () => {
  database = await createTestDatabase();
});
afterEach(() => database.destroy());

const OWNER = '00000000-0000-4000-8000-00000000a001';

/** `perTerm[i]` versions under term `terms[i]`, interleaved across secrets as real rotations leave them. */
async function storeVersions(terms: string[], perTerm: number[]) {
  const total = perTerm.reduce((sum, count) => sum + count, 0);
  await database.db.query(
    `INSERT INTO secrets (id, scope, owner_id, name, current_version, created_at, updated_at)
     SELECT gen_random_uuid(), 'USER', $1, 'TERMS_' || n, 1, now(), now() FROM generate_series(1, $2::int) AS n`,
    [OWNER, total],
  );
  const keyIds = terms.flatMap((term, index) => Array.from({ length: perTerm[index]! }, () => term));
  await database.db.query(
    `INSERT INTO secret_versions (secret_id, version, key_id, wrapped_key, iv, tag, ciphertext)
     SELECT s.id, 1, k.key_id, '\\x00', '\\x00', '\\x00', '\\x00'
     FROM (SELECT id, row_number() OVER (ORDER BY random()) AS n FROM secrets WHERE owner_id = $1) s
     JOIN unnest($2::text[]) WITH ORDINALITY AS k(key_id, n) ON k.n = s.n`,
    [OWNER, keyIds],
  );
}

describe('terms in use', () => {
  it('is empty for tables without rows', async () => {
    for (const rows of [secretVersionRows, stripeCredentialRows, notificationEndpointRows]) {
      expect(await rows.termsInUse(database.db), rows.name).toEqual([]);
    }
  });

  it('is exactly the distinct terms of the stored versions, through a raw connection and through Prisma', async () => {
    const terms = ['kt_2026_a', 'kt_2026_b', 'kt_2025_z', 'kt_2026_c'];
    await storeVersions(terms, [500, 1, 37, 2]);
    expect((await secretVersionRows.termsInUse(database.db)).sort()).toEqual([...terms].sort());
    expect((await secretVersionRows.termsInUse(database.db.prisma)).sort()).toEqual([...terms].sort());
  });

  it('drops a term once no version is wrapped by it any more', async () => {
    await storeVersions(['kt_old', 'kt_new'], [3, 3]);
    await database.db.query(`UPDATE secret_versions SET key_id = 'kt_new' WHERE key_id = 'kt_old'`);
    expect(await secretVersionRows.termsInUse(database.db)).toEqual(['kt_new']);
  });
});

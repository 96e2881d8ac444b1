import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/database.js';
import { columnSources } from '../../../src/features/stripe/mirror/mirror.repository.js';
import { OBJECT_TYPES } from '../../../src/features/stripe/mirror/object-types.js';
import { startFakeStripe, type FakeStripe } from '../../support/fake-stripe.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

/**
 * The upsert parses only the fields a type's typed columns read (`columnSources`): every column,
 * worked out by the database from that cut-down object, equals the same column worked out from the
 * whole object, for every type and the fake's Stripe-shaped objects (expanded references included).
 */
let fake: FakeStripe;
let test: TestDatabase;
let db: Database;
beforeAll(async () => {
  fake = await startFakeStripe();
  test = await createTestDatabase();
  db = test.db;
});
afterAll(async () => {
  await fake?.close();
  await test?.destroy();
});

describe('the columns of a mirrored object', () => {
  it.each(Object.values(OBJECT_TYPES).map((spec) => [spec.type, spec] as const))('%s: read from the fields sent', async (_type, spec) => {
    const account = fake.addAccount({ name: `Columns ${spec.type}` });
    const collection = fake.seed(account.id, 'test', spec.type, 12);
    const objects = Array.from({ length: 12 }, (_, index) => collection.at(index));
    const columns = Object.entries(spec.columns);
    const select = `SELECT ${columns.map(([name, sql]) => `${sql} AS ${name}`).join(', ')} FROM (SELECT $1::jsonb AS o) AS page`;
    const sources = columnSources(spec, objects);
    for (const [index, object] of objects.entries()) {
      const [whole] = await db.query(select, [object]);
      const [cut] = await db.query(select, [sources[index]]);
      expect(cut).toEqual(whole);
      // The columns are not all empty: the fake fills what they read.
      expect(Object.values(whole ?? {}).some((value) => value !== null)).toBe(true);
    }
  });
});

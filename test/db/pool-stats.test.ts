import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** The pool gauges of /metrics: who holds the connections and how many wait (PGlite and PostgreSQL). */
describe('Database.poolStats', () => {
  let test: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    test = await createTestDatabase();
    db = test.db;
  });
  afterAll(() => test?.destroy());

  it('counts statements waiting while every connection is held by a transaction', async () => {
    const { max } = db.poolStats();
    expect(db.poolStats().waiting).toBe(0);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    // Hold every connection of the pool in an open transaction.
    const holders = Array.from({ length: max }, () =>
      db.prisma.$transaction(
        async (tx) => {
          await tx.$queryRawUnsafe('SELECT 1');
          started += 1;
          await held;
        },
        { timeout: 30_000, maxWait: 30_000 },
      ),
    );
    const deadline = Date.now() + 20_000;
    while (started < max && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(started).toBe(max);
    const waiting = [db.query('SELECT 1 AS one'), db.query('SELECT 2 AS two'), db.query('SELECT 3 AS three')];
    await new Promise((resolve) => setTimeout(resolve, 50));
    const busy = db.poolStats();
    expect(busy).toMatchObject({ max, total: max, idle: 0, waiting: 3 });
    release();
    await Promise.all([...holders, ...waiting]);
    expect(db.poolStats()).toMatchObject({ waiting: 0 });
    expect(db.poolStats().idle).toBeGreaterThanOrEqual(1);
  });
});

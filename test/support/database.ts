import { PGlite } from '@electric-sql/pglite';
import { openDatabase, type Database } from '../../src/db/database.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { createScratchDatabase } from './scratch-database.js';

export { createScratchDatabase };

/** Set to run every suite against a real PostgreSQL server instead of embedded PGlite. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;

let snapshot: Promise<Blob> | null = null;

/**
 * A migrated PGlite costs ~3 s to build but ~0.5 s to load from a dump, so each test worker
 * migrates once and every test database starts from that snapshot.
 */
async function migratedSnapshot(): Promise<Blob> {
  snapshot ??= (async () => {
    const pglite = new PGlite();
    const db = await openDatabase({ kind: 'pglite-instance', pglite });
    await applyMigrations(db);
    const dump = await pglite.dumpDataDir('none');
    await db.close();
    return dump;
  })();
  return snapshot;
}

export interface TestDatabase {
  db: Database;
  /** Drops the database (Postgres) or frees it (PGlite). */
  destroy(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (!TEST_DATABASE_URL) {
    const pglite = new PGlite({ loadDataDir: await migratedSnapshot() });
    const db = await openDatabase({ kind: 'pglite-instance', pglite });
    return { db, destroy: () => db.close() };
  }
  // One throw-away database per test file keeps suites independent on a shared server.
  const scratch = await createScratchDatabase(TEST_DATABASE_URL);
  const db = await openDatabase({ kind: 'postgres', url: scratch.url, poolSize: 5 });
  await applyMigrations(db);
  return {
    db,
    async destroy() {
      await db.close();
      await scratch.drop();
    },
  };
}

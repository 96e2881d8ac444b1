import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.js';
import { createScratchDatabase } from '../support/database.js';
import { applyMigrations, migrationStatus, MIGRATIONS_DIR, readMigrations } from '../../src/db/migrate.js';

const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;

interface Backend {
  /** A new connection (Postgres) or the same instance (PGlite) onto this test's database. */
  open(): Promise<Database>;
  destroy(): Promise<void>;
}

async function pgliteBackend(): Promise<Backend> {
  const db = await openDatabase({ kind: 'pglite-instance', pglite: new PGlite() });
  return { open: async () => db, destroy: () => db.close() };
}

/** A uniquely named database on the TEST_DATABASE_URL server, dropped afterwards. */
async function postgresBackend(serverUrl: string): Promise<Backend> {
  const scratch = await createScratchDatabase(serverUrl);
  const opened: Database[] = [];
  return {
    async open() {
      const db = await openDatabase({ kind: 'postgres', url: scratch.url, poolSize: 2 });
      opened.push(db);
      return db;
    },
    async destroy() {
      await Promise.all(opened.map((db) => db.close()));
      await scratch.drop();
    },
  };
}

/** A throw-away migrations folder in Prisma's layout. */
async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'coffer-migrations-'));
  for (const [name, sql] of Object.entries(files)) {
    await mkdir(path.join(dir, name));
    await writeFile(path.join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}

async function tableExists(db: Database, table: string): Promise<boolean> {
  const [row] = await db.withSession((s) => s.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [table]));
  return row?.present === true;
}

const backends: [string, () => Promise<Backend>][] = [['PGlite', pgliteBackend]];
if (TEST_DATABASE_URL) backends.push(['Postgres', () => postgresBackend(TEST_DATABASE_URL)]);

describe.each(backends)('applyMigrations on %s', (_kind, makeBackend) => {
  let backend: Backend;
  let db: Database;
  const tempDirs: string[] = [];
  beforeEach(async () => {
    backend = await makeBackend();
    db = await backend.open();
  });
  afterEach(async () => {
    await backend.destroy();
    await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('applies every migration once and records it as Prisma does', async () => {
    const files = await readMigrations();
    expect(files.length).toBeGreaterThan(0);
    expect(await migrationStatus(db)).toEqual({ applied: [], pending: files.map((f) => f.name) });

    // Two runs on one Database (PGlite: one shared session) queue up rather than interleave.
    const [first, second] = await Promise.all([applyMigrations(db), applyMigrations(db)]);
    expect(first).toEqual({ applied: files.map((f) => f.name) });
    expect(second).toEqual({ applied: [] });
    expect(await applyMigrations(db)).toEqual({ applied: [] });
    expect(await migrationStatus(db)).toEqual({ applied: files.map((f) => f.name), pending: [] });
    expect(await tableExists(db, 'users')).toBe(true);

    const rows = await db.withSession((s) =>
      s.query<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number }>(
        'SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name',
      ),
    );
    expect(rows.map((r) => r.migration_name)).toEqual(files.map((f) => f.name));
    for (const row of rows) {
      const bytes = await readFile(path.join(MIGRATIONS_DIR, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.applied_steps_count).toBe(1);
    }
  });

  it('refuses to start when an applied migration was edited', async () => {
    const [first] = await readMigrations();
    await applyMigrations(db);
    await db.withSession((s) =>
      s.query(`UPDATE "_prisma_migrations" SET checksum = repeat('0', 64) WHERE migration_name = $1`, [first!.name]),
    );

    await expect(applyMigrations(db)).rejects.toThrow(`Migration ${first!.name} was edited after it was applied`);
  });

  it('rolls a failing migration back whole, records it as failed and refuses to go on', async () => {
    const dir = await migrationsDir({
      '20250101000000_good': 'CREATE TABLE good (id int);',
      '20250102000000_broken': 'CREATE TABLE half (id int);\nCREATE TABLE oops (id nonexistent_type);',
    });
    tempDirs.push(dir);

    await expect(applyMigrations(db, { migrationsDir: dir })).rejects.toThrow(
      /Migration 20250102000000_broken failed and was rolled back: .*nonexistent_type/,
    );
    expect(await tableExists(db, 'good')).toBe(true);
    expect(await tableExists(db, 'half')).toBe(false);
    expect(await migrationStatus(db, { migrationsDir: dir })).toEqual({
      applied: ['20250101000000_good'],
      pending: ['20250102000000_broken'],
    });
    const [failed] = await db.withSession((s) =>
      s.query<{ finished_at: Date | null; logs: string }>(
        `SELECT finished_at, logs FROM "_prisma_migrations" WHERE migration_name = '20250102000000_broken'`,
      ),
    );
    expect(failed).toMatchObject({ finished_at: null, logs: expect.stringContaining('nonexistent_type') });

    // Even a fixed file waits until someone marks the failed attempt rolled back, as with Prisma.
    await writeFile(path.join(dir, '20250102000000_broken', 'migration.sql'), 'CREATE TABLE half (id int);');
    await expect(applyMigrations(db, { migrationsDir: dir })).rejects.toThrow('Migration 20250102000000_broken failed in an earlier run');
    await db.withSession((s) => s.exec(`UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE finished_at IS NULL`));
    expect(await applyMigrations(db, { migrationsDir: dir })).toEqual({ applied: ['20250102000000_broken'] });
    expect(await tableExists(db, 'half')).toBe(true);
  });
});

describe.skipIf(!TEST_DATABASE_URL)('applyMigrations on Postgres, several replicas at once', () => {
  let backend: Backend;
  let dir: string;
  beforeEach(async () => {
    backend = await postgresBackend(TEST_DATABASE_URL!);
    // The real migrations plus a slow one, so the replicas really overlap.
    const files = Object.fromEntries((await readMigrations()).map((f) => [f.name, f.sql]));
    dir = await migrationsDir({ ...files, '29990101000000_slow': 'SELECT pg_sleep(0.3); CREATE TABLE slow (id int);' });
  });
  afterEach(async () => {
    await backend.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies each migration exactly once when 5 start together', async () => {
    const replicas = await Promise.all(Array.from({ length: 5 }, () => backend.open()));
    const results = await Promise.all(replicas.map((db) => applyMigrations(db, { migrationsDir: dir })));

    const names = (await readMigrations(dir)).map((f) => f.name);
    expect(results.flatMap((r) => r.applied).sort()).toEqual(names);
    const rows = await replicas[0]!.withSession((s) =>
      s.query<{ migration_name: string; n: number }>(
        'SELECT migration_name, count(*)::int AS n FROM "_prisma_migrations" WHERE finished_at IS NOT NULL GROUP BY migration_name ORDER BY migration_name',
      ),
    );
    expect(rows).toEqual(names.map((migration_name) => ({ migration_name, n: 1 })));
  });
});

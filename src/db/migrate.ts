import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database, SqlSession } from './database.js';

/**
 * prisma/migrations, found upwards from this module so start-up works whatever the working
 * directory, from the sources (src/db/) and from the bundled build (dist/) alike.
 */
export const MIGRATIONS_DIR = findMigrationsDir(path.dirname(fileURLToPath(import.meta.url)));

function findMigrationsDir(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'prisma', 'migrations');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return path.resolve(from, '../../prisma/migrations');
  }
}

/** The advisory lock key `prisma migrate deploy` takes too, so Coffer and Prisma never migrate at once. */
const LOCK_KEY = 72707369;

export interface MigrationFile {
  /** Folder name, e.g. `20250101120000_init`: also the order and the `migration_name` recorded. */
  name: string;
  sql: string;
  /** sha256 hex of the file's bytes, as Prisma records it. */
  checksum: string;
}

export interface MigrateOptions {
  migrationsDir?: string;
  logger?: { info(obj: object, msg: string): void };
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

// Prisma's own definition, so `prisma migrate deploy/status` can take over this table later.
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export function checksumOf(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Every `<folder>/migration.sql` under `dir`, in folder-name order (Prisma's order). */
export async function readMigrations(dir: string = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(path.join(dir, name, 'migration.sql')).catch((error: Error) => {
        throw new Error(`Migration ${name} has no readable migration.sql: ${error.message}`);
      });
      return { name, sql: bytes.toString('utf8'), checksum: checksumOf(bytes) };
    }),
  );
}

/** Prisma also accepts a file whose line endings git converted (LF <-> CRLF) since it was applied. */
function matchesChecksum(file: MigrationFile, recorded: string): boolean {
  if (file.checksum === recorded) return true;
  const lf = file.sql.replaceAll('\r\n', '\n');
  return checksumOf(lf) === recorded || checksumOf(lf.replaceAll('\n', '\r\n')) === recorded;
}

async function readRows(session: SqlSession): Promise<MigrationRow[] | null> {
  const [exists] = await session.query<{ present: boolean }>(`SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS present`);
  if (!exists?.present) return null;
  return session.query<MigrationRow>(
    'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at',
  );
}

/** Names with a finished, not rolled back row: what Prisma counts as applied. */
function appliedRows(rows: MigrationRow[]): Map<string, MigrationRow> {
  return new Map(rows.filter((r) => r.finished_at !== null && r.rolled_back_at === null).map((r) => [r.migration_name, r]));
}

export async function migrationStatus(
  db: Database,
  opts: Pick<MigrateOptions, 'migrationsDir'> = {},
): Promise<{ applied: string[]; pending: string[] }> {
  const files = await readMigrations(opts.migrationsDir);
  const rows = await db.withSession(readRows);
  const applied = appliedRows(rows ?? []);
  return {
    applied: files.filter((f) => applied.has(f.name)).map((f) => f.name),
    pending: files.filter((f) => !applied.has(f.name)).map((f) => f.name),
  };
}

// PGlite is one shared session: concurrent runs in one process would interleave their
// transactions (its advisory lock is re-entrant there), so they queue up per database.
const runs = new WeakMap<Database, Promise<unknown>>();

/**
 * Applies every pending migration, each in its own transaction with its `_prisma_migrations`
 * row, under a session advisory lock so that replicas starting together apply each one once.
 * Throws, naming the migration, on an edited applied migration, a failed row left by an earlier
 * run, or a migration that fails now (which is rolled back and recorded as failed).
 */
export async function applyMigrations(db: Database, opts: MigrateOptions = {}): Promise<{ applied: string[] }> {
  const previous = runs.get(db) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => db.withSession((session) => locked(session, opts)));
  runs.set(db, run);
  return run;
}

async function locked(session: SqlSession, opts: MigrateOptions): Promise<{ applied: string[] }> {
  const files = await readMigrations(opts.migrationsDir);
  await session.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
  try {
    await session.exec(CREATE_TABLE);
    // Read only under the lock: another replica may have just finished.
    const rows = (await readRows(session)) ?? [];
    check(files, rows);
    const done = appliedRows(rows);
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file.name)) continue;
      opts.logger?.info({ migration: file.name }, 'applying database migration');
      await applyOne(session, file);
      applied.push(file.name);
    }
    // Rows for migrations missing from the folder are left alone: an older replica in a
    // rolling deploy must still start against a database a newer one has migrated.
    return { applied };
  } finally {
    // A lost connection already released the lock; do not hide the error that got us here.
    await session.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
  }
}

function check(files: MigrationFile[], rows: MigrationRow[]): void {
  const failed = rows.find((r) => r.finished_at === null && r.rolled_back_at === null);
  if (failed) {
    throw new Error(
      `Migration ${failed.migration_name} failed in an earlier run; refusing to migrate. Check the database, fix the migration, ` +
        `then mark the attempt rolled back (npx prisma migrate resolve --rolled-back ${failed.migration_name}, or ` +
        `UPDATE "_prisma_migrations" SET rolled_back_at = now() ` +
        `WHERE migration_name = '${failed.migration_name}' AND finished_at IS NULL).`,
    );
  }
  const applied = appliedRows(rows);
  for (const file of files) {
    const row = applied.get(file.name);
    if (row && !matchesChecksum(file, row.checksum)) {
      throw new Error(
        `Migration ${file.name} was edited after it was applied (checksum ${file.checksum} differs from the ` +
          `recorded ${row.checksum}); refusing to migrate. Restore the file and put the change in a new migration.`,
      );
    }
  }
}

async function applyOne(session: SqlSession, file: MigrationFile): Promise<void> {
  const id = randomUUID();
  try {
    await session.exec('BEGIN');
    await session.query('INSERT INTO "_prisma_migrations" (id, checksum, migration_name) VALUES ($1, $2, $3)', [
      id,
      file.checksum,
      file.name,
    ]);
    await session.exec(file.sql);
    await session.query('UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1', [id]);
    await session.exec('COMMIT');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    // Best effort: the migration's own error is what the operator needs to see.
    await recordFailure(session, id, file, reason).catch(() => undefined);
    throw new Error(`Migration ${file.name} failed and was rolled back: ${reason}`, { cause: error });
  }
}

async function recordFailure(session: SqlSession, id: string, file: MigrationFile, reason: string): Promise<void> {
  await session.exec('ROLLBACK');
  // Recorded as failed, like Prisma does, so that every replica (and `prisma migrate status`)
  // stops here until someone has looked, rather than retrying the same script on each start.
  await session.query('INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs) VALUES ($1, $2, $3, $4)', [
    id,
    file.checksum,
    file.name,
    `Rolled back by Coffer, nothing of it was applied: ${reason}`,
  ]);
}

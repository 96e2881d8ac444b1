import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.js';
import { applyMigrations, readMigrations } from '../../src/db/migrate.js';
import { createScratchDatabase } from '../support/database.js';

/**
 * The environments migration on a database written before it: every project gets development,
 * staging and production, and every project secret moves into production with its versions,
 * metadata and audit trail untouched. Account and user secrets get no environment.
 */

const MIGRATION = 'environments';
const NIL = '00000000-0000-0000-0000-000000000000';

const backends: [string, () => Promise<{ db: Database; destroy(): Promise<void> }>][] = [
  [
    'PGlite',
    async () => {
      const db = await openDatabase({ kind: 'pglite-instance', pglite: new PGlite() });
      return { db, destroy: () => db.close() };
    },
  ],
];
const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
if (TEST_DATABASE_URL) {
  backends.push([
    'PostgreSQL',
    async () => {
      const scratch = await createScratchDatabase(TEST_DATABASE_URL);
      const db = await openDatabase({ kind: 'postgres', url: scratch.url, poolSize: 2 });
      return {
        db,
        destroy: async () => {
          await db.close();
          await scratch.drop();
        },
      };
    },
  ]);
}

describe.each(backends)('the environments migration on %s', (_kind, open) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('moves existing project secrets into production, losing nothing', async () => {
    const { db, destroy } = await open();
    cleanups.push(destroy);
    const files = await readMigrations();
    const index = files.findIndex((file) => file.name.endsWith(`_${MIGRATION}`));
    expect(index).toBeGreaterThan(0);
    const before = await mkdtemp(path.join(tmpdir(), 'coffer-before-environments-'));
    cleanups.push(() => rm(before, { recursive: true, force: true }));
    for (const file of files.slice(0, index)) {
      await mkdir(path.join(before, file.name));
      await writeFile(path.join(before, file.name, 'migration.sql'), file.sql);
    }
    await applyMigrations(db, { migrationsDir: before });

    const sql = (text: string, params: unknown[] = []) => db.query<Record<string, unknown>>(text, params);
    const [user] = await sql(
      `INSERT INTO users (id, email, role, updated_at) VALUES (gen_random_uuid(), 'old@example.com', 'DEVELOPER', now()) RETURNING id`,
    );
    const projects = await sql(
      `INSERT INTO projects (id, name, owner_id, updated_at) VALUES (gen_random_uuid(), 'shop', $1, now()), (gen_random_uuid(), 'blog', $1, now()) RETURNING id`,
      [user!.id],
    );
    const secretRow = async (scope: string, ownerId: string, name: string) =>
      (
        await sql(
          `INSERT INTO secrets (id, scope, owner_id, name, description, current_version, is_active, expires_at, created_at, updated_at)
           VALUES (gen_random_uuid(), $1::"SecretScope", $2::uuid, $3, 'kept as it was', 2, false, '2030-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z')
           RETURNING id`,
          [scope, ownerId, name],
        )
      )[0]!.id as string;
    const shopKey = await secretRow('PROJECT', projects[0]!.id as string, 'STRIPE_KEY');
    const blogKey = await secretRow('PROJECT', projects[1]!.id as string, 'STRIPE_KEY');
    const accountKey = await secretRow('ACCOUNT', NIL, 'SHARED');
    for (const secretId of [shopKey, blogKey, accountKey]) {
      for (const version of [1, 2]) {
        await sql(
          `INSERT INTO secret_versions (secret_id, version, key_id, wrapped_key, iv, tag, ciphertext) VALUES ($1, $2, 'k1', '\\x01', '\\x02', '\\x03', '\\x04')`,
          [secretId, version],
        );
      }
    }
    await sql(
      `INSERT INTO audit_events (id, actor_via, action, target_type, target_id, target_name, scope, scope_owner_id, outcome)
       VALUES (gen_random_uuid(), 'system', 'secret.create', 'secret', $1, 'STRIPE_KEY', 'PROJECT', $2, 'SUCCESS')`,
      [shopKey, projects[0]!.id],
    );

    await applyMigrations(db);

    for (const project of projects) {
      const environments = await sql('SELECT name FROM environments WHERE project_id = $1 ORDER BY name', [project.id]);
      expect(environments.map((row) => row.name)).toEqual(['development', 'production', 'staging']);
    }
    const secrets = await sql(
      `SELECT s.id, s.scope::text AS scope, s.environment_id, e.name AS environment, e.project_id, s.description, s.current_version,
              s.is_active, s.expires_at, s.created_at, (SELECT count(*)::int FROM secret_versions v WHERE v.secret_id = s.id) AS versions
       FROM secrets s LEFT JOIN environments e ON e.id = s.environment_id ORDER BY s.scope, s.owner_id`,
    );
    expect(secrets).toHaveLength(3);
    for (const secret of secrets) {
      expect(secret).toMatchObject({ description: 'kept as it was', current_version: 2, is_active: false, versions: 2 });
      expect(new Date(secret.expires_at as string).toISOString()).toBe('2030-01-01T00:00:00.000Z');
      expect(new Date(secret.created_at as string).toISOString()).toBe('2026-01-01T00:00:00.000Z');
    }
    const byId = new Map(secrets.map((secret) => [secret.id, secret]));
    expect(byId.get(shopKey)).toMatchObject({ environment: 'production', project_id: projects[0]!.id });
    expect(byId.get(blogKey)).toMatchObject({ environment: 'production', project_id: projects[1]!.id });
    expect(byId.get(accountKey)).toMatchObject({ environment_id: NIL, environment: null });
    expect(await sql(`SELECT target_id FROM audit_events WHERE action = 'secret.create'`)).toEqual([{ target_id: shopKey }]);
  });
});

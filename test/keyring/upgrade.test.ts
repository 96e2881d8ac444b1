import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  encryptValue,
  generateMasterKey,
  Keyring,
  MASTER_KEY_FILE,
  serializeMasterKeys,
  storedOf,
  writeKeyFile,
} from '../../src/crypto/index.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { applyMigrations, MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { versionAad } from '../../src/features/secrets/secrets.repository.js';
import { ACCOUNT_OWNER_ID } from '../../src/features/secrets/secrets.scope.js';
import { credentialAad, revealCredential } from '../../src/features/stripe/config/credentials.repository.js';
import { loadConfig } from '../../src/config.js';
import { openServices } from '../../src/services.js';
import { canary, reveal, TOKEN_SECRET, uniqueName } from '../crypto/support.js';
import { createCapturingLogger } from '../support/logs.js';
import { persistentDeployment } from './support.js';

/**
 * Upgrading loses nothing. A deployment of the previous version (its migrations, its master keys in
 * DATA_DIR/master-keys or COFFER_MASTER_KEYS, values written under them) starts on this version,
 * imports those keys into the database keyring once, and reads every value.
 */

/** The last migration of the version before the database keyring. */
const PREVIOUS_VERSION_LAST_MIGRATION = '20261123102044_stripe_sync';

type Deployment = Awaited<ReturnType<typeof persistentDeployment>>;
let deployment: Deployment;
beforeEach(async () => {
  deployment = await persistentDeployment();
});
afterEach(() => deployment.destroy());

async function previousMigrations(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-old-migrations-'));
  const previous = (entry: string) => entry <= PREVIOUS_VERSION_LAST_MIGRATION || entry === 'migration_lock.toml';
  for (const name of (await readdir(MIGRATIONS_DIR)).filter(previous)) {
    await cp(join(MIGRATIONS_DIR, name), join(dir, name), { recursive: true });
  }
  return dir;
}

interface Written {
  secrets: Array<{ name: string; versions: string[] }>;
  credential: { projectId: string; value: string };
}

/** The previous version's database: its schema, and values sealed under `legacy` the way it sealed them. */
async function writePreviousVersion(legacy: Keyring): Promise<Written> {
  const migrationsDir = await previousMigrations();
  const db: Database = deployment.databaseUrl
    ? await openDatabase({ kind: 'postgres', url: deployment.databaseUrl })
    : await openDatabase({ kind: 'pglite', dataDir: deployment.dataDir });
  try {
    await applyMigrations(db, { migrationsDir });
    const keyringTable = `SELECT 1 FROM information_schema.tables WHERE table_name = 'keyring_terms'`;
    expect(await db.prisma.$queryRawUnsafe<unknown[]>(keyringTable)).toEqual([]);
    const secrets = [
      { name: uniqueName('LEGACY_ONE'), versions: [canary('legacy-1-v1'), canary('legacy-1-v2')] },
      { name: uniqueName('LEGACY_TWO'), versions: [canary('legacy-2-v1')] },
    ];
    for (const secret of secrets) {
      const id = randomUUID();
      await db.prisma.$executeRawUnsafe(
        `INSERT INTO secrets (id, scope, owner_id, name, current_version, created_at, updated_at)
         VALUES ($1::uuid, 'ACCOUNT', $2::uuid, $3, $4, now(), now())`,
        id,
        ACCOUNT_OWNER_ID,
        secret.name,
        secret.versions.length,
      );
      for (const [index, value] of secret.versions.entries()) {
        const version = index + 1;
        const aad = versionAad({ id, scope: 'ACCOUNT', ownerId: ACCOUNT_OWNER_ID, name: secret.name }, version);
        const sealed = storedOf(encryptValue(legacy, value, aad));
        await db.prisma.$executeRawUnsafe(
          `INSERT INTO secret_versions (secret_id, version, key_id, wrapped_key, iv, tag, ciphertext)
           VALUES ($1::uuid, $2, $3, $4, $5, $6, $7)`,
          id,
          version,
          sealed.keyId,
          sealed.wrappedKey,
          sealed.iv,
          sealed.tag,
          sealed.ciphertext,
        );
      }
    }
    const owner = await db.prisma.user.create({ data: { email: `owner-${randomUUID()}@example.test` } });
    const project = await db.prisma.project.create({ data: { name: 'legacy shop', ownerId: owner.id } });
    // Raw SQL too: the client knows stripe_environments columns added since (key_permissions).
    const environment = { id: randomUUID() };
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO stripe_environments (id, project_id, environment, livemode) VALUES ($1::uuid, $2::uuid, 'TEST'::"StripeEnvironment", false)`,
      environment.id,
      project.id,
    );
    const value = `whsec_${randomUUID().replaceAll('-', '')}`;
    const sealed = storedOf(encryptValue(legacy, value, credentialAad(project.id, 'TEST', 'WEBHOOK_SECRET')));
    // Raw SQL, as for the secrets: the client knows columns added since (stripe_credentials.expires_at).
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO stripe_credentials (environment_id, kind, masked, fingerprint, key_id, wrapped_key, iv, tag, ciphertext)
       VALUES ($1::uuid, 'WEBHOOK_SECRET'::"StripeCredentialKind", 'whsec_...', $2, $3, $4, $5, $6, $7)`,
      environment.id,
      new Uint8Array(32),
      sealed.keyId,
      sealed.wrappedKey,
      sealed.iv,
      sealed.tag,
      sealed.ciphertext,
    );
    return { secrets, credential: { projectId: project.id, value } };
  } finally {
    await db.close();
    await rm(migrationsDir, { recursive: true, force: true });
  }
}

async function expectEverythingReads(coffer: Awaited<ReturnType<Deployment['open']>>, written: Written) {
  expect((await coffer.ready()).status).toBe(200);
  const { key } = await coffer.admin();
  for (const secret of written.secrets) {
    for (const [index, value] of secret.versions.entries()) expect(await reveal(coffer.send, key, secret.name, index + 1)).toBe(value);
  }
  const row = await coffer.services.db.prisma.stripeCredential.findFirstOrThrow({
    where: { environment: { projectId: written.credential.projectId } },
  });
  expect(await revealCredential(coffer.services.keyring, written.credential.projectId, 'TEST', row)).toBe(written.credential.value);
  return key;
}

describe('upgrading from master keys outside the database', () => {
  it(
    'DATA_DIR/master-keys: the first start imports its keys, every value reads; later starts import nothing; the file can then go',
    { timeout: 120_000 },
    async () => {
      const legacyKey = generateMasterKey('k_legacy_file');
      const older = generateMasterKey('k_legacy_older');
      const legacy = new Keyring([legacyKey, older]);
      await writeKeyFile(join(deployment.dataDir, MASTER_KEY_FILE), serializeMasterKeys(legacy));
      const written = await writePreviousVersion(new Keyring([legacyKey]));

      let coffer = await deployment.open();
      try {
        expect(coffer.logs.some((line) => line.includes('imported master keys') && line.includes(MASTER_KEY_FILE))).toBe(true);
        const key = await expectEverythingReads(coffer, written);
        const terms = await coffer.send({ query: '{ masterKeys { id state } }' }, { credential: key });
        expect((terms.json.data as { masterKeys: unknown[] }).masterKeys).toEqual([
          { id: 'k_legacy_file', state: 'ACTIVE' },
          { id: 'k_legacy_older', state: 'DECRYPT_ONLY' },
        ]);
      } finally {
        await coffer.close();
      }

      coffer = await deployment.open();
      try {
        expect(coffer.logs.some((line) => line.includes('imported master keys'))).toBe(false);
        expect(coffer.logs.some((line) => line.includes('import-only'))).toBe(true);
        expect(await coffer.services.db.prisma.keyringTerm.count()).toBe(2);
      } finally {
        await coffer.close();
      }

      await rm(join(deployment.dataDir, MASTER_KEY_FILE));
      coffer = await deployment.open();
      try {
        await expectEverythingReads(coffer, written);
      } finally {
        await coffer.close();
      }
    },
  );

  it(
    'COFFER_MASTER_KEYS: several replicas starting at once import each key once, and every value reads',
    { timeout: 120_000 },
    async () => {
      const legacyKey = generateMasterKey('k_legacy_env');
      const legacy = new Keyring([legacyKey]);
      const written = await writePreviousVersion(legacy);
      const env = {
        DATA_DIR: deployment.dataDir,
        COFFER_TOKEN_SECRET: TOKEN_SECRET,
        COFFER_MASTER_KEYS: serializeMasterKeys(legacy).trim(),
      };

      // PostgreSQL: replicas with their own connections. PGlite is one process's: one database, several openings.
      const shared = deployment.databaseUrl ? null : await openDatabase({ kind: 'pglite', dataDir: deployment.dataDir });
      const replicas = await Promise.all(
        Array.from({ length: 3 }, () =>
          openServices(
            loadConfig({ ...env, ...(deployment.databaseUrl ? { DATABASE_URL: deployment.databaseUrl } : {}) }),
            createCapturingLogger().logger,
            shared ? { db: shared } : {},
          ),
        ),
      );
      try {
        const terms = await replicas[0]!.db.prisma.keyringTerm.findMany();
        expect(terms.map((term) => [term.id, term.activeSlot])).toEqual([['k_legacy_env', 'active']]);
        for (const replica of replicas) expect(replica.keyring.problem).toBeNull();
      } finally {
        for (const replica of shared ? replicas.slice(1) : replicas) replica.keyring.stop();
        if (shared) await replicas[0]!.close();
        else await Promise.all(replicas.map((replica) => replica.close()));
      }

      const coffer = await deployment.open({ COFFER_MASTER_KEYS: env.COFFER_MASTER_KEYS });
      try {
        await expectEverythingReads(coffer, written);
      } finally {
        await coffer.close();
      }
    },
  );
});

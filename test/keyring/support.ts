import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbedded, TOKEN_SECRET } from '../crypto/support.js';
import { createScratchDatabase, TEST_DATABASE_URL } from '../support/database.js';

/**
 * A database that outlives one opening of Coffer, so a test can stop and start it with other
 * settings: files under DATA_DIR on PGlite, a throw-away database with TEST_DATABASE_URL.
 */
export async function persistentDeployment(restore?: Dump) {
  const dataDir = await mkdtemp(join(tmpdir(), 'coffer-keyring-'));
  const scratch = TEST_DATABASE_URL ? await createScratchDatabase(TEST_DATABASE_URL) : null;
  if (restore?.kind === 'pglite') await (await PGlite.create(dataDir, { loadDataDir: restore.blob })).close();
  if (restore?.kind === 'postgres' && scratch) await run('pg_restore', ['--no-owner', '-d', scratch.url, restore.file]);
  const base: Record<string, string> = {
    DATA_DIR: dataDir,
    COFFER_TOKEN_SECRET: TOKEN_SECRET,
    LOG_LEVEL: 'debug',
    ...(scratch ? { DATABASE_URL: scratch.url } : {}),
  };
  return {
    dataDir,
    databaseUrl: scratch?.url ?? null,
    open: (env: Record<string, string> = {}) => openEmbedded({ ...base, ...env }),
    async destroy() {
      await scratch?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export const newRootKey = () => randomBytes(32).toString('base64');

/** `/readyz` until it answers `status` (readiness re-checks a problem every few seconds). */
export async function readyWithin(ready: () => Promise<{ status: number }>, status: number, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    last = (await ready()).status;
    if (last === status) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`readiness did not become ${status} within ${timeoutMs} ms (last ${last})`);
}

const run = promisify(execFile);

export type Dump = { kind: 'pglite'; blob: Blob } | { kind: 'postgres'; file: string };

/** A backup of the database alone (no DATA_DIR files), as an operator takes one: pg_dump, or PGlite's dump. */
export async function dumpDatabase(deployment: { dataDir: string; databaseUrl: string | null }): Promise<Dump> {
  if (deployment.databaseUrl) {
    const file = join(await mkdtemp(join(tmpdir(), 'coffer-dump-')), 'coffer.dump');
    await run('pg_dump', ['--format=custom', '--file', file, deployment.databaseUrl]);
    return { kind: 'postgres', file };
  }
  const pglite = await PGlite.create(deployment.dataDir);
  try {
    return { kind: 'pglite', blob: await pglite.dumpDataDir('none') };
  } finally {
    await pglite.close();
  }
}

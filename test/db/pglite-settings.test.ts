import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { openServices } from '../../src/services.js';
import { TEST_DATABASE_URL } from '../support/database.js';
import { createCapturingLogger } from '../support/logs.js';

/**
 * The embedded database's buffer pool: PGlite zero-fills all of it at every start, so its size is
 * start-up time. `PGLITE_SHARED_BUFFERS_MB` sets it (64 MB unless set); bad values stop start-up.
 */

const TOKEN_SECRET = 'pglite-settings-test-token-secret-0123456789';

describe('PGLITE_SHARED_BUFFERS_MB', () => {
  it('defaults to 64 MB and accepts whole megabytes from 1 to 2048', () => {
    expect(loadConfig({}).pgliteSharedBuffersMb).toBe(64);
    expect(loadConfig({ PGLITE_SHARED_BUFFERS_MB: '256' }).pgliteSharedBuffersMb).toBe(256);
    for (const bad of ['0', '-1', '2049', '1.5', 'lots']) {
      expect(() => loadConfig({ PGLITE_SHARED_BUFFERS_MB: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ PGLITE_SHARED_BUFFERS_MB: bad }), bad).toThrow(/PGLITE_SHARED_BUFFERS_MB/);
    }
  });
});

describe.skipIf(TEST_DATABASE_URL)('the embedded database a server opens', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'coffer-pglite-settings-'));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  async function sharedBuffersOf(env: Record<string, string>): Promise<string> {
    const { logger } = createCapturingLogger();
    const services = await openServices(loadConfig({ DATA_DIR: dataDir, COFFER_TOKEN_SECRET: TOKEN_SECRET, ...env }), logger);
    try {
      const [row] = await services.db.query<{ shared_buffers: string }>('SHOW shared_buffers');
      return row!.shared_buffers;
    } finally {
      await services.close();
    }
  }

  it('runs with the configured buffer pool, and with 64 MB when nothing is set', { timeout: 60_000 }, async () => {
    expect(await sharedBuffersOf({})).toBe('64MB');
    // The same data directory reopened with another size: a start parameter, not stored in it.
    expect(await sharedBuffersOf({ PGLITE_SHARED_BUFFERS_MB: '24' })).toBe('24MB');
  });
});

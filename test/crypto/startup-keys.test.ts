import { randomBytes } from 'node:crypto';
import { access, chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { generateMasterKey, Keyring, KeyringError, MASTER_KEY_FILE, serializeMasterKeys, writeKeyFile } from '../../src/crypto/index.js';
import { openServices } from '../../src/services.js';
import { createTestDatabase } from '../support/database.js';
import { findTrace } from '../support/leaks.js';
import { createCapturingLogger } from '../support/logs.js';
import { TOKEN_SECRET } from './support.js';

/**
 * What a server does with the master keys it is started with: malformed keys stop it with a
 * message an operator can act on (which variable, which key id) and that is safe to log (no key
 * material); keys missing for stored data make those reads fail, masked, and nothing else.
 */

const b64 = (bytes: Buffer) => bytes.toString('base64');
const keyEntry = (id: string, bytes = randomBytes(32)) => ({ id, bytes, entry: `${id}:${b64(bytes)}` });

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe('startup refuses malformed COFFER_MASTER_KEYS (import-only, still checked)', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'coffer-startup-keys-'));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  /** What openServices refused with, over a fresh test database; fails the test if it started. */
  async function startupRefusal(masterKeys: string): Promise<Error> {
    const { db, destroy } = await createTestDatabase();
    const { logger, lines } = createCapturingLogger();
    try {
      const services = await openServices(
        loadConfig({ DATA_DIR: dataDir, COFFER_TOKEN_SECRET: TOKEN_SECRET, COFFER_MASTER_KEYS: masterKeys }),
        logger,
        { db },
      );
      await services.close();
    } catch (error) {
      expect(error).toBeInstanceOf(KeyringError);
      // Nothing logged on the way out holds the keys either.
      expect(lines.filter((line) => findTrace(line, masterKeys) !== null)).toEqual([]);
      return error as Error;
    } finally {
      await destroy();
    }
    throw new Error('openServices started with a malformed COFFER_MASTER_KEYS');
  }

  function expectSafeMessage(error: Error, keyId: string, ...materials: Array<string | Buffer>) {
    expect(error.message).toMatch(/^COFFER_MASTER_KEYS: /);
    expect(error.message).toContain(`"${keyId}"`);
    for (const material of materials) {
      expect(findTrace(error.message, material), error.message).toBeNull();
      expect(findTrace(error.stack ?? '', material)).toBeNull();
    }
  }

  it('a wrong-size key (16 bytes) stops startup, naming COFFER_MASTER_KEYS and the key id, without the key material', async () => {
    const active = keyEntry('k_active');
    const short = keyEntry('k_short', randomBytes(16));
    const error = await startupRefusal(`${active.entry},${short.entry}`);
    expectSafeMessage(error, 'k_short', short.bytes, b64(short.bytes), active.bytes);
    expect(error.message).toMatch(/32 bytes/);
  });

  it('a wrong-size key (33 bytes) stops startup, naming COFFER_MASTER_KEYS and the key id, without the key material', async () => {
    const long = keyEntry('k_long', randomBytes(33));
    const error = await startupRefusal(long.entry);
    expectSafeMessage(error, 'k_long', long.bytes, b64(long.bytes));
  });

  it('garbage instead of base64 stops startup, naming COFFER_MASTER_KEYS and the key id, without the garbage', async () => {
    const material = b64(randomBytes(32));
    const garbage = `${material.slice(0, 22)}%%${material.slice(22)}`;
    const error = await startupRefusal(`k_garbage:${garbage}`);
    expectSafeMessage(error, 'k_garbage', garbage, material.slice(0, 22), material.slice(22));
    expect(error.message).toMatch(/base64/);
  });

  it('a value that is no key list at all stops startup, naming COFFER_MASTER_KEYS, without echoing it', async () => {
    const garbage = `${b64(randomBytes(32))} ${b64(randomBytes(32))}`;
    const error = await startupRefusal(garbage);
    expect(error.message).toMatch(/^COFFER_MASTER_KEYS: /);
    expect(error.message).toMatch(/entry 1/);
    expect(findTrace(error.message, garbage)).toBeNull();
    for (const part of garbage.split(' ')) expect(findTrace(error.message, part)).toBeNull();
  });

  it('a malformed COFFER_MASTER_KEYS does not fall back to a generated key file', async () => {
    await startupRefusal(keyEntry('k_short', randomBytes(16)).entry);
    expect(await exists(join(dataDir, MASTER_KEY_FILE))).toBe(false);
  });

  it('a group-readable COFFER_MASTER_KEYS_FILE stops startup, saying to chmod 600', async () => {
    const path = join(dataDir, 'keys', MASTER_KEY_FILE);
    await writeKeyFile(path, serializeMasterKeys(new Keyring([generateMasterKey()])));
    await chmod(path, 0o640);
    const { db, destroy } = await createTestDatabase();
    try {
      const config = loadConfig({ DATA_DIR: dataDir, COFFER_TOKEN_SECRET: TOKEN_SECRET, COFFER_MASTER_KEYS_FILE: path });
      await expect(openServices(config, createCapturingLogger().logger, { db })).rejects.toThrow(/chmod 600/);
    } finally {
      await destroy();
    }
  });
});

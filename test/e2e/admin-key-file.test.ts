import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanUpProcesses, graphqlAt, startCoffer, tempDir, waitForStatus } from '../support/processes.js';

/**
 * COFFER_ADMIN_KEY_FILE: the first admin's key goes to a file only its owner can read, never to
 * stdout (where a process supervisor would keep it in its journal).
 */

const TIMEOUT_MS = 180_000;
const API_KEY = /cof_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}/;

afterAll(cleanUpProcesses);

describe('COFFER_ADMIN_KEY_FILE', () => {
  it('receives the first admin key with mode 0600; stdout names the file, never the key', { timeout: TIMEOUT_MS }, async () => {
    const keyFile = join(await tempDir(), 'admin.key');
    const server = startCoffer({
      DATA_DIR: await tempDir(),
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      COFFER_ADMIN_KEY_FILE: keyFile,
    });
    const url = await server.listening();
    await waitForStatus(`${new URL(url).origin}/readyz`, 200);

    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const key = (await readFile(keyFile, 'utf8')).trim();
    expect(key).toMatch(new RegExp(`^${API_KEY.source}$`));
    const me = await graphqlAt(url, '{ me { email role } }', { key });
    expect(me.data?.me).toEqual({ email: 'admin@coffer.local', role: 'ADMIN' });

    expect(server.stdout()).not.toMatch(API_KEY);
    expect(server.stderr()).not.toMatch(API_KEY);
    expect(server.stdout()).toContain(keyFile);
    expect((await server.stop()).code).toBe(0);
  });

  it('refuses to start rather than overwrite an existing file while no admin exists', { timeout: TIMEOUT_MS }, async () => {
    const keyFile = join(await tempDir(), 'admin.key');
    await writeFile(keyFile, 'something an operator kept here\n');
    const server = startCoffer({
      DATA_DIR: await tempDir(),
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      COFFER_ADMIN_KEY_FILE: keyFile,
    });
    expect((await server.exited).code).toBe(78);
    expect(server.stderr()).toContain(`COFFER_ADMIN_KEY_FILE ${keyFile} already exists`);
    expect(await readFile(keyFile, 'utf8')).toBe('something an operator kept here\n');
    expect(server.stdout()).not.toMatch(API_KEY);
  });
});

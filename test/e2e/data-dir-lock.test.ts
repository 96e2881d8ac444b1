import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cleanUpProcesses,
  graphqlAt,
  type GraphQLAnswer,
  operatorChosenKey,
  runCli,
  startCoffer,
  tempDir,
  waitForStatus,
} from '../support/processes.js';

/**
 * An embedded database belongs to one process. Before this lock, a CLI beside a running server
 * wrote to its own copy of the data directory: it reported success, the server never saw the
 * change, and a restart lost it. Now the second process is refused at once and touches nothing.
 */

const TIMEOUT_MS = 180_000;
const USERS = '{ users(first: 100) { edges { node { email } } } }';
const emailsOf = (answer: GraphQLAnswer) =>
  (answer.data?.users.edges as Array<{ node: { email: string } }>).map((edge) => edge.node.email).sort();

afterAll(cleanUpProcesses);

describe('one process owns an embedded DATA_DIR', () => {
  it(
    'while the server runs, CLI commands and a second server exit 2 naming its pid and address, and change nothing',
    { timeout: TIMEOUT_MS },
    async () => {
      const dataDir = await tempDir();
      const key = operatorChosenKey();
      const env = { DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', COFFER_ADMIN_API_KEY: key };
      const server = startCoffer(env);
      const url = await server.listening();
      await waitForStatus(`${new URL(url).origin}/readyz`, 200);
      const before = emailsOf(await graphqlAt(url, USERS, { key }));
      const filesBefore = (await readdir(dataDir)).sort();

      const cliEnv = { DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
      for (const args of [['migrate'], ['bootstrap-admin', '--key-file', join(dataDir, 'admin.key')]]) {
        const refused = await runCli(args, cliEnv);
        expect(refused.code, `${args.join(' ')}: ${refused.stderr}`).toBe(2);
        expect(refused.stderr).toContain(`pid ${server.child.pid}`);
        expect(refused.stderr).toContain(url);
        expect(refused.stdout).toBe('');
        expect(refused.stderr).not.toMatch(/\n\s+at |Aborted\(\)/);
      }

      const second = startCoffer({ ...env });
      expect((await second.exited).code).toBe(2);
      expect(second.stderr()).toContain(`pid ${server.child.pid}`);

      // Nothing reached the database, and nothing new appeared in the directory.
      expect(emailsOf(await graphqlAt(url, USERS, { key }))).toEqual(before);
      expect((await readdir(dataDir)).sort()).toEqual(filesBefore);
      expect((await fetch(`${new URL(url).origin}/readyz`)).status).toBe(200);

      expect(await server.stop()).toEqual({ code: 0, signal: null });

      // Once the server has stopped, the CLI owns the directory (the admin exists: bootstrap does nothing).
      const migrated = await runCli(['migrate'], cliEnv);
      expect(migrated.code, migrated.stderr).toBe(0);
      const bootstrap = await runCli(['bootstrap-admin', '--key-file', join(dataDir, 'admin.key')], cliEnv);
      expect(bootstrap.code, bootstrap.stderr).toBe(1);
      expect(bootstrap.stderr).toContain('An admin exists already');
      const restarted = startCoffer(env);
      const again = await restarted.listening();
      expect(emailsOf(await graphqlAt(again, USERS, { key }))).toEqual(before);
      expect(await restarted.stop()).toEqual({ code: 0, signal: null });
    },
  );

  it('the lock of a killed server is taken over within seconds; the lock of a live one never is', { timeout: TIMEOUT_MS }, async () => {
    const dataDir = await tempDir();
    const key = operatorChosenKey();
    const env = { DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', COFFER_ADMIN_API_KEY: key };
    const server = startCoffer(env);
    await server.listening();
    server.child.kill('SIGKILL');
    await server.exited;

    const started = Date.now();
    const migrated = await runCli(['migrate'], { DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);

    const next = startCoffer(env);
    const url = await next.listening();
    expect(emailsOf(await graphqlAt(url, USERS, { key }))).toContain('admin@coffer.local');
    // Frozen (SIGSTOP) for longer than the lock's staleness, it is still alive: never taken over.
    next.child.kill('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    const refused = await runCli(['migrate'], { DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
    next.child.kill('SIGCONT');
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`pid ${next.child.pid}`);
    expect((await graphqlAt(url, USERS, { key })).errors).toBeUndefined();
    expect(await next.stop()).toEqual({ code: 0, signal: null });
  });
});

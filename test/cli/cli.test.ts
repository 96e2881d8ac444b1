import { CLI_ENTRY } from '../support/processes.js';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = CLI_ENTRY;

/** The operator CLI, run as a user would: the package bin in a child process. */
describe('coffer CLI', () => {
  let dataDir: string;
  const env = () => ({
    ...process.env,
    DATA_DIR: dataDir,
    COFFER_TOKEN_SECRET: 'cli-test-secret-long-enough-0123456789abc',
    LOG_LEVEL: 'warn',
    DATABASE_URL: '',
  });
  const coffer = async (...args: string[]) => {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: env(), timeout: 60_000 });
    return { stdout, stderr };
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'coffer-cli-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('migrates, then reports nothing pending', async () => {
    const { stdout } = await coffer('migrate');
    const status = JSON.parse(stdout) as { applied: string[]; pending: string[] };
    expect(status.applied.length).toBeGreaterThan(0);
    expect(status.pending).toEqual([]);
  });

  it('creates a user, an API key and a token for them', { timeout: 120_000 }, async () => {
    const user = JSON.parse((await coffer('user', 'create', '--email', 'Ops@Example.com', '--role', 'admin')).stdout) as {
      id: string;
      email: string;
      role: string;
    };
    expect(user).toMatchObject({ email: 'ops@example.com', role: 'ADMIN' });

    const key = JSON.parse((await coffer('api-key', 'create', '--user', 'ops@example.com', '--name', 'ci')).stdout) as {
      id: string;
      key: string;
    };
    expect(key.key).toMatch(/^cof_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);

    const token = JSON.parse((await coffer('token', 'issue', '--user', user.id)).stdout) as { token: string; expiresAt: string };
    expect(token.token.split('.')).toHaveLength(3);
    expect(new Date(token.expiresAt).getTime()).toBeGreaterThan(Date.now());

    const revoked = JSON.parse((await coffer('api-key', 'revoke', key.id)).stdout) as { revokedAt: string | null };
    expect(revoked.revokedAt).not.toBeNull();
  });

  it('explains errors without a stack trace and exits non-zero', async () => {
    const failure = await coffer('token', 'issue', '--user', 'nobody@example.com').catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toContain('No user nobody@example.com.');
    expect((failure as { stderr: string }).stderr).not.toMatch(/\n\s+at /);
  });

  it('generates keys without touching a database', async () => {
    const { stdout } = await coffer('api-key', 'generate');
    expect(stdout.trim()).toMatch(/^cof_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
  });

  it('answers hostile arguments with one coded line and exit 1: no stack trace, no database message', { timeout: 120_000 }, async () => {
    for (const args of [
      ['api-key', 'revoke', 'nope'],
      ['api-key', 'revoke', "1'; DROP TABLE api_keys; --"],
      ['api-key', 'revoke', '00000000-0000-0000-0000-000000000000'],
      ['token', 'issue', '--user', 'a\u0001b@example.com'],
    ]) {
      const failure = await coffer(...args).catch((error: { code: number; stderr: string }) => error);
      expect(failure, args.join(' ')).toMatchObject({ code: 1 });
      const stderr = (failure as { stderr: string }).stderr;
      expect(stderr).not.toMatch(/\n\s+at |Prisma|invalid input syntax|SELECT|Unexpected error\./);
      expect(stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

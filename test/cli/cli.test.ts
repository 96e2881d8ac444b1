import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'dotenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../../src/config.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js';
import {
  CLI_ENTRY,
  cleanUpProcesses,
  graphqlAt,
  operatorChosenKey,
  REPO_ROOT,
  startCoffer,
  tempDir,
  type CofferProcess,
} from '../support/processes.js';

/**
 * The operator CLI as a user runs it (the package bin in a child process) against a real,
 * running Coffer on the embedded database: every command goes through the API, beside the server.
 */

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

let server: CofferProcess;
let url: string;
let adminKey: string;
let dataDir: string;
let configHome: string;
let projectId: string;
/** With TEST_DATABASE_URL the server runs on a scratch PostgreSQL database, else on the embedded one. */
const postgresUrl = process.env.TEST_DATABASE_URL;
let scratch: ScratchDatabase | null = null;
/** Every value this file stores, to check none leaks where it must not. */
const storedValues: string[] = [];

function cli(
  args: string[],
  { env = {}, input, onSpawn }: { env?: Record<string, string>; input?: string; onSpawn?: (pid: number) => void } = {},
): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [...CONFIG_VARIABLES, 'NODE_OPTIONS', 'COFFER_URL', 'COFFER_API_KEY', 'COFFER_PROFILE', 'COFFER_PROJECT'])
    delete childEnv[name];
  Object.assign(childEnv, { XDG_CONFIG_HOME: configHome }, env);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], { cwd: REPO_ROOT, env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(input ?? '');
    onSpawn?.(child.pid!);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The admin's target through the environment, as in a CI job. */
const asAdmin = () => ({ COFFER_URL: url, COFFER_API_KEY: adminKey });
const inProject = (...args: string[]) => [...args, '--project', projectId];

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  dataDir = await tempDir('coffer-cli-data-');
  configHome = await tempDir('coffer-cli-config-');
  adminKey = operatorChosenKey();
  scratch = postgresUrl ? await createScratchDatabase(postgresUrl) : null;
  server = startCoffer({
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    COFFER_ADMIN_API_KEY: adminKey,
    ...(scratch ? { DATABASE_URL: scratch.url } : {}),
  });
  url = await server.ready(60_000);
  const created = await cli(['project', 'create', '--name', 'cli-tests', '--json'], { env: asAdmin() });
  expect(created.code, created.stderr).toBe(0);
  projectId = (JSON.parse(created.stdout) as { id: string }).id;
}, 120_000);

afterAll(async () => {
  await cleanUpProcesses();
  await scratch?.drop();
});

describe('coffer login and profiles', () => {
  it(
    'saves a checked profile (mode 0600, key from stdin, never printed), uses it, and forgets it on logout',
    { timeout: 60_000 },
    async () => {
      const login = await cli(['login', '--url', url, '--profile', 'ops'], { input: `${adminKey}\n` });
      expect(login.code, login.stderr).toBe(0);
      expect(login.stderr).toContain('admin');
      expect(login.stdout + login.stderr).not.toContain(adminKey);
      const path = join(configHome, 'coffer', 'profiles.json');
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect((await stat(join(configHome, 'coffer'))).mode & 0o777).toBe(0o700);

      const listed = await cli(['profiles']);
      expect(listed.stdout).toContain('* ops');
      expect(listed.stdout).not.toContain(adminKey);

      // The current profile is used with no flag and no environment.
      const projects = await cli(['project', 'list', '--json']);
      expect(projects.code, projects.stderr).toBe(0);
      expect(JSON.parse(projects.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ id: projectId })]));

      // A second named profile; --profile picks one.
      expect((await cli(['login', '--url', url, '--profile', 'second'], { input: adminKey })).code).toBe(0);
      expect((await cli(['project', 'list', '--profile', 'ops'])).code).toBe(0);
      const missing = await cli(['project', 'list', '--profile', 'nope']);
      expect(missing).toMatchObject({ code: 2 });
      expect(missing.stderr).toContain('No profile "nope"');

      expect((await cli(['logout', '--profile', 'second'])).code).toBe(0);
      expect(Object.keys((JSON.parse(await readFile(path, 'utf8')) as { profiles: object }).profiles)).toEqual(['ops']);
      expect((await cli(['logout'])).code).toBe(0);
      const after = await cli(['project', 'list']);
      expect(after.code).toBe(2);
      expect(after.stderr).toContain('No Coffer server');
    },
  );

  it('refuses a bad key at login (nothing saved) and on every command, in one line, exit 2', { timeout: 60_000 }, async () => {
    const wrong = operatorChosenKey();
    const login = await cli(['login', '--url', url, '--profile', 'bad'], { input: wrong });
    expect(login.code).toBe(2);
    expect(login.stderr.trim()).toMatch(/^coffer: UNAUTHENTICATED: /);
    expect(login.stderr.trim().split('\n')).toHaveLength(1);
    const profiles = await cli(['profiles', '--json']);
    expect(JSON.parse(profiles.stdout || '[]')).not.toEqual(expect.arrayContaining([expect.objectContaining({ name: 'bad' })]));

    const get = await cli(['secrets', 'get', 'X'], { env: { COFFER_URL: url, COFFER_API_KEY: wrong } });
    expect(get.code).toBe(2);
    expect(get.stderr).toMatch(/^coffer: UNAUTHENTICATED: [^\n]*\n$/);
    expect(get.stderr).not.toContain(wrong);

    const unreachable = await cli(['secrets', 'list'], { env: { COFFER_URL: 'http://127.0.0.1:9/graphql', COFFER_API_KEY: adminKey } });
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toMatch(/^coffer: NETWORK_ERROR: cannot reach/);
  });
});

describe('coffer secrets', () => {
  it(
    'sets from stdin, gets the value alone on stdout, lists, shows history, rolls back, deletes and restores',
    { timeout: 120_000 },
    async () => {
      const env = asAdmin();
      const first = 'first value with "quotes" and = signs';
      const second = 'second\nvalue ✓';
      storedValues.push(first, second);
      const set1 = await cli(inProject('secrets', 'set', 'DB_PASSWORD'), { env, input: `${first}\n` });
      expect(set1.code, set1.stderr).toBe(0);
      expect(set1.stdout).toBe('');
      expect((await cli(inProject('secrets', 'set', 'DB_PASSWORD'), { env, input: second })).code).toBe(0);

      const get = await cli(inProject('secrets', 'get', 'DB_PASSWORD'), { env });
      expect(get).toMatchObject({ code: 0, stdout: second, stderr: '' });
      expect((await cli(inProject('secrets', 'get', 'DB_PASSWORD', '--version', '1'), { env })).stdout).toBe(first);

      const list = await cli(inProject('secrets', 'list', '--json'), { env });
      const rows = JSON.parse(list.stdout) as Array<{ name: string; currentVersion: number }>;
      expect(rows).toEqual([expect.objectContaining({ name: 'DB_PASSWORD', currentVersion: 2 })]);
      const table = await cli(inProject('secrets', 'list'), { env });
      expect(table.stdout).toMatch(/^NAME\s+VERSION\s+STATE/);

      const history = JSON.parse((await cli(inProject('secrets', 'history', 'DB_PASSWORD', '--json'), { env })).stdout) as Array<{
        version: number;
      }>;
      expect(history.map((entry) => entry.version)).toEqual([2, 1]);

      expect((await cli(inProject('secrets', 'rollback', 'DB_PASSWORD', '--to', '1'), { env })).code).toBe(0);
      expect((await cli(inProject('secrets', 'get', 'DB_PASSWORD'), { env })).stdout).toBe(first);

      expect((await cli(inProject('secrets', 'delete', 'DB_PASSWORD'), { env })).code).toBe(0);
      const gone = await cli(inProject('secrets', 'get', 'DB_PASSWORD'), { env });
      expect(gone.code).toBe(1);
      expect(gone.stderr).toMatch(/^coffer: NOT_FOUND: /);
      expect((await cli(inProject('secrets', 'restore', 'DB_PASSWORD'), { env })).code).toBe(0);
      expect((await cli(inProject('secrets', 'get', 'DB_PASSWORD'), { env })).stdout).toBe(first);

      // --value works, with a warning about shell history.
      const explicit = await cli(inProject('secrets', 'set', 'FROM_ARGUMENT', '--value', 'argument-value'), { env });
      storedValues.push('argument-value');
      expect(explicit.code).toBe(0);
      expect(explicit.stderr).toContain('shell history');
    },
  );

  it('answers bad arguments with usage (2) and bad input with one coded line (1)', { timeout: 120_000 }, async () => {
    const env = asAdmin();
    const cases: Array<{ args: string[]; code: number; pattern: RegExp }> = [
      { args: ['secrets', 'get'], code: 2, pattern: /missing required argument/ },
      { args: ['secrets', 'export', '--format', 'xml'], code: 2, pattern: /must be dotenv, json or yaml/ },
      { args: inProject('secrets', 'rollback', 'X', '--to', 'abc'), code: 2, pattern: /must be a version number/ },
      { args: ['secrets', 'nope'], code: 2, pattern: /unknown command/ },
      { args: inProject('secrets', 'get', 'lower-case'), code: 1, pattern: /^coffer: BAD_USER_INPUT: .*name/ },
      { args: ['secrets', 'get', 'X', '--project', 'not-a-uuid'], code: 1, pattern: /^coffer: (NOT_FOUND|BAD_USER_INPUT): / },
      { args: ['api-key', 'revoke', "1'; DROP TABLE api_keys; --"], code: 1, pattern: /^coffer: (NOT_FOUND|BAD_USER_INPUT): / },
      { args: ['token', 'issue', '--user', 'nobody@example.com'], code: 1, pattern: /No user nobody@example.com/ },
      { args: ['user', 'create', '--email', 'a\u0001b@example.com'], code: 1, pattern: /^coffer: BAD_USER_INPUT: / },
    ];
    for (const { args, code, pattern } of cases) {
      const result = await cli(args, { env });
      expect(result.code, args.join(' ')).toBe(code);
      expect(result.stderr, args.join(' ')).toMatch(pattern);
      expect(result.stderr).not.toMatch(/\n\s+at |Prisma|invalid input syntax|SELECT|Unexpected error\./);
      if (code === 1) expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    expect((await cli(['--help'])).code).toBe(0);
    expect((await cli(['secrets', 'import', '--help'])).stdout).toContain('all or nothing');
    expect((await cli(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it(
    'imports a hostile .env (plan first, then --yes) and exports it back identically in dotenv, json and yaml',
    { timeout: 120_000 },
    async () => {
      const env = { ...asAdmin(), COFFER_PROJECT: projectId };
      const dir = await tempDir('coffer-cli-env-');
      const hostile = [
        '# a comment line',
        'export EXPORTED=with-export-prefix',
        'EQUALS="a=b=c=="',
        `MIXED_QUOTES='she said "hi"'`,
        'ESCAPED_NEWLINE="line1\\nline2"',
        'MULTI_LINE="first',
        'second line"',
        'UNICODE=héllo ✓ 日本語',
        'HASH_INSIDE="value # not a comment" # a comment',
        'PADDED="  spaces kept  "',
        "BACKSLASHES='C:\\path\\n\\t'",
        'DOLLARS=$HOME ${NOT_EXPANDED}',
        'BACKTICK_AND_QUOTES=`it\'s "both"`',
        '',
      ].join('\n');
      const file = join(dir, 'hostile.env');
      await writeFile(file, hostile);
      const expected = parse(hostile);
      storedValues.push(...Object.values(expected).filter((value) => value.length > 6));

      const plan = await cli(['secrets', 'import', file, '--json'], { env });
      expect(plan.code, plan.stderr).toBe(0);
      expect(JSON.parse(plan.stdout)).toMatchObject({ applied: false, created: Object.keys(expected), changed: [], unchanged: [] });
      // Only a plan: nothing written.
      expect(JSON.parse((await cli(['secrets', 'list', '--json'], { env })).stdout).map((row: { name: string }) => row.name)).not.toContain(
        'EQUALS',
      );

      const applied = await cli(['secrets', 'import', file, '--yes'], { env });
      expect(applied.code, applied.stderr).toBe(0);
      expect(applied.stdout + applied.stderr).not.toContain('a=b=c==');

      const exported = await cli(['secrets', 'export', '--format', 'dotenv', '--raw'], { env });
      expect(exported.code, exported.stderr).toBe(0);
      const back = parse(exported.stdout);
      for (const [name, value] of Object.entries(expected)) expect(back[name], name).toBe(value);

      const json = JSON.parse((await cli(['secrets', 'export', '--format', 'json', '--raw'], { env })).stdout) as Record<string, string>;
      expect(json).toMatchObject(expected);
      const yaml = await cli(['secrets', 'export', '--format', 'yaml', '--raw'], { env });
      expect((await import('yaml')).parse(yaml.stdout)).toMatchObject(expected);

      // Re-importing the export changes nothing.
      const exportFile = join(dir, 'export.env');
      await writeFile(exportFile, exported.stdout);
      const again = JSON.parse((await cli(['secrets', 'import', exportFile, '--json'], { env })).stdout) as {
        created: string[];
        changed: string[];
      };
      expect(again).toMatchObject({ created: [], changed: [] });

      // `${NOT_EXPANDED}` is a reference for Coffer: served expanded it cannot resolve, so bulk reads
      // without --raw would fail. Leave the scope servable for the `run` tests.
      expect((await cli(['secrets', 'delete', 'DOLLARS'], { env })).code).toBe(0);
    },
  );

  it('refuses duplicate names and empty values before writing anything', { timeout: 60_000 }, async () => {
    const env = { ...asAdmin(), COFFER_PROJECT: projectId };
    const dir = await tempDir('coffer-cli-env-');
    await writeFile(join(dir, 'dup.env'), 'NEW_ONE=1\nDUP=a\n# x\nDUP=b\n');
    const duplicate = await cli(['secrets', 'import', join(dir, 'dup.env'), '--yes'], { env });
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('DUP (lines 2, 4)');
    await writeFile(join(dir, 'empty.env'), 'NEW_ONE=1\nEMPTY=\n');
    const empty = await cli(['secrets', 'import', join(dir, 'empty.env'), '--yes'], { env });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('EMPTY');
    expect(JSON.parse((await cli(['secrets', 'list', '--json'], { env })).stdout).map((row: { name: string }) => row.name)).not.toContain(
      'NEW_ONE',
    );
  });
});

describe('coffer secrets import, all or nothing', () => {
  /** A fresh environment of the CLI project: these tests write conflicts and refusals, never into production. */
  async function importEnvironment() {
    const name = `imp-${Date.now().toString(36)}`;
    const created = await graphqlAt(url, 'mutation ($p: ID!, $n: String!) { createEnvironment(projectId: $p, name: $n) { name } }', {
      key: adminKey,
      variables: { p: projectId, n: name },
    });
    expect(created.errors).toBeUndefined();
    return { ...asAdmin(), COFFER_PROJECT: projectId, COFFER_ENVIRONMENT: name };
  }
  const valuesOf = async (env: Record<string, string>) =>
    JSON.parse((await cli(['secrets', 'export', '--format', 'json', '--raw'], { env })).stdout) as Record<string, string>;

  it('a file with one value the server refuses writes nothing: exit 1, one line naming it', { timeout: 60_000 }, async () => {
    const env = await importEnvironment();
    const dir = await tempDir('coffer-cli-env-');
    await writeFile(join(dir, 'base.env'), 'KEPT=kept value\n');
    expect((await cli(['secrets', 'import', join(dir, 'base.env'), '--yes'], { env })).code).toBe(0);
    await writeFile(join(dir, 'bad.env'), 'FRESH_ONE=fresh value\nKEPT=changed value\nBROKEN=uses ${unclosed\nFRESH_TWO=two\n');
    const refused = await cli(['secrets', 'import', join(dir, 'bad.env'), '--yes'], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/^coffer: Import refused, nothing imported: BAD_USER_INPUT: .*BROKEN \(value\)/);
    expect(refused.stderr).not.toContain('changed value');
    expect(await valuesOf(env)).toEqual({ KEPT: 'kept value' });
  });

  it(
    'a secret changed between the plan and --yes is a CONFLICT: nothing written, exit 1, one line naming it',
    { timeout: 60_000 },
    async () => {
      const env = await importEnvironment();
      const dir = await tempDir('coffer-cli-env-');
      await writeFile(join(dir, 'base.env'), 'RACED=first\n');
      expect((await cli(['secrets', 'import', join(dir, 'base.env'), '--yes'], { env })).code).toBe(0);
      // A proxy in front of the server writes RACED itself just before forwarding the import's write.
      const target = { type: 'PROJECT', projectId, environment: env.COFFER_ENVIRONMENT };
      const proxy = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString()));
        request.on('end', () => {
          void (async () => {
            if (body.includes('upsertSecrets')) {
              const raced = await graphqlAt(url, 'mutation ($input: UpsertSecretInput!) { upsertSecret(input: $input) { name } }', {
                key: adminKey,
                variables: { input: { name: 'RACED', value: 'written meanwhile', scope: target } },
              });
              expect(raced.errors).toBeUndefined();
            }
            const forwarded = await fetch(url, { method: 'POST', headers: request.headers as Record<string, string>, body });
            response.writeHead(forwarded.status, { 'content-type': forwarded.headers.get('content-type') ?? 'application/json' });
            response.end(await forwarded.text());
          })();
        });
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      try {
        const proxied = { ...env, COFFER_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/graphql` };
        await writeFile(join(dir, 'next.env'), 'RACED=second\nALSO_NEW=also new\n');
        const result = await cli(['secrets', 'import', join(dir, 'next.env'), '--yes'], { env: proxied });
        expect(result.code).toBe(1);
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
        expect(result.stderr).toMatch(/^coffer: Import refused, nothing imported: CONFLICT: .*RACED/);
      } finally {
        await new Promise((resolve) => proxy.close(resolve));
      }
      expect(await valuesOf(env)).toEqual({ RACED: 'written meanwhile' });
    },
  );
});

describe('coffer run', () => {
  it('injects the secrets, passes stdin and the exit code, and not its own key', { timeout: 60_000 }, async () => {
    const env = { ...asAdmin(), COFFER_PROJECT: projectId };
    const script =
      'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{console.log(JSON.stringify({m:process.env.MULTI_LINE,k:process.env.COFFER_API_KEY??null,s}));process.exit(7)})';
    const result = await cli(['run', '--', process.execPath, '-e', script], { env, input: 'from stdin' });
    expect(result.code).toBe(7);
    expect(JSON.parse(result.stdout)).toEqual({ m: 'first\nsecond line', k: null, s: 'from stdin' });
    expect(result.stderr).toBe('');
  });

  it('passes SIGTERM to the command and exits as it does', { timeout: 60_000 }, async () => {
    const env = { ...asAdmin(), COFFER_PROJECT: projectId };
    let pid = 0;
    const script = 'process.on("SIGTERM",()=>{console.log("term");process.exit(42)});console.log("ready");setInterval(()=>{},1000)';
    const running = cli(['run', '--', process.execPath, '-e', script], { env, onSpawn: (spawned) => (pid = spawned) });
    // The command is up once the bulk read is done and it printed; poll the CLI's children.
    await waitFor(async () => {
      const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
      return children.trim().length > 0;
    }, 'the command to start');
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.kill(pid, 'SIGTERM');
    const result = await running;
    expect(result.code).toBe(42);
    expect(result.stdout).toContain('term');
  });

  it('--watch restarts the command with the new value when a secret changes', { timeout: 90_000 }, async () => {
    const env = { ...asAdmin(), COFFER_PROJECT: projectId };
    expect((await cli(['secrets', 'set', 'WATCHED'], { env, input: 'watched-one' })).code).toBe(0);
    let output = '';
    let pid = 0;
    const child = spawn(
      process.execPath,
      [CLI_ENTRY, 'run', '--watch', '--', process.execPath, '-e', 'console.log("W="+process.env.WATCHED);setInterval(()=>{},1000)'],
      {
        env: { ...process.env, XDG_CONFIG_HOME: configHome, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    pid = child.pid!;
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const closed = new Promise((resolve) => child.once('close', resolve));
    await waitFor(() => output.includes('W=watched-one'), 'the first run');
    // The subscription may still be connecting: set until the restart is seen.
    await waitFor(
      async () => {
        if (output.includes('W=watched-two')) return true;
        await cli(['secrets', 'set', 'WATCHED'], { env, input: 'watched-two' });
        await new Promise((resolve) => setTimeout(resolve, 1000));
        return output.includes('W=watched-two');
      },
      'the restart with the new value',
      60_000,
    );
    expect(output).toContain('restarting');
    process.kill(pid, 'SIGTERM');
    await closed;
  });
});

describe('users, keys, tokens, projects and the keyring over the API', () => {
  it('creates a user, a key for them (used at once), a token, lists and revokes', { timeout: 120_000 }, async () => {
    const env = asAdmin();
    const user = await cli(['user', 'create', '--email', 'Dev@Example.com', '--role', 'developer', '--json'], { env });
    expect(user.code, user.stderr).toBe(0);
    expect(JSON.parse(user.stdout)).toMatchObject({ email: 'dev@example.com', role: 'DEVELOPER' });
    expect((await cli(['user', 'list'], { env })).stdout).toContain('dev@example.com');

    const key = await cli(['api-key', 'create', '--user', 'dev@example.com', '--name', 'laptop', '--json'], { env });
    const created = JSON.parse(key.stdout) as { id: string; key: string };
    expect(created.key).toMatch(/^cof_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    const asDev = { COFFER_URL: url, COFFER_API_KEY: created.key };
    expect((await cli(['project', 'create', '--name', 'dev-project'], { env: asDev })).code).toBe(0);
    const listedKeys = await cli(['api-key', 'list', '--json'], { env: asDev });
    expect(JSON.parse(listedKeys.stdout)).toEqual([expect.objectContaining({ id: created.id, name: 'laptop' })]);
    expect(listedKeys.stdout).not.toContain(created.key);

    const token = await cli(['token', 'issue', '--user', 'dev@example.com'], { env });
    expect(token.stdout.trim().split('.')).toHaveLength(3);
    const forbidden = await cli(['user', 'list'], { env: asDev });
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/^coffer: FORBIDDEN: /);

    expect((await cli(['api-key', 'revoke', created.id], { env })).code).toBe(0);
    expect((await cli(['project', 'list'], { env: asDev })).code).toBe(2);
  });

  it('disables and enables a user: their key is refused at once, then works again; not yourself', { timeout: 120_000 }, async () => {
    const env = asAdmin();
    const made = await cli(['user', 'create', '--email', 'leaver@example.com', '--json'], { env });
    expect(made.code, made.stderr).toBe(0);
    const { id } = JSON.parse(made.stdout) as { id: string };
    const key = JSON.parse((await cli(['api-key', 'create', '--user', id, '--name', 'ci', '--json'], { env })).stdout) as { key: string };
    const asLeaver = { COFFER_URL: url, COFFER_API_KEY: key.key };
    expect((await cli(['project', 'list'], { env: asLeaver })).code).toBe(0);

    const byDeveloper = await cli(['users', 'disable', id], { env: asLeaver });
    expect(byDeveloper.code).toBe(1);
    expect(byDeveloper.stderr).toMatch(/^coffer: FORBIDDEN: /);

    const disabled = await cli(['users', 'disable', id], { env });
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(disabled.stdout).toBe(`Disabled ${id} (leaver@example.com).\n`);
    const refused = await cli(['project', 'list'], { env: asLeaver });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^coffer: UNAUTHENTICATED: /);
    expect((await cli(['users', 'list'], { env })).stdout).toMatch(new RegExp(`${id}\tleaver@example.com\tDEVELOPER\tdisabled`));

    const enabled = await cli(['users', 'enable', 'leaver@example.com', '--json'], { env });
    expect(enabled.code, enabled.stderr).toBe(0);
    expect(JSON.parse(enabled.stdout)).toMatchObject({ id, disabledAt: null });
    expect((await cli(['project', 'list'], { env: asLeaver })).code).toBe(0);

    const myKeys = JSON.parse((await cli(['api-key', 'list', '--json'], { env })).stdout) as Array<{ userId: string }>;
    const self = await cli(['users', 'disable', myKeys[0]!.userId], { env });
    expect(self.code).toBe(1);
    expect(self.stderr.trim().split('\n')).toHaveLength(1);
    expect(self.stderr).toMatch(/^coffer: BAD_USER_INPUT: .*yourself/);
    expect((await cli(['users', 'disable', '00000000-0000-4000-8000-000000000000'], { env })).stderr).toMatch(/^coffer: NOT_FOUND: /);
  });

  it(
    'stripe status and configure go through the API; a bad key is refused in one line without echoing it',
    { timeout: 60_000 },
    async () => {
      const env = asAdmin();
      const status = await cli(['stripe', 'status', '--project', projectId], { env });
      expect(status).toMatchObject({ code: 0, stdout: 'Stripe is not configured for this project.\n' });
      const badKey = 'sk_test_not-a-real-key-but-secret-0123456789';
      const refused = await cli(['stripe', 'configure', '--project', projectId, '--environment', 'test'], { env, input: badKey });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^coffer: BAD_USER_INPUT: [^\n]*\n$/);
      expect(refused.stdout + refused.stderr).not.toContain(badKey);
      expect(server.stdout() + server.stderr()).not.toContain(badKey);
    },
  );

  it('rotates the master key with progress lines when stderr is not a terminal', { timeout: 60_000 }, async () => {
    const result = await cli(['master-key', 'rotate', '--generate', '--json'], { env: asAdmin() });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/rotating: \d+ re-wrapped, 0 remaining/);
    expect(JSON.parse(result.stdout)).toMatchObject({ remaining: 0 });
    // Values still read after the rotation.
    expect((await cli(inProject('secrets', 'get', 'DB_PASSWORD'), { env: asAdmin() })).code).toBe(0);
  });
});

describe('local commands', () => {
  it.skipIf(postgresUrl)('migrate is refused while the server holds the data directory, naming it', { timeout: 60_000 }, async () => {
    const result = await cli(['migrate'], { env: { DATA_DIR: dataDir, DATABASE_URL: '' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(String(server.child.pid));
  });

  it(
    'migrate and bootstrap-admin work on a data directory no server holds; the key goes to a 0600 file',
    { timeout: 120_000 },
    async () => {
      const own = await tempDir('coffer-cli-local-');
      const env = { DATA_DIR: own, DATABASE_URL: '', LOG_LEVEL: 'warn' };
      const migrated = await cli(['migrate'], { env });
      expect(migrated.code, migrated.stderr).toBe(0);
      expect(JSON.parse(migrated.stdout)).toMatchObject({ pending: [] });
      const keyFile = join(own, 'admin.key');
      const bootstrap = await cli(['bootstrap-admin', '--key-file', keyFile], { env });
      expect(bootstrap.code, bootstrap.stderr).toBe(0);
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      const key = (await readFile(keyFile, 'utf8')).trim();
      expect(bootstrap.stdout + bootstrap.stderr).not.toContain(key);
      expect((await cli(['bootstrap-admin', '--key-file', join(own, 'again.key')], { env })).code).toBe(1);
    },
  );
});

describe('no value leaks', () => {
  it('the server log never holds a stored value', async () => {
    // Sanity: the server really served them (the get tests above), and its log is not empty.
    expect(server.logs().length).toBeGreaterThan(0);
    const answer = await graphqlAt(url, '{ me { id } }', { key: adminKey });
    expect(answer.errors).toBeUndefined();
    const log = server.stdout() + server.stderr();
    for (const value of storedValues) expect(log, 'server log').not.toContain(value);
  });
});

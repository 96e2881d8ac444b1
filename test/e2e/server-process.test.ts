import { SERVER_ENTRY } from '../support/processes.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `npm start` as operators run it: a real child process, real environment, real port, real
 * signals. Slow (PGlite's first initialisation takes seconds), so only what needs a process
 * is checked here; everything else goes through `yoga.fetch`.
 */

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const API_KEY = /cof_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}/g;
/** First start initialises PGlite and migrates: a few seconds here, more on a busy CI runner. */
const START_TIMEOUT_MS = 60_000;
const PROCESS_TEST_TIMEOUT_MS = 120_000;

/** Everything src/config.ts reads: the child gets exactly what a test gives it, nothing inherited. */
const CONFIG_VARIABLES = [
  'PORT',
  'HOST',
  'DATA_DIR',
  'DATABASE_URL',
  'DATABASE_POOL_SIZE',
  'PGLITE_SHARED_BUFFERS_MB',
  'COFFER_ADMIN_API_KEY',
  'COFFER_TOKEN_SECRET',
  'TOKEN_TTL_SECONDS',
  'JWKS_URL',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
  'JWT_ROLE_CLAIM',
  'JWT_ADMIN_ROLE',
  'PUBLIC_URL',
  'REDIS_URL',
  'STRIPE_API_BASE',
  'LOG_LEVEL',
  'MAX_REQUEST_BODY_BYTES',
  'NODE_OPTIONS',
];

type LogLine = Record<string, unknown> & { msg?: string };
type Exit = { code: number | null; signal: NodeJS.Signals | null };

interface CofferProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** stdout lines that parse as pino JSON. */
  logs(): LogLine[];
  exited: Promise<Exit>;
  waitForLog(predicate: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** Resolves with the GraphQL URL from the "Coffer is listening" line. */
  listening(): Promise<string>;
}

const running = new Set<CofferProcess>();

function startCoffer(env: Record<string, string>): CofferProcess {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CONFIG_VARIABLES) delete childEnv[name];
  Object.assign(childEnv, env);
  // node --import tsx (not the tsx binary): the signal goes straight to Coffer, not to a wrapper.
  const child = spawn(process.execPath, [SERVER_ENTRY], {
    cwd: REPO_ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((listener) => listener());
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    notify();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    notify();
  });
  let exit: Exit | null = null;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      running.delete(proc);
      notify();
      resolve(exit);
    });
  });

  const logs = (): LogLine[] =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as LogLine];
        } catch {
          return []; // a line still being written
        }
      });

  const describeOutput = () => `\n--- stdout ---\n${stdout.slice(-4000)}\n--- stderr ---\n${stderr.slice(-4000)}`;

  function waitForLog(predicate: (line: LogLine) => boolean, what: string, timeoutMs = START_TIMEOUT_MS): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = logs().find(predicate);
        if (found) return done(() => resolve(found));
        if (exit) return done(() => reject(new Error(`Coffer exited (${JSON.stringify(exit)}) before ${what}${describeOutput()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no ${what} within ${timeoutMs} ms${describeOutput()}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        settle();
      };
      listeners.add(check);
      check();
    });
  }

  const proc: CofferProcess = {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    logs,
    exited,
    waitForLog,
    async listening() {
      const line = await waitForLog((log) => log.msg === 'Coffer is listening', '"Coffer is listening" log line');
      expect(line.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
      return line.url as string;
    },
  };
  running.add(proc);
  return proc;
}

async function stopCoffer(proc: CofferProcess, timeoutMs = 20_000): Promise<Exit> {
  proc.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Coffer did not exit within ${timeoutMs} ms of SIGTERM`)), timeoutMs);
  });
  try {
    return await Promise.race([proc.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function graphql(url: string, query: string, { key, variables }: { key?: string; variables?: Record<string, unknown> } = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(key ? { 'x-api-key': key } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const json = (await response.json()) as {
    data?: Record<string, any> | null; // eslint-disable-line @typescript-eslint/no-explicit-any
    errors?: Array<{ message: string; extensions?: { code?: string } }>;
  };
  return { status: response.status, ...json };
}

async function waitForStatus(url: string, status: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: number | string = 'none';
  while (Date.now() < deadline) {
    try {
      last = (await fetch(url)).status;
      if (last === status) return;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}

/** Shutdown closes WebSockets first, then the listener: allow a moment after the log line. */
async function waitForPortClosed(port: number, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await portAccepts(port))) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A key in the documented COFFER_ADMIN_API_KEY format, made here so the test does not trust the code under test. */
function operatorChosenKey(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let lookup = '';
  for (let i = 0; i < 12; i += 1) lookup += alphabet[randomInt(alphabet.length)];
  return `cof_${lookup}_${randomBytes(32).toString('base64url')}`;
}

const ME = '{ me { id email role } }';
const CREATE_PROJECT = 'mutation Create($name: String!) { createProject(input: { name: $name }) { id name } }';
const PROJECTS = '{ projects(first: 50) { edges { node { id name } } } }';

const tempDirs: string[] = [];
async function freshDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-e2e-'));
  tempDirs.push(dir);
  return dir;
}

afterAll(async () => {
  for (const proc of running) proc.child.kill('SIGKILL');
  await Promise.all([...running].map((proc) => proc.exited));
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

// The steps share one DATA_DIR and run in order: first start, shutdown, restart.
describe('npm start, first start to restart on one DATA_DIR', () => {
  let dataDir: string;
  let adminKey: string;
  let project: { id: string; name: string };
  const env = () => ({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' });

  beforeAll(async () => {
    dataDir = await freshDataDir();
  });

  it(
    'first start prints a one-time admin key, never logs it, and serves health, readiness and GraphQL',
    { timeout: PROCESS_TEST_TIMEOUT_MS },
    async () => {
      const coffer = startCoffer(env());
      const url = await coffer.listening();
      const origin = new URL(url).origin;

      const printed = coffer.stdout().match(API_KEY) ?? [];
      expect(printed).toHaveLength(1);
      adminKey = printed[0]!;
      // Printed for the operator, but no JSON log line (what log shipping collects) holds it.
      expect(coffer.logs().some((line) => JSON.stringify(line).includes(adminKey))).toBe(false);
      expect(coffer.stderr()).not.toContain(adminKey);

      expect((await fetch(`${origin}/healthz`)).status).toBe(200);
      await waitForStatus(`${origin}/readyz`, 200);

      const me = await graphql(url, ME, { key: adminKey });
      expect(me.errors).toBeUndefined();
      expect(me.data?.me).toMatchObject({ email: 'admin@coffer.local', role: 'ADMIN' });

      const anonymous = await graphql(url, ME);
      expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

      const created = await graphql(url, CREATE_PROJECT, { key: adminKey, variables: { name: 'e2e project' } });
      expect(created.errors).toBeUndefined();
      project = created.data?.createProject;
      expect(project).toMatchObject({ id: expect.any(String), name: 'e2e project' });

      const exit = await stopCoffer(coffer);
      expect(exit).toEqual({ code: 0, signal: null });
    },
  );

  it(
    'SIGTERM: stops accepting, finishes the in-flight request, logs the shutdown, exits 0, frees the port',
    { timeout: PROCESS_TEST_TIMEOUT_MS },
    async () => {
      expect(adminKey, 'needs the key from the first-start step (run the whole describe)').toBeDefined();
      const coffer = startCoffer(env());
      const url = await coffer.listening();
      const port = Number(new URL(url).port);
      await waitForStatus(`${new URL(url).origin}/readyz`, 200);

      // An in-flight request on a keep-alive connection: headers and half the body now, the rest
      // after SIGTERM. Coffer must neither drop it nor wait forever for the idle connection after it.
      const body = JSON.stringify({ query: ME });
      const agent = new http.Agent({ keepAlive: true });
      const request = http.request(url, {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-api-key': adminKey },
      });
      const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
        request.once('response', (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.once('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.once('error', reject);
        });
        request.once('error', reject);
      });
      response.catch(() => undefined); // awaited below; if an assertion fails first, not unhandled
      const half = Math.floor(body.length / 2);
      request.write(body.slice(0, half));
      // Let the server see the request line and headers before the signal.
      await new Promise((resolve) => setTimeout(resolve, 300));

      coffer.child.kill('SIGTERM');
      const shutdown = await coffer.waitForLog((line) => line.msg?.startsWith('shutting down') === true, 'shutdown log line', 10_000);
      expect(shutdown).toMatchObject({ signal: 'SIGTERM' });
      // The listener closes while the request is still in flight.
      expect(await waitForPortClosed(port), 'port still accepts connections during shutdown').toBe(true);

      request.end(body.slice(half));
      const answered = await response;
      const responseAt = Date.now();
      expect(answered.status).toBe(200);
      expect(JSON.parse(answered.body)).toEqual({ data: { me: expect.objectContaining({ role: 'ADMIN', email: 'admin@coffer.local' }) } });

      const exit = await coffer.exited;
      agent.destroy();
      expect(exit).toEqual({ code: 0, signal: null });
      // The keep-alive connection left idle by the answered request must not hold the exit back
      // until the 10 s force-exit (or the 5 s keep-alive timeout).
      expect(Date.now() - responseAt, 'ms from the last response to exit: an idle keep-alive connection held the shutdown').toBeLessThan(
        4_000,
      );
      expect(coffer.logs().map((line) => line.msg)).toContain('stopped');
      expect(await portAccepts(port)).toBe(false);
    },
  );

  it(
    'restart on the same DATA_DIR prints no new key; the first key and the project are still there',
    { timeout: PROCESS_TEST_TIMEOUT_MS },
    async () => {
      expect(adminKey, 'needs the key from the first-start step (run the whole describe)').toBeDefined();
      const coffer = startCoffer(env());
      const url = await coffer.listening();
      expect(coffer.stdout().match(API_KEY)).toBeNull();
      await waitForStatus(`${new URL(url).origin}/readyz`, 200);

      const me = await graphql(url, ME, { key: adminKey });
      expect(me.data?.me).toMatchObject({ email: 'admin@coffer.local', role: 'ADMIN' });

      const projects = await graphql(url, PROJECTS, { key: adminKey });
      expect(projects.errors).toBeUndefined();
      expect(projects.data?.projects.edges.map((edge: { node: unknown }) => edge.node)).toContainEqual(project);

      expect(await stopCoffer(coffer)).toEqual({ code: 0, signal: null });
    },
  );
});

describe('npm start, configuration', () => {
  it('refuses a bad PORT: exits non-zero naming PORT, never listens', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const coffer = startCoffer({ DATA_DIR: await freshDataDir(), PORT: 'abc', LOG_LEVEL: 'info' });
    const exit = await coffer.exited;
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(coffer.stderr()).toMatch(/\bPORT\b/);
    expect(coffer.logs().some((line) => line.msg === 'Coffer is listening')).toBe(false);
  });

  it('names a malformed COFFER_ADMIN_API_KEY without echoing its value', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const bad = `cof_tooShort_${'S3cretMaterial'.repeat(3)}`;
    const coffer = startCoffer({ DATA_DIR: await freshDataDir(), PORT: '0', COFFER_ADMIN_API_KEY: bad, LOG_LEVEL: 'info' });
    const exit = await coffer.exited;
    expect(exit.code).not.toBe(0);
    expect(coffer.stderr()).toContain('COFFER_ADMIN_API_KEY');
    expect(coffer.stderr() + coffer.stdout()).not.toContain('S3cretMaterial');
  });

  it(
    "with COFFER_ADMIN_API_KEY, the first start prints no key and the configured key is the admin's",
    { timeout: PROCESS_TEST_TIMEOUT_MS },
    async () => {
      const key = operatorChosenKey();
      const coffer = startCoffer({
        DATA_DIR: await freshDataDir(),
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        COFFER_ADMIN_API_KEY: key,
      });
      const url = await coffer.listening();
      expect(coffer.stdout().match(API_KEY)).toBeNull();
      expect(coffer.logs().map((line) => line.msg)).toContain('registered COFFER_ADMIN_API_KEY for the admin');

      const me = await graphql(url, ME, { key });
      expect(me.errors).toBeUndefined();
      expect(me.data?.me).toMatchObject({ role: 'ADMIN' });

      expect(await stopCoffer(coffer)).toEqual({ code: 0, signal: null });
    },
  );
});

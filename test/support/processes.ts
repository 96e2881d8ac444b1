import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_VARIABLES } from '../../src/config.js';

/**
 * Coffer as operators run it: `npm start` (dist/server.js) and the CLI (the package bin) as real
 * child processes with exactly the environment a test gives them, nothing inherited.
 */

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The build (dist/, made by test/support/build.global.ts for every test run), as `npm start` and the bin run it. */
export const SERVER_ENTRY = join(REPO_ROOT, 'dist/server.js');
export const CLI_ENTRY = join(REPO_ROOT, 'dist/cli/index.js');
/** A cold start (PGlite's first initialisation, migrations) takes seconds, more on a busy runner. */
export const START_TIMEOUT_MS = 60_000;

export type LogLine = Record<string, unknown> & { msg?: string };
export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export interface CofferProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** stdout lines that parse as pino JSON. */
  logs(): LogLine[];
  exited: Promise<Exit>;
  waitForLog(predicate: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** The GraphQL URL from the "Coffer is listening" line. */
  listening(): Promise<string>;
  /** The same, once `/readyz` answers 200 too. */
  ready(timeoutMs?: number): Promise<string>;
  /** SIGTERM, then the exit (rejects if it takes longer than `timeoutMs`). */
  stop(timeoutMs?: number): Promise<Exit>;
}

const running = new Set<CofferProcess>();
const tempDirs: string[] = [];

/** Call from the suite's afterAll: kills what is left and removes temporary directories. */
export async function cleanUpProcesses(): Promise<void> {
  for (const proc of running) proc.child.kill('SIGKILL');
  await Promise.all([...running].map((proc) => proc.exited));
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

export async function tempDir(prefix = 'coffer-e2e-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/**
 * Each test file is its own deployment on the shared Redis: one file's failed sign-ins from
 * 127.0.0.1 never throttle another's, and its events never reach another's servers.
 */
export const TEST_REDIS_KEY_PREFIX = `coffer-test-${randomBytes(6).toString('hex')}:`;

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [...CONFIG_VARIABLES, 'NODE_OPTIONS']) delete result[name];
  return Object.assign(result, { REDIS_KEY_PREFIX: TEST_REDIS_KEY_PREFIX }, env);
}

function parseLogs(stdout: string): LogLine[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return []; // a line still being written
      }
    });
}

export function startCoffer(env: Record<string, string>): CofferProcess {
  const child = spawn(process.execPath, [SERVER_ENTRY], {
    cwd: REPO_ROOT,
    env: childEnv(env),
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
  const describeOutput = () => `\n--- stdout ---\n${stdout.slice(-4000)}\n--- stderr ---\n${stderr.slice(-4000)}`;

  function waitForLog(predicate: (line: LogLine) => boolean, what: string, timeoutMs = START_TIMEOUT_MS): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = parseLogs(stdout).find(predicate);
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
    logs: () => parseLogs(stdout),
    exited,
    waitForLog,
    async listening() {
      const line = await waitForLog((log) => log.msg === 'Coffer is listening', '"Coffer is listening" log line');
      return line.url as string;
    },
    async ready(timeoutMs = 15_000) {
      const url = await this.listening();
      await waitForStatus(`${new URL(url).origin}/readyz`, 200, timeoutMs);
      return url;
    },
    async stop(timeoutMs = 20_000) {
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Coffer did not exit within ${timeoutMs} ms of SIGTERM${describeOutput()}`)), timeoutMs);
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
  running.add(proc);
  return proc;
}

/** The CLI as a user runs it (the package bin); never rejects: the exit code is part of the answer. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_ENTRY, ...args],
      { cwd: REPO_ROOT, env: childEnv(env), timeout: timeoutMs },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export interface GraphQLAnswer {
  status: number;
  data?: Record<string, any> | null; // eslint-disable-line @typescript-eslint/no-explicit-any
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

export async function graphqlAt(
  url: string,
  query: string,
  { key, variables }: { key?: string; variables?: Record<string, unknown> } = {},
): Promise<GraphQLAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(key ? { 'x-api-key': key } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as Omit<GraphQLAnswer, 'status'>) };
}

export async function waitForStatus(url: string, status: number, timeoutMs = 15_000): Promise<void> {
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

/** A key in the documented COFFER_ADMIN_API_KEY format, made here so a test does not trust the code under test. */
export function operatorChosenKey(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const lookup = Array.from({ length: 12 }, () => alphabet[randomInt(alphabet.length)]).join('');
  return `cof_${lookup}_${randomBytes(32).toString('base64url')}`;
}

export const rootKey = () => randomBytes(32).toString('base64');

/**
 * Replicas of one deployment on one database (the same root key, token secret and admin key), each
 * with a data directory of its own; returned once every one is ready, with their GraphQL URLs.
 */
export async function startReplicas(databaseUrl: string, adminKey: string, env: Record<string, string> = {}, count = 2) {
  const shared = {
    DATABASE_URL: databaseUrl,
    COFFER_ROOT_KEY: rootKey(),
    COFFER_TOKEN_SECRET: randomBytes(32).toString('hex'),
    COFFER_ADMIN_API_KEY: adminKey,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    ...env,
  };
  const replicas: CofferProcess[] = [];
  for (let i = 0; i < count; i++) replicas.push(startCoffer({ ...shared, DATA_DIR: await tempDir() }));
  const urls = await Promise.all(replicas.map((replica) => replica.ready(30_000)));
  return { replicas, urls };
}

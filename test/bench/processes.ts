/**
 * Child processes of the benchmark: Coffer (started the way `npm start` starts it), the small
 * reference servers, and what /proc says about them. Every child is killed when the harness exits,
 * however it exits; async clean-ups (scratch databases, temp dirs) run from `runCleanups`.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const live = new Set<ChildProcess>();
// 'exit' handlers must be synchronous: SIGKILL is the only thing left to do there.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Registers a child to be killed if the harness exits while it is still running. */
export function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

const cleanups: Array<() => Promise<void>> = [];
/**
 * Registers async clean-up work (run last-in first-out by `runCleanups`); returns a function that
 * runs it now instead. Either way it runs once, and every caller waits for that one run.
 */
export function atCleanup(work: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  const once = () => {
    if (!running) {
      cleanups.splice(cleanups.indexOf(once), 1);
      running = work();
    }
    return running;
  };
  cleanups.push(once);
  return once;
}

let cleaning: Promise<void> | null = null;
/** On error or interrupt: children get SIGTERM at once, then the registered work runs. */
export function runCleanups(): Promise<void> {
  cleaning ??= (async () => {
    for (const child of live) child.kill('SIGTERM');
    while (cleanups.length > 0) {
      await cleanups[cleanups.length - 1]!().catch((error: unknown) => process.stderr.write(`clean-up failed: ${String(error)}\n`));
    }
  })();
  return cleaning;
}

/**
 * How Coffer is started; the one place to change when it runs from a build. BENCH_COFFER_COMMAND
 * wins; otherwise package.json's "start" script is followed, but with `node` as the process we
 * measure: `tsx file` becomes `node --import tsx file` (the tsx CLI would put a wrapper process
 * between us and the server, and /proc figures would be the wrapper's).
 */
export function cofferCommand(): { command: string; args: string[]; shown: string } {
  const custom = process.env.BENCH_COFFER_COMMAND?.trim();
  if (custom) return { command: '/bin/sh', args: ['-c', `exec ${custom}`], shown: custom };
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const start = pkg.scripts?.start?.trim() ?? 'node dist/server.js';
  const [tool, ...rest] = start.split(/\s+/);
  if (tool === 'tsx') {
    return { command: process.execPath, args: ['--import', 'tsx', ...rest], shown: `node --import tsx ${rest.join(' ')}` };
  }
  if (tool === 'node') return { command: process.execPath, args: rest, shown: start };
  // Anything else: through a shell that exec's, so the pid is still the server's.
  return { command: '/bin/sh', args: ['-c', `exec ${start}`], shown: start };
}

export interface ServerProcess {
  name: string;
  pid: number;
  /** http://127.0.0.1:<port> */
  origin: string;
  graphql: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function tail(path: string, chars = 3000): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.slice(-chars).trim();
}

export interface CofferStart {
  server: ServerProcess;
  /** From spawn to the first 200 from /readyz. */
  readyMs: number;
}

/**
 * Spawns Coffer with exactly `env` (plus PATH and HOME: nothing leaks in from the caller's shell)
 * and waits for /readyz. Its stdout (one pino line per request at LOG_LEVEL=info) goes to
 * `stdoutPath`, /dev/null by default: written for real, never a pipe that could fill up.
 */
export async function startCoffer(env: Record<string, string>, output: { stdoutPath?: string; stderrPath: string }): Promise<CofferStart> {
  const { stdoutPath = '/dev/null', stderrPath } = output;
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    try {
      return await spawnCoffer({ ...env, HOST: '127.0.0.1', PORT: String(port) }, port, stdoutPath, stderrPath);
    } catch (error) {
      // Another process may take the free port between our probe and Coffer's listen.
      if (attempt < 3 && error instanceof Error && error.message.includes('EADDRINUSE')) continue;
      throw error;
    }
  }
}

async function spawnCoffer(env: Record<string, string>, port: number, stdoutPath: string, stderrPath: string): Promise<CofferStart> {
  const { command, args } = cofferCommand();
  const out = openSync(stdoutPath, 'a');
  const err = openSync(stderrPath, 'a');
  const base = { PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? '/tmp' };
  const startedAt = performance.now();
  const child = track(spawn(command, args, { cwd: ROOT, env: { ...base, ...env }, stdio: ['ignore', out, err] }));
  closeSync(out);
  closeSync(err);
  const origin = `http://127.0.0.1:${port}`;
  const stop = () => stopChild(child);
  const server: ServerProcess = { name: 'coffer', pid: child.pid!, origin, graphql: `${origin}/graphql`, child, stop };
  let exit: string | null = null;
  child.once('exit', (code, signal) => (exit = `exited (${signal ?? code})`));
  const deadline = startedAt + 180_000;
  while (performance.now() < deadline) {
    if (exit) throw new Error(`Coffer ${exit} before it was ready:\n${await tail(stderrPath)}`);
    const status = await fetch(`${origin}/readyz`, { signal: AbortSignal.timeout(5_000) }).then(
      async (response) => (await response.arrayBuffer(), response.status),
      () => 0,
    );
    if (status === 200) return { server, readyMs: performance.now() - startedAt };
    await sleep(10);
  }
  await server.stop();
  throw new Error(`Coffer was not ready within 180 s:\n${await tail(stderrPath)}`);
}

/**
 * One of the benchmark's own TypeScript servers (bare-server.ts, ceiling-server.ts) in a child
 * process; it reports its port over IPC and exits when the harness goes away.
 */
export async function startScript(name: string, script: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = track(
    fork(fileURLToPath(new URL(script, import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message: { port?: number; error?: string }) =>
      message.port ? resolve(message.port) : reject(new Error(`${name}: ${message.error ?? 'no port'}`)),
    );
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before listening`)));
  });
  const origin = `http://127.0.0.1:${port}`;
  return { name, pid: child.pid!, origin, graphql: `${origin}/graphql`, child, stop: () => stopChild(child) };
}

/** Kernel clock ticks per second, the unit of utime/stime in /proc/<pid>/stat. */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) the process has used so far, in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** Waits until every process uses under 5 % of a core over half a second; false after `timeoutMs`. */
export async function waitQuiet(pids: number[], timeoutMs = 60_000): Promise<boolean> {
  const windowMs = 500;
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const before = pids.map(cpuMs);
    await sleep(windowMs);
    if (pids.every((pid, i) => cpuMs(pid) - before[i]! < windowMs * 0.05)) return true;
  }
  return false;
}

/** VmRSS (resident now) and VmHWM (peak resident) of a process, in bytes. */
export function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

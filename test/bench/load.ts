/**
 * The harness's side of the load generator (load-process.ts): one long-lived child process,
 * driven over IPC, one run at a time. CPU counters are read between its warm-up and its measured
 * run, so warm-up work is never charged to the requests measured.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadCommand, LoadMessage, LoadRequest, LoadResult } from './load-process.js';
import { cpuMs, track } from './processes.js';

export type { LoadRequest, LoadResult };

export interface LoadRun extends Omit<LoadResult, 'p50' | 'p99' | 'firstP50' | 'firstMax'> {
  /** NaN when no request succeeded. */
  p50: number;
  p99: number;
  firstP50: number;
  firstMax: number;
  /** CPU time the server process used during the measured seconds. */
  serverCpuMs: number;
  /** The load generator's CPU use over the measured seconds, in % of one core (near 100: it may be the bottleneck). */
  loadCpuPercent: number;
}

export class LoadGenerator {
  private waiting: ((message: LoadMessage) => void) | null = null;
  /** Rejects when the child dies, so no wait on it can hang. */
  private readonly exited: Promise<never>;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: LoadMessage) => this.waiting?.(message));
    this.exited = new Promise<never>((_resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`load generator exited (${code})`)));
    });
    this.exited.catch(() => undefined);
  }

  static async start(): Promise<LoadGenerator> {
    const child = fork(fileURLToPath(new URL('./load-process.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const generator = new LoadGenerator(track(child));
    await generator.next('ready');
    return generator;
  }

  private next<T extends LoadMessage['type']>(type: T): Promise<Extract<LoadMessage, { type: T }>> {
    const message = new Promise<LoadMessage>((resolve) => (this.waiting = resolve)).then((received) => {
      this.waiting = null;
      if (received.type === 'error') throw new Error(`load generator: ${received.message}`);
      if (received.type !== type) throw new Error(`load generator sent ${received.type}, expected ${type}`);
      return received as Extract<LoadMessage, { type: T }>;
    });
    return Promise.race([message, this.exited]);
  }

  private send(command: LoadCommand) {
    this.child.send(command);
  }

  get pid(): number {
    return this.child.pid!;
  }

  async run(request: LoadRequest, serverPid: number): Promise<LoadRun> {
    const warm = this.next('warm');
    this.send({ type: 'run', request });
    await warm;
    const serverBefore = cpuMs(serverPid);
    const loadBefore = cpuMs(this.pid);
    const done = this.next('result');
    this.send({ type: 'go' });
    const { result } = await done;
    const serverCpuMs = cpuMs(serverPid) - serverBefore;
    const loadCpuPercent = ((cpuMs(this.pid) - loadBefore) / (result.seconds * 1000)) * 100;
    const measured = (value: number | null) => value ?? NaN;
    return {
      ...result,
      p50: measured(result.p50),
      p99: measured(result.p99),
      firstP50: measured(result.firstP50),
      firstMax: measured(result.firstMax),
      serverCpuMs,
      loadCpuPercent,
    };
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

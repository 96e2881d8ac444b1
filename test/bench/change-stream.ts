/**
 * The secret change-stream fan-out, run by `npm run bench` (filter: `npm run bench -- change-stream`):
 * 1,000 real SSE connections (from a worker thread) subscribed to one project's `secretChanges`;
 * secrets are written through the GraphQL API of the same in-process Coffer (a real transaction:
 * sequence, stored event, publish after commit), and each change is timed from the moment its
 * write was sent to its arrival at every subscriber.
 *
 * - latency: BENCH_FANOUT_EVENTS writes at BENCH_FANOUT_RATE per second, one at a time;
 * - throughput: BENCH_CHANGE_BURST writes sent back to back (BENCH_CHANGE_BURST_CONCURRENCY at a
 *   time), until every subscriber has every change.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { createApp, createHttpServer } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { ensureBootstrapAdmin } from '../../src/features/credentials/index.js';
import { createLogger } from '../../src/logger.js';
import { openServices } from '../../src/services.js';
import { createScratchDatabase } from '../support/database.js';
import type { SubscriberResults } from './sse-subscribers.js';

import { CHANGE_STREAM_ROW } from './rows.js';

export { CHANGE_STREAM_ROW };

const positiveInt = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
};
const SUBSCRIBERS = positiveInt('BENCH_SUBSCRIBERS', 1_000);
const EVENTS = positiveInt('BENCH_FANOUT_EVENTS', 20);
const RATE = positiveInt('BENCH_FANOUT_RATE', 1);
const BURST = positiveInt('BENCH_CHANGE_BURST', 100);
const BURST_CONCURRENCY = positiveInt('BENCH_CHANGE_BURST_CONCURRENCY', 10);

const fmt = (value: number, digits = 0) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const percentile = (sorted: Float64Array, p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => performance.timeOrigin + performance.now();

export interface ChangeStreamRow {
  name: string;
  figure: string;
  detail: string;
}

export const BENCH_DATABASE = process.env.BENCH_DATABASE_URL ? 'PostgreSQL (BENCH_DATABASE_URL)' : 'embedded PGlite';

async function startCoffer() {
  const dataDir = await mkdtemp(join(os.tmpdir(), 'coffer-bench-changes-'));
  const database = process.env.BENCH_DATABASE_URL
    ? await createScratchDatabase(process.env.BENCH_DATABASE_URL, 'coffer_bench')
    : { url: undefined, drop: async () => undefined };
  const config = loadConfig({
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ...(database.url ? { DATABASE_URL: database.url } : {}),
  });
  const logger = createLogger(config.logLevel, pino.destination({ dest: '/dev/null', sync: true }));
  const services = await openServices(config, logger);
  const bootstrap = await ensureBootstrapAdmin({ db: services.db, keys: services.auth.keys });
  if (bootstrap.kind !== 'created') throw new Error(`expected a fresh database, got ${bootstrap.kind}`);
  const yoga = createApp(services);
  const http = createHttpServer(yoga);
  await new Promise<void>((resolve, reject) => {
    http.server.once('error', reject);
    http.server.listen(0, '127.0.0.1', resolve);
  });
  const adminKey = bootstrap.apiKey;
  async function gql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const response = await yoga.fetch('http://coffer.bench/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', 'x-api-key': adminKey },
      body: JSON.stringify({ query, variables }),
    });
    const json = (await response.json()) as { data?: T; errors?: unknown[] };
    if (json.errors?.length || !json.data) throw new Error(`GraphQL errors: ${JSON.stringify(json.errors)}`);
    return json.data;
  }
  return {
    adminKey,
    port: (http.server.address() as AddressInfo).port,
    gql,
    async close() {
      await http.close();
      await yoga.dispose();
      await services.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function runChangeStreamBenchmark(log: (line: string) => void): Promise<ChangeStreamRow[]> {
  const coffer = await startCoffer();
  try {
    const projectId = (
      await coffer.gql<{ createProject: { id: string } }>('mutation { createProject(input: { name: "change-stream bench" }) { id } }', {})
    ).createProject.id;
    const sentAt = new Map<number, number>();
    const write = async (name: string) => {
      const started = now();
      const data = await coffer.gql<{ upsertSecret: { currentVersion: number } }>(
        'mutation($input: UpsertSecretInput!) { upsertSecret(input: $input) { currentVersion } }',
        { input: { name, value: `bench-${started}`, scope: { type: 'PROJECT', projectId } } },
      );
      return { started, version: data.upsertSecret.currentVersion };
    };
    // Sequences are per project and gapless: the n-th write of this project is sequence n.
    let sequence = 0;
    const timedWrite = async (name: string) => {
      const mine = ++sequence;
      sentAt.set(mine, now());
      await write(name);
    };

    log(`  ${CHANGE_STREAM_ROW}: opening ${fmt(SUBSCRIBERS)} SSE subscriptions to secretChanges...`);
    const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(new URL('./sse-subscribers.ts', import.meta.url).href)}); });`;
    const worker = new Worker(boot, {
      eval: true,
      workerData: { host: '127.0.0.1', port: coffer.port, apiKey: coffer.adminKey, projectId, count: SUBSCRIBERS, stream: 'secrets' },
    });
    const messages: Array<{ type: string }> = [];
    worker.on('message', (message: { type: string }) => messages.push(message));
    const failed = new Promise<never>((_, reject) => {
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`subscriber worker exited (${code})`)));
    });
    void failed.catch(() => undefined);
    const waitFor = async <T>(type: string, timeoutMs: number, whileWaiting?: () => Promise<void>): Promise<T> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find((message) => message.type === type);
        if (found) return found as T;
        if (Date.now() > deadline) throw new Error(`change-stream fan-out: no "${type}" within ${timeoutMs} ms`);
        await whileWaiting?.();
        await Promise.race([sleep(250), failed]);
      }
    };
    const connectStarted = performance.now();
    await waitFor('connected', 120_000);
    const connectMs = performance.now() - connectStarted;
    // Warm-up writes until every stream has seen one: then every subscription is attached.
    await waitFor('ready', 120_000, async () => {
      sequence += 1;
      await write('BENCH_WARM');
    });

    log(`    attached in ${fmt(connectMs / 1000, 1)} s; ${EVENTS} writes at ${RATE}/s, then a burst of ${BURST}...`);
    const latencyFirst = sequence + 1;
    const interval = 1000 / RATE;
    const firstAt = performance.now();
    for (let index = 0; index < EVENTS; index += 1) {
      const wait = firstAt + index * interval - performance.now();
      if (wait > 0) await sleep(wait);
      await timedWrite(`BENCH_LATENCY_${index}`);
    }
    await sleep(2_000);
    const burstFirst = sequence + 1;
    const burstStarted = now();
    let next = 0;
    await Promise.all(
      Array.from({ length: BURST_CONCURRENCY }, async () => {
        while (next < BURST) await timedWrite(`BENCH_BURST_${next++}`);
      }),
    );
    const burstWritten = now();
    const expected = SUBSCRIBERS * (EVENTS + BURST);
    // Deliveries still in flight finish well within this (the worker counts arrivals, not this wait).
    await sleep(3_000);
    worker.postMessage({ type: 'finish' });
    const results = await waitFor<SubscriberResults>('results', 60_000);
    await worker.terminate();

    const lastArrival = new Map<number, number>();
    const latencies: number[] = [];
    for (let index = 0; index < results.arrivals.length; index += 2) {
      const seq = results.arrivals[index]!;
      const at = results.arrivals[index + 1]!;
      lastArrival.set(seq, Math.max(lastArrival.get(seq) ?? 0, at));
      if (seq >= latencyFirst && seq < burstFirst) latencies.push(at - sentAt.get(seq)!);
    }
    const toAll = Float64Array.from(
      [...lastArrival].filter(([seq]) => seq >= latencyFirst && seq < burstFirst).map(([seq, at]) => at - sentAt.get(seq)!),
    ).sort();
    const each = Float64Array.from(latencies).sort();
    const burstEnd = Math.max(...[...lastArrival].filter(([seq]) => seq >= burstFirst).map(([, at]) => at));
    const burstSeconds = (burstEnd - burstStarted) / 1000;
    const delivered = results.perSubscriber.reduce((sum, count) => sum + count, 0);
    const complete = results.perSubscriber.filter((count) => count === EVENTS + BURST).length;
    if (delivered !== expected) process.exitCode = 1;
    return [
      {
        name: `${CHANGE_STREAM_ROW}: one write → all ${fmt(SUBSCRIBERS)} SSE subscribers (${EVENTS} writes at ${RATE}/s)`,
        figure: `p50 ${fmt(percentile(toAll, 50), 1)} ms, p95 ${fmt(percentile(toAll, 95), 1)} ms, max ${fmt(toAll.at(-1) ?? NaN, 1)} ms`,
        detail:
          `from sending the mutation to the last subscriber's arrival; per subscriber p50 ${fmt(percentile(each, 50), 1)} ms, ` +
          `p99 ${fmt(percentile(each, 99), 1)} ms; subscriptions opened (50 at a time) in ${fmt(connectMs / 1000, 1)} s`,
      },
      {
        name: `${CHANGE_STREAM_ROW}: throughput, ${BURST} writes (${BURST_CONCURRENCY} at a time) to ${fmt(SUBSCRIBERS)} subscribers`,
        figure: `${fmt(BURST / burstSeconds)} changes/s, ${fmt((BURST * SUBSCRIBERS) / burstSeconds)} deliveries/s`,
        detail:
          `writes took ${fmt((burstWritten - burstStarted) / 1000, 2)} s, last delivery after ${fmt(burstSeconds, 2)} s; ` +
          `${fmt(delivered)} of ${fmt(expected)} deliveries (${fmt(complete)} subscribers got every change)` +
          `${results.errors.length ? `; errors: ${results.errors.slice(0, 3).join('; ')}` : ''}`,
      },
    ];
  } finally {
    await coffer.close();
  }
}

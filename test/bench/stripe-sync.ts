/**
 * Stripe sync benchmarks, run by `npm run bench` (filter with `npm run bench -- sync`):
 *
 * - throughput: objects per second through the real worker (`runNow`: Stripe SDK, the mirror's
 *   upserts, checkpoints and progress events, one transaction per page) on a fresh embedded PGlite,
 *   from the fake Stripe with no added latency. The fake runs in a child process of its own; a
 *   fetch-only pass over the same pages (SDK + fake, no database) tells Coffer's own share.
 * - memory: the process's RSS and JS heap sampled every 25 ms while syncing 20,000 and then
 *   100,000 objects; a run holds one page at a time, so the peaks should not grow with the account.
 * - fan-out: 1,000 real SSE connections (from a worker thread) subscribed to `stripeSyncProgress`;
 *   progress events are published on the event bus and timed from publish to arrival.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { createApp, createHttpServer } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createStripeClient } from '../../src/features/stripe/client/stripe-client.js';
import { nextCursorOf, OBJECT_TYPES, SYNC_OBJECT_TYPES } from '../../src/features/stripe/mirror/object-types.js';
import { publishSyncEvents, type SyncProgressEvent } from '../../src/features/stripe/sync/progress.js';
import { ensureBootstrapAdmin } from '../../src/features/credentials/index.js';
import { createLogger } from '../../src/logger.js';
import { openServices } from '../../src/services.js';
import type { CollectionName } from '../support/fake-stripe.js';
import { createScratchDatabase } from '../support/database.js';
import type { FakeCommand } from './fake-stripe-process.js';
import type { SubscriberResults } from './sse-subscribers.js';

export interface SyncBenchRow {
  name: string;
  figure: string;
  detail: string;
}

const positiveInt = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
};
const THROUGHPUT_OBJECTS = positiveInt('BENCH_SYNC_OBJECTS', 20_000);
const LARGE_OBJECTS = positiveInt('BENCH_SYNC_LARGE_OBJECTS', 100_000);
/** Stripe answers a list page in roughly this time; with it, one stream of pages is latency-bound. */
const LATENCY_MS = positiveInt('BENCH_SYNC_LATENCY_MS', 100);
const LATENCY_OBJECTS = positiveInt('BENCH_SYNC_LATENCY_OBJECTS', 4_000);
const SUBSCRIBERS = positiveInt('BENCH_SUBSCRIBERS', 1_000);
const FANOUT_EVENTS = positiveInt('BENCH_FANOUT_EVENTS', 20);
/** Events per second. One a second leaves time to reach every subscriber before the next. */
const FANOUT_RATE = positiveInt('BENCH_FANOUT_RATE', 1);

/** A plausible account: mostly customers and their billing objects (shares of 20 parts). */
const MIX: Record<CollectionName, number> = {
  products: 1,
  prices: 2,
  customers: 8,
  subscriptions: 2,
  invoices: 3,
  payment_intents: 2,
  charges: 1.5,
  refunds: 0.5,
  checkout_sessions: 0,
  setup_intents: 0,
  payment_methods: 0,
  disputes: 0,
  credit_notes: 0,
  coupons: 0,
  promotion_codes: 0,
  tax_ids: 0,
  subscription_schedules: 0,
  balance_transactions: 0,
};

/** Every mirrored type holds objects: payment methods and tax ids make the sync walk the customers. */
const MIX_ALL_TYPES: Record<CollectionName, number> = {
  ...MIX,
  customers: 6,
  checkout_sessions: 0.5,
  setup_intents: 0.5,
  payment_methods: 1.5,
  disputes: 0.1,
  credit_notes: 0.3,
  coupons: 0.1,
  promotion_codes: 0.1,
  tax_ids: 0.3,
  subscription_schedules: 0.1,
  balance_transactions: 1,
};

const typesOf = (counts: Record<CollectionName, number>) => SYNC_OBJECT_TYPES.filter((type) => counts[type] > 0);

function mixOf(total: number, mix: Record<CollectionName, number> = MIX): Record<CollectionName, number> {
  const parts = Object.values(mix).reduce((sum, part) => sum + part, 0);
  const counts = Object.fromEntries(
    Object.entries(mix).map(([collection, part]) => [collection, Math.floor((total * part) / parts)]),
  ) as Record<CollectionName, number>;
  counts.customers += total - Object.values(counts).reduce((sum, count) => sum + count, 0);
  return counts;
}

const fmt = (value: number, digits = 0) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mib = (bytes: number) => `${fmt(bytes / 2 ** 20)} MiB`;

/** The fake Stripe in a child process (fake-stripe-process.ts), driven over IPC. */
async function startFakeStripeProcess() {
  const child: ChildProcess = fork(fileURLToPath(new URL('./fake-stripe-process.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let url: string | null = null;
  const started = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`fake Stripe process exited (${code})`)));
    child.on('message', (message: { id: number; result?: unknown; error?: string }) => {
      if (message.id === 0) {
        url = String(message.result);
        resolve();
        return;
      }
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message.result);
    });
  });
  await started;
  const call = <T>(command: FakeCommand) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ id, command });
    });
  return {
    url: url as unknown as string,
    async account(name: string, counts: Record<CollectionName, number>) {
      const accountId = await call<string>({ op: 'account', name });
      for (const [collection, count] of Object.entries(counts))
        await call({ op: 'seed', accountId, collection: collection as CollectionName, count });
      return { accountId, key: await call<string>({ op: 'key', accountId }) };
    },
    /** Requests served since the last call. */
    requests: () => call<number>({ op: 'requests' }),
    latency: (ms: number) => call<number>({ op: 'latency', ms }),
    async close() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
  };
}

type FakeProcess = Awaited<ReturnType<typeof startFakeStripeProcess>>;

/** With BENCH_DATABASE_URL, the sync rows run on a throw-away database of that PostgreSQL server. */
async function benchDatabase(): Promise<{ url: string | undefined; drop(): Promise<void> }> {
  const server = process.env.BENCH_DATABASE_URL;
  if (!server) return { url: undefined, drop: async () => undefined };
  return createScratchDatabase(server, 'coffer_bench');
}

export const BENCH_DATABASE = process.env.BENCH_DATABASE_URL ? 'PostgreSQL (BENCH_DATABASE_URL)' : 'embedded PGlite';

async function startSyncCoffer(fakeUrl: string) {
  const dataDir = await mkdtemp(join(os.tmpdir(), 'coffer-bench-sync-'));
  const database = await benchDatabase();
  const config = loadConfig({
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    STRIPE_API_BASE: fakeUrl,
    PUBLIC_URL: 'https://coffer.example.com',
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

  const createProject = async (name: string) =>
    (
      await gql<{ createProject: { id: string } }>('mutation($input: CreateProjectInput!) { createProject(input: $input) { id } }', {
        input: { name },
      })
    ).createProject.id;

  return {
    services,
    config,
    adminKey,
    port: (http.server.address() as AddressInfo).port,
    createProject,
    /** A project configured with `key` through the API; returns the first sync it queued (no worker polls here). */
    /** With `objects`, the queued first sync is canceled and one of those types only is queued instead. */
    async configuredProject(name: string, key: string, objects?: string[]) {
      const projectId = await createProject(name);
      const data = await gql<{ configureStripe: { results: Array<{ syncRunId: string | null }> } }>(
        'mutation($projectId: ID!, $input: StripeCredentialsInput!) { configureStripe(projectId: $projectId, input: $input) { results { syncRunId } } }',
        { projectId, input: { testSecretKey: key } },
      );
      const firstRunId = data.configureStripe.results[0]?.syncRunId;
      if (!firstRunId) throw new Error('configureStripe queued no sync');
      if (!objects) return { projectId, runId: firstRunId };
      await gql('mutation($runId: ID!) { cancelStripeSync(runId: $runId) { status } }', { runId: firstRunId });
      const started = await gql<{ startStripeSync: { id: string } }>(
        'mutation($projectId: ID!, $objects: [StripeSyncObject!]) { startStripeSync(projectId: $projectId, environment: TEST, objects: $objects) { id } }',
        { projectId, objects: objects.map((type) => type.toUpperCase()) },
      );
      return { projectId, runId: started.startStripeSync.id };
    },
    async close() {
      await http.close();
      await yoga.dispose();
      await services.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

type SyncCoffer = Awaited<ReturnType<typeof startSyncCoffer>>;

/** A full collection: `global.gc` without starting node with --expose-gc. */
function gcFunction(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** Peak RSS / heap / external memory sampled every `everyMs` until stopped. */
function sampleMemory(everyMs = 25) {
  const peak = { rss: 0, heapUsed: 0, external: 0 };
  let samples = 0;
  const take = () => {
    const usage = process.memoryUsage();
    peak.rss = Math.max(peak.rss, usage.rss);
    peak.heapUsed = Math.max(peak.heapUsed, usage.heapUsed);
    peak.external = Math.max(peak.external, usage.external);
    samples += 1;
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { ...peak, samples };
    },
  };
}

interface SyncMeasurement {
  objects: number;
  pages: number;
  ms: number;
  requests: number;
  peak: { rss: number; heapUsed: number; external: number; samples: number };
  before: { rss: number; heapUsed: number };
  heapAfterGc: { before: number; after: number };
}

/** Seeds an account, configures a project with it, and executes its first sync here with `runNow`. */
async function measureSync(
  coffer: SyncCoffer,
  fake: FakeProcess,
  total: number,
  gc: () => void,
  mix: Record<CollectionName, number> = MIX,
): Promise<SyncMeasurement & { key: string; counts: Record<CollectionName, number>; verification: VerificationShare }> {
  const counts = mixOf(total, mix);
  const { key } = await fake.account(`Bench ${total}`, counts);
  // The types that hold objects only, unless every type does: the rows before the mirror grew to 18 types compare with it.
  const types = typesOf(counts);
  const { projectId, runId } = await coffer.configuredProject(
    `sync bench ${total} ${randomBytes(3).toString('hex')}`,
    key,
    types.length < SYNC_OBJECT_TYPES.length ? types : undefined,
  );
  await fake.requests();
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const before = process.memoryUsage();
  const sampler = sampleMemory();
  const started = performance.now();
  const outcome = await coffer.services.syncWorker.runNow(runId);
  const ms = performance.now() - started;
  const peak = sampler.stop();
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  const requests = await fake.requests();

  const { prisma } = coffer.services.db;
  const run = await prisma.stripeSyncRun.findUniqueOrThrow({ where: { id: runId }, include: { objectTypes: true } });
  if (outcome?.kind !== 'finished' || run.status !== 'SUCCEEDED')
    throw new Error(`sync of ${total} objects ended ${run.status}: ${run.error}`);
  const objects = run.objectTypes.reduce((sum, state) => sum + state.objects, 0);
  const pages = run.objectTypes.reduce((sum, state) => sum + state.pages, 0);
  let stored = 0;
  for (const type of SYNC_OBJECT_TYPES) {
    const [row] = await prisma.$queryRawUnsafe<Array<{ n: bigint }>>(
      `SELECT count(*) AS n FROM ${OBJECT_TYPES[type].table} WHERE project_id = $1::uuid`,
      projectId,
    );
    stored += Number(row?.n ?? 0);
  }
  if (objects !== total || stored !== total)
    throw new Error(`expected ${total} objects, the run counted ${objects} and the mirror holds ${stored}`);
  return {
    objects,
    pages,
    ms,
    requests,
    peak,
    before: { rss: before.rss, heapUsed: before.heapUsed },
    heapAfterGc: { before: heapBefore, after: heapAfter },
    key,
    counts,
    verification: await verificationShare(prisma, runId),
  };
}

interface VerificationShare {
  /** Lane time (summed over object types) from each type's start to its listing's end, and from there to its completion. */
  listingMs: number;
  verifyingMs: number;
}

/** How a run's lane time splits between listing and verifying, from the times of its stored progress events. */
async function verificationShare(prisma: SyncCoffer['services']['db']['prisma'], runId: string): Promise<VerificationShare> {
  const events = await prisma.stripeSyncEvent.findMany({
    where: { runId, kind: { in: ['OBJECT_STARTED', 'VERIFICATION_STARTED', 'OBJECT_COMPLETED'] } },
    select: { kind: true, objectType: true, at: true },
  });
  const byType = new Map<string, Record<string, number>>();
  for (const event of events) {
    const times = byType.get(event.objectType ?? '') ?? {};
    times[event.kind] = event.at.getTime();
    byType.set(event.objectType ?? '', times);
  }
  let listingMs = 0;
  let verifyingMs = 0;
  for (const times of byType.values()) {
    const { OBJECT_STARTED: started, VERIFICATION_STARTED: listed, OBJECT_COMPLETED: completed } = times;
    if (started === undefined || listed === undefined || completed === undefined) continue;
    listingMs += listed - started;
    verifyingMs += completed - listed;
  }
  return { listingMs, verifyingMs };
}

/** The same pages through the SDK and the fake only: what a sync costs without Coffer. */
async function fetchOnly(coffer: SyncCoffer, key: string, counts: Record<CollectionName, number>) {
  const stripe = createStripeClient(key, coffer.config, { maxNetworkRetries: 0, timeoutMs: 60_000 });
  const { pageSize } = coffer.config.stripeSync;
  let objects = 0;
  let pages = 0;
  const fetched: unknown[][] = [];
  const started = performance.now();
  for (const type of typesOf(counts)) {
    let cursor: string | undefined;
    for (;;) {
      const page = await OBJECT_TYPES[type].list(stripe, { limit: pageSize, ...(cursor ? { starting_after: cursor } : {}) });
      pages += 1;
      objects += page.data.length;
      fetched.push(page.data);
      cursor = nextCursorOf(page) ?? undefined;
      if (!cursor) break;
    }
  }
  const ms = performance.now() - started;
  const expected = Object.values(counts).reduce((sum, count) => sum + count, 0);
  if (objects !== expected) throw new Error(`fetch-only pass read ${objects} objects, expected ${expected}`);
  // Objects/s depends on how large the objects are: the JSON they make, measured after the clock stopped.
  const bytes = fetched.reduce((sum, data) => sum + Buffer.byteLength(JSON.stringify(data)), 0);
  return { objects, pages, ms, bytes };
}

const percentile = (sorted: Float64Array, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** 1,000 SSE subscribers on a project; events published on the bus; publish-to-arrival latency. */
async function measureFanOut(coffer: SyncCoffer, log: (line: string) => void) {
  const projectId = await coffer.createProject('fan-out bench');
  // A worker does not inherit tsx's loader: it registers it, then loads the TypeScript module.
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(new URL('./sse-subscribers.ts', import.meta.url).href)}); });`;
  const worker = new Worker(boot, {
    eval: true,
    workerData: { host: '127.0.0.1', port: coffer.port, apiKey: coffer.adminKey, projectId, count: SUBSCRIBERS },
  });
  const messages: Array<{ type: string }> = [];
  let wake: (() => void) | null = null;
  worker.on('message', (message: { type: string }) => {
    messages.push(message);
    wake?.();
  });
  const failed = new Promise<never>((_, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`subscriber worker exited (${code})`)));
  });
  void failed.catch(() => undefined);
  const waitFor = async <T extends { type: string }>(type: string, timeoutMs: number, whileWaiting?: () => void): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = messages.find((message) => message.type === type);
      if (found) return found as T;
      if (Date.now() > deadline) throw new Error(`fan-out: no "${type}" from the subscribers within ${timeoutMs} ms`);
      whileWaiting?.();
      await Promise.race([new Promise<void>((resolve) => (wake = resolve)), sleep(200), failed]);
    }
  };

  const runId = '00000000-0000-4000-8000-00000000beef';
  let sequence = 0;
  const now = () => performance.timeOrigin + performance.now();
  const publish = (phase: 'warm' | 'measure') => {
    sequence += 1;
    const event: SyncProgressEvent = {
      runId,
      projectId,
      environment: 'TEST',
      sequence,
      kind: 'PAGE',
      runStatus: 'RUNNING',
      objectType: 'customers',
      objectStatus: 'RUNNING',
      pages: sequence,
      objects: sequence * 100,
      runObjects: sequence * 100,
      total: null,
      retries: 0,
      summary: null,
      at: new Date(),
      message: `bench:${phase}:${now()}`,
    };
    publishSyncEvents(coffer.services.events, [event]);
  };

  const connectStarted = performance.now();
  await waitFor('connected', 120_000);
  const connectMs = performance.now() - connectStarted;
  // Until every stream has seen one event: then every subscription is attached.
  let lastWarm = 0;
  await waitFor('ready', 60_000, () => {
    if (performance.now() - lastWarm >= 250) {
      lastWarm = performance.now();
      publish('warm');
    }
  });
  log(
    `    ${fmt(SUBSCRIBERS)} subscribers attached (connected in ${fmt(connectMs / 1000, 1)} s); publishing ${FANOUT_EVENTS} events at ${FANOUT_RATE}/s...`,
  );

  const interval = 1000 / FANOUT_RATE;
  const firstAt = performance.now();
  for (let index = 0; index < FANOUT_EVENTS; index += 1) {
    const due = firstAt + index * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    publish('measure');
  }
  // Deliveries still in flight finish well within this.
  await sleep(3000);
  worker.postMessage({ type: 'finish' });
  const results = await waitFor<SubscriberResults>('results', 30_000);
  await worker.terminate();

  const sorted = Float64Array.from(results.latencies).sort();
  const expected = SUBSCRIBERS * FANOUT_EVENTS;
  const complete = results.perSubscriber.filter((received) => received === FANOUT_EVENTS).length;
  const lastArrivals = Float64Array.from(results.perEventLast).sort();
  return {
    allReachedP50: percentile(lastArrivals, 50),
    delivered: sorted.length,
    expected,
    complete,
    errors: results.errors,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
    connectMs,
  };
}

export const SYNC_SECTIONS = ['Stripe sync throughput', 'Stripe sync memory', 'Stripe sync progress fan-out'] as const;

/** Runs the selected sections; returns rows for the report. */
export async function runStripeSyncBenchmarks(selected: (name: string) => boolean, log: (line: string) => void): Promise<SyncBenchRow[]> {
  const [throughputName, memoryName, fanOutName] = SYNC_SECTIONS;
  const wantThroughput = selected(throughputName);
  const wantMemory = selected(memoryName);
  const wantFanOut = selected(fanOutName);
  if (!wantThroughput && !wantMemory && !wantFanOut) return [];

  const rows: SyncBenchRow[] = [];
  const fake = await startFakeStripeProcess();
  const coffer = await startSyncCoffer(fake.url);
  const gc = gcFunction();
  try {
    let small: Awaited<ReturnType<typeof measureSync>> | null = null;
    if (wantThroughput || wantMemory) {
      log(`  ${throughputName}: syncing ${fmt(THROUGHPUT_OBJECTS)} objects...`);
      small = await measureSync(coffer, fake, THROUGHPUT_OBJECTS, gc);
    }
    if (wantThroughput && small) {
      log(`  ${throughputName}: syncing ${fmt(THROUGHPUT_OBJECTS)} objects of all ${SYNC_OBJECT_TYPES.length} types...`);
      const allTypes = await measureSync(coffer, fake, THROUGHPUT_OBJECTS, gc, MIX_ALL_TYPES);
      const customers = allTypes.counts.customers;
      const fetched = await fetchOnly(coffer, small.key, small.counts);
      const cofferMs = Math.max(0, small.ms - fetched.ms);
      rows.push(
        {
          name: `${throughputName}, ${fmt(small.objects)} objects (8 types, ${fmt(small.pages)} pages of ${coffer.config.stripeSync.pageSize}), end to end`,
          figure: `${fmt(small.objects / (small.ms / 1000))} objects/s`,
          detail:
            `${fmt(small.ms / 1000, 1)} s; ${fmt(small.ms / small.pages, 1)} ms per page (fetch + write + checkpoint + event); ` +
            `${fmt(fetched.bytes / small.objects)} bytes of JSON per object, ${fmt(fetched.bytes / 2 ** 20 / (small.ms / 1000), 1)} MiB/s`,
        },
        {
          name: `${throughputName}, ${fmt(allTypes.objects)} objects of all ${SYNC_OBJECT_TYPES.length} types (${fmt(allTypes.pages)} pages), end to end`,
          figure: `${fmt(allTypes.objects / (allTypes.ms / 1000))} objects/s`,
          detail:
            `${fmt(allTypes.ms / 1000, 1)} s; ${fmt(allTypes.requests)} Stripe requests, of which one per customer (${fmt(customers)}) ` +
            'for its payment methods: Stripe lists them per customer only',
        },
        ...[
          { label: '8 types', measured: small },
          { label: `all ${SYNC_OBJECT_TYPES.length} types`, measured: allTypes },
        ].map(({ label, measured }) => {
          const { listingMs, verifyingMs } = measured.verification;
          return {
            name: `${throughputName}: verification, ${label} (${fmt(measured.objects)} objects)`,
            figure: `${fmt((verifyingMs * 10_000) / measured.objects)} ms of lane time per 10,000 objects`,
            detail: `${fmt((100 * verifyingMs) / (listingMs + verifyingMs), 0)}% of the lane time (listing ${fmt(listingMs / 1000, 1)} s, verifying ${fmt(verifyingMs / 1000, 1)} s, summed over object types run side by side)`,
          };
        }),
        {
          name: `${throughputName}: fetch only (SDK + fake, no database), same pages`,
          figure: `${fmt(fetched.objects / (fetched.ms / 1000))} objects/s`,
          detail: `${fmt(fetched.ms / 1000, 1)} s; ${fmt(fetched.ms / fetched.pages, 1)} ms per page`,
        },
        {
          name: `${throughputName}: Coffer's own share (end to end minus fetch only)`,
          figure: `${fmt(small.objects / (cofferMs / 1000))} objects/s`,
          detail: `${fmt(cofferMs / small.pages, 1)} ms per page of ${coffer.config.stripeSync.pageSize} (${fmt((cofferMs * 1000) / small.objects, 0)} µs per object)`,
        },
      );
    }
    if (wantThroughput) {
      const defaultLanes = coffer.config.stripeSync.parallelObjects;
      await fake.latency(LATENCY_MS);
      try {
        for (const lanes of [1, defaultLanes]) {
          coffer.config.stripeSync.parallelObjects = lanes;
          log(`  ${throughputName}: ${fmt(LATENCY_OBJECTS)} objects with ${LATENCY_MS} ms per Stripe request, ${lanes} lane(s)...`);
          const slow = await measureSync(coffer, fake, LATENCY_OBJECTS, gc);
          rows.push({
            name: `${throughputName} with ${LATENCY_MS} ms added to every Stripe request, ${fmt(slow.objects)} objects, ${lanes} object type${lanes === 1 ? '' : 's'} at a time`,
            figure: `${fmt(slow.objects / (slow.ms / 1000))} objects/s`,
            detail: `${fmt(slow.ms / 1000, 1)} s for ${fmt(slow.pages)} pages; STRIPE_SYNC_PARALLEL_OBJECTS=${lanes}${lanes === defaultLanes ? ' (the default)' : ''}`,
          });
        }
        log(`  ${throughputName}: ${fmt(LATENCY_OBJECTS)} objects of all types with ${LATENCY_MS} ms per Stripe request...`);
        const slow = await measureSync(coffer, fake, LATENCY_OBJECTS, gc, MIX_ALL_TYPES);
        rows.push({
          name: `${throughputName} with ${LATENCY_MS} ms added to every Stripe request, ${fmt(slow.objects)} objects of all ${SYNC_OBJECT_TYPES.length} types, ${defaultLanes} at a time`,
          figure: `${fmt(slow.objects / (slow.ms / 1000))} objects/s`,
          detail: `${fmt(slow.ms / 1000, 1)} s; ${fmt(slow.requests)} Stripe requests for ${fmt(slow.counts.customers)} customers' payment methods and the rest`,
        });
      } finally {
        coffer.config.stripeSync.parallelObjects = defaultLanes;
        await fake.latency(0);
      }
    }
    if (wantMemory && small) {
      log(`  ${memoryName}: syncing ${fmt(LARGE_OBJECTS)} objects...`);
      const large = await measureSync(coffer, fake, LARGE_OBJECTS, gc);
      for (const run of [small, large]) {
        rows.push({
          name: `${memoryName}, ${fmt(run.objects)} objects (${fmt(run.pages)} pages)`,
          figure: `peak heap ${mib(run.peak.heapUsed)}, peak RSS ${mib(run.peak.rss)}`,
          detail:
            `heap after GC ${mib(run.heapAfterGc.before)} → ${mib(run.heapAfterGc.after)}; RSS at start ${mib(run.before.rss)}; ` +
            `peak external ${mib(run.peak.external)}; ${fmt(run.objects / (run.ms / 1000))} objects/s; ${run.peak.samples} samples`,
        });
      }
    }
    if (wantFanOut) {
      log(`  ${fanOutName}: opening ${fmt(SUBSCRIBERS)} SSE subscriptions...`);
      const fan = await measureFanOut(coffer, log);
      rows.push({
        name: `${fanOutName}: ${fmt(SUBSCRIBERS)} SSE subscribers, ${FANOUT_EVENTS} events at ${FANOUT_RATE}/s`,
        figure: `p50 ${fmt(fan.p50, 1)} ms, p95 ${fmt(fan.p95, 1)} ms, p99 ${fmt(fan.p99, 1)} ms, max ${fmt(fan.max, 1)} ms`,
        detail:
          `${fmt(fan.delivered)} of ${fmt(fan.expected)} deliveries (${fmt(fan.complete)} subscribers got every event); ` +
          `an event reaches the last subscriber after ${fmt(fan.allReachedP50, 0)} ms (median over events), i.e. about ${fmt((SUBSCRIBERS * 1000) / fan.allReachedP50)} deliveries/s on one thread; ` +
          `${fmt(SUBSCRIBERS)} subscriptions opened (50 at a time) in ${fmt(fan.connectMs / 1000, 1)} s` +
          `${fan.errors.length ? `; errors: ${fan.errors.slice(0, 3).join('; ')}` : ''}`,
      });
      if (fan.delivered !== fan.expected) process.exitCode = 1;
    }
  } finally {
    await coffer.close();
    await fake.close();
  }
  return rows;
}

export function syncTable(rows: SyncBenchRow[]): string {
  return [
    '| Measurement | Figure | Detail |',
    '|---|---:|---|',
    ...rows.map((row) => `| ${row.name} | ${row.figure} | ${row.detail} |`),
  ].join('\n');
}

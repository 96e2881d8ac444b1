import { SERVER_ENTRY, TEST_REDIS_KEY_PREFIX } from '../support/processes.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openDatabase } from '../../src/db/database.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { OBJECT_TYPES } from '../../src/features/stripe/mirror/object-types.js';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe.js';
import { createScratchDatabase } from '../support/database.js';
import { subscribeSse } from '../support/sse.js';

/**
 * Stripe syncs across real server processes (`src/server.ts`, as `npm start` runs it) that share
 * a database and, for the replica suite, Redis: progress reaches subscribers on every replica,
 * and a run whose process dies is finished by another one once its lease has expired.
 * The fake Stripe runs in this process; the children reach it through STRIPE_API_BASE.
 */

const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
const TEST_REDIS_URL = process.env.TEST_REDIS_URL;
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** A cold start (tsx, PGlite) takes seconds, more on a busy runner. */
const START_TIMEOUT_MS = 60_000;
const PAGE_SIZE = 25;

/** Everything src/config.ts reads: a child gets exactly what a test gives it, nothing inherited. */
const CONFIG_VARIABLES = [
  'PORT',
  'HOST',
  'DATA_DIR',
  'DATABASE_URL',
  'DATABASE_POOL_SIZE',
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
  'REDIS_KEY_PREFIX',
  'STRIPE_API_BASE',
  'LOG_LEVEL',
  'COFFER_MASTER_KEYS',
  'COFFER_MASTER_KEYS_FILE',
  'SECRET_VERSIONS_KEPT',
  'SECRET_SWEEP_INTERVAL_SECONDS',
  'STRIPE_SYNC_PAGE_SIZE',
  'STRIPE_SYNC_MAX_RETRIES',
  'STRIPE_SYNC_RETRY_BASE_MS',
  'STRIPE_SYNC_RETRY_MAX_MS',
  'STRIPE_SYNC_LEASE_SECONDS',
  'STRIPE_SYNC_POLL_SECONDS',
  'STRIPE_SYNC_CONCURRENCY',
  'MAX_REQUEST_BODY_BYTES',
  'NODE_OPTIONS',
];

type LogLine = Record<string, unknown> & { msg?: string };

interface CofferProcess {
  name: string;
  child: ChildProcess;
  url: string;
  logs(): LogLine[];
  exited: Promise<void>;
}

const running = new Set<CofferProcess>();
const tempDirs: string[] = [];

afterAll(async () => {
  for (const proc of running) proc.child.kill('SIGKILL');
  await Promise.all([...running].map((proc) => proc.exited));
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-sync-e2e-'));
  tempDirs.push(dir);
  return dir;
}

/** A key in the documented COFFER_ADMIN_API_KEY format. */
function adminApiKey(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const lookup = Array.from({ length: 12 }, () => alphabet[randomInt(alphabet.length)]).join('');
  return `cof_${lookup}_${randomBytes(32).toString('base64url')}`;
}

/** Settings every replica of a deployment shares: the same admin key, token secret and master key. */
function deploymentEnv(fake: FakeStripe): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    COFFER_ADMIN_API_KEY: adminApiKey(),
    COFFER_TOKEN_SECRET: randomBytes(32).toString('hex'),
    COFFER_ROOT_KEY: randomBytes(32).toString('base64'),
    PUBLIC_URL: 'https://coffer.example.com',
    STRIPE_API_BASE: fake.url,
    STRIPE_SYNC_PAGE_SIZE: String(PAGE_SIZE),
    STRIPE_SYNC_RETRY_BASE_MS: '5',
    STRIPE_SYNC_RETRY_MAX_MS: '40',
    STRIPE_SYNC_POLL_SECONDS: '0.2',
    STRIPE_SYNC_LEASE_SECONDS: '2',
  };
}

/** `node --import tsx src/server.ts` (no wrapper: SIGKILL hits Coffer itself); resolves once it listens. */
async function startCoffer(name: string, env: Record<string, string>): Promise<CofferProcess> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const variable of CONFIG_VARIABLES) delete childEnv[variable];
  Object.assign(childEnv, env);
  const child = spawn(process.execPath, [SERVER_ENTRY], {
    cwd: REPO_ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let exitedWith: string | null = null;
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
  const proc = { name, child, url: '', logs } as CofferProcess;
  proc.exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedWith = JSON.stringify({ code, signal });
      running.delete(proc);
      notify();
      resolve();
    });
  });
  running.add(proc);
  proc.url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const line = logs().find((log) => log.msg === 'Coffer is listening');
      if (line) return done(() => resolve(line.url as string));
      if (exitedWith)
        return done(() =>
          reject(new Error(`${name} exited (${exitedWith}) before listening\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`)),
        );
    };
    const timer = setTimeout(
      () =>
        done(() =>
          reject(new Error(`${name} not listening within ${START_TIMEOUT_MS} ms\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`)),
        ),
      START_TIMEOUT_MS,
    );
    const done = (settle: () => void) => {
      clearTimeout(timer);
      listeners.delete(check);
      settle();
    };
    listeners.add(check);
    check();
  });
  return proc;
}

type GraphQLResponse = { data?: Record<string, any> | null; errors?: Array<{ message: string; extensions?: { code?: string } }> }; // eslint-disable-line @typescript-eslint/no-explicit-any

async function graphql(proc: CofferProcess, key: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(proc.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', 'x-api-key': key },
    body: JSON.stringify({ query, variables }),
  });
  const json = (await response.json()) as GraphQLResponse;
  expect(json.errors, `${proc.name}: ${query.slice(0, 80)}`).toBeUndefined();
  return json.data!;
}

const EVENT_FIELDS = `
  runId projectId environment sequence kind runStatus objectType objectStatus pages objects runObjects total retries message at
  summary { status objects pages durationMs objectTypes { objectType status pages objects retries error } }`;
const PROGRESS = `subscription Progress($projectId: ID!, $environment: StripeEnvironment!) {
  stripeSyncProgress(projectId: $projectId, environment: $environment) { ${EVENT_FIELDS} }
}`;
/** Paged: the query cost limit allows about 50 events with this selection per request. */
const RUN = `query Run($id: ID!, $after: Int!) {
  stripeSyncRun(id: $id) { id status attempts error summary { status objects pages } events(afterSequence: $after, first: 40) { ${EVENT_FIELDS} } }
}`;
const CUSTOMER_IDS = `query Customers($projectId: ID!, $after: String) {
  stripeCustomers(projectId: $projectId, environment: TEST, first: 100, after: $after) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } }
}`;

type ProgressEvent = {
  runId: string;
  sequence: number;
  kind: string;
  objectType: string | null;
  objects: number;
  at: string;
  summary: { status: string; objects: number } | null;
  [field: string]: unknown;
};
type SyncRun = {
  id: string;
  status: string;
  attempts: number;
  error: string | null;
  summary: { status: string; objects: number; pages: number } | null;
  events: ProgressEvent[];
};

/** A run with every stored event, read page by page. */
async function readRun(proc: CofferProcess, key: string, id: string): Promise<SyncRun> {
  const events: ProgressEvent[] = [];
  for (;;) {
    const { stripeSyncRun: run } = (await graphql(proc, key, RUN, { id, after: events.at(-1)?.sequence ?? 0 })) as {
      stripeSyncRun: SyncRun;
    };
    events.push(...run.events);
    if (run.events.length === 0) return { ...run, events };
  }
}

async function waitForRun(
  proc: CofferProcess,
  key: string,
  id: string,
  until: (run: SyncRun) => boolean = (run) => ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(run.status),
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await readRun(proc, key, id);
    if (until(run)) return run;
    if (Date.now() > deadline) throw new Error(`sync run ${id} still ${run.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** An owner (created by the admin) with an API key of their own. */
async function createOwner(proc: CofferProcess, adminKey: string) {
  const { createUser } = await graphql(proc, adminKey, 'mutation($email: String!) { createUser(input: { email: $email }) { id } }', {
    email: `owner-${randomBytes(4).toString('hex')}@example.com`,
  });
  const { createApiKey } = await graphql(
    proc,
    adminKey,
    'mutation($userId: ID!) { createApiKey(input: { name: "e2e", userId: $userId }) { key } }',
    { userId: createUser.id },
  );
  return createApiKey.key as string;
}

/**
 * A project configured with a key of a fresh fake account. Configuring queues the first sync
 * (of the still empty account); once it is over the account is seeded and no run is active.
 */
async function idleProject(fake: FakeStripe, proc: CofferProcess, ownerKey: string, customers: number) {
  const account = fake.addAccount({ name: `Replicas ${randomBytes(3).toString('hex')}` });
  const key = fake.addKey(account.id);
  const { createProject } = await graphql(proc, ownerKey, 'mutation($name: String!) { createProject(input: { name: $name }) { id } }', {
    name: `replicas ${account.id}`,
  });
  const projectId = createProject.id as string;
  const { configureStripe } = await graphql(
    proc,
    ownerKey,
    'mutation($projectId: ID!, $key: String!) { configureStripe(projectId: $projectId, input: { testSecretKey: $key }) { results { syncRunId webhook { ok error } } } }',
    { projectId, key },
  );
  expect(configureStripe.results[0].webhook).toMatchObject({ ok: true, error: null });
  const first = await waitForRun(proc, ownerKey, configureStripe.results[0].syncRunId);
  expect(first.status).toBe('SUCCEEDED');
  const seeded = fake.seed(account.id, 'test', 'customers', customers);
  const fakeIds = Array.from({ length: seeded.count }, (_, index) => seeded.idAt(index)).sort();
  return { projectId, accountId: account.id, fakeIds };
}

async function startSync(proc: CofferProcess, ownerKey: string, projectId: string) {
  const { startStripeSync } = await graphql(
    proc,
    ownerKey,
    'mutation($projectId: ID!) { startStripeSync(projectId: $projectId, environment: TEST, objects: [CUSTOMERS]) { id status } }',
    { projectId },
  );
  return startStripeSync.id as string;
}

/** Sorted ids of the customers Coffer stored for a project, through the mirror query. */
async function storedCustomerIds(proc: CofferProcess, ownerKey: string, projectId: string) {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const { stripeCustomers } = await graphql(proc, ownerKey, CUSTOMER_IDS, { projectId, after });
    ids.push(...stripeCustomers.edges.map((edge: { node: { id: string } }) => edge.node.id));
    if (!stripeCustomers.pageInfo.hasNextPage) break;
    after = stripeCustomers.pageInfo.endCursor;
  }
  return ids.sort();
}

interface Subscription {
  events: ProgressEvent[];
  errors: unknown[];
  waitForFinish(runId: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function collector() {
  const events: ProgressEvent[] = [];
  const errors: unknown[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  const notify = () => waiters.forEach((check) => check());
  return {
    events,
    errors,
    push(message: { data?: { stripeSyncProgress: ProgressEvent } | null; errors?: unknown[] }) {
      if (message.errors) errors.push(...message.errors);
      if (message.data?.stripeSyncProgress) events.push(message.data.stripeSyncProgress);
      notify();
    },
    end() {
      ended = true;
      notify();
    },
    waitForFinish(runId: string, timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (events.some((event) => event.runId === runId && event.kind === 'RUN_FINISHED')) finish(resolve);
          else if (ended)
            finish(() => reject(new Error(`subscription ended before RUN_FINISHED: ${JSON.stringify({ errors, events }).slice(-2000)}`)));
        };
        const timer = setTimeout(
          () =>
            finish(() =>
              reject(
                new Error(`no RUN_FINISHED within ${timeoutMs} ms: ${JSON.stringify(events.map((event) => [event.sequence, event.kind]))}`),
              ),
            ),
          timeoutMs,
        );
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
  };
}

async function overSse(proc: CofferProcess, key: string, variables: Record<string, unknown>): Promise<Subscription> {
  const sink = collector();
  const stream = await subscribeSse<{ stripeSyncProgress: ProgressEvent }>(proc.url, { query: PROGRESS, variables, credential: key });
  expect(stream.headers.get('content-type')).toContain('text/event-stream');
  const pump = (async () => {
    for await (const message of stream) sink.push(message);
  })().finally(() => sink.end());
  return {
    ...sink,
    async close() {
      await stream.close();
      await pump;
    },
  };
}

async function subscribeWs(proc: CofferProcess, key: string, variables: Record<string, unknown>): Promise<Subscription> {
  const sink = collector();
  const client = createClient({
    url: proc.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { 'x-api-key': key },
    retryAttempts: 0,
    lazy: false,
  });
  const unsubscribe = client.subscribe(
    { query: PROGRESS, variables },
    {
      next: (value) => sink.push(value as Parameters<typeof sink.push>[0]),
      error: (error) => {
        sink.push({ errors: [Array.isArray(error) ? error : String((error as Error)?.message ?? error)] });
        sink.end();
      },
      complete: () => sink.end(),
    },
  );
  return {
    ...sink,
    async close() {
      unsubscribe();
      await client.dispose();
    },
  };
}

/** Lets the subscriptions attach (their listeners register after the response started, SUBSCRIBE to Redis after that). */
const settle = (ms = 300) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every event exactly once, in order: the sequences are 1..N. */
function expectComplete(events: ProgressEvent[], runId: string) {
  expect(events.every((event) => event.runId === runId)).toBe(true);
  expect(events.map((event) => event.sequence)).toEqual(events.map((_, index) => index + 1));
  expect(events[0]?.kind).toBe('RUN_QUEUED');
  expect(events.at(-1)).toMatchObject({ kind: 'RUN_FINISHED', runStatus: 'SUCCEEDED', summary: { status: 'SUCCEEDED' } });
}

/** Page after page, 25 more each time: no page was stored twice or skipped, across processes. */
function expectPagesInOrder(events: ProgressEvent[], total: number) {
  const pages = events.filter((event) => event.kind === 'PAGE').map((event) => event.objects);
  expect(pages).toEqual(Array.from({ length: Math.ceil(total / PAGE_SIZE) }, (_, index) => Math.min(total, (index + 1) * PAGE_SIZE)));
}

/**
 * The process that took over listed only the pages the dead one had not stored: one request per
 * remaining page, each starting after a different object.
 */
function expectResumedFromCheckpoint(fake: FakeStripe, events: ProgressEvent[], killedAt: number, total: number) {
  const storedBefore = events
    .slice(
      0,
      events.findIndex((event) => event.kind === 'RUN_RESUMED'),
    )
    .filter((event) => event.kind === 'PAGE').length;
  const requests = fake.requests.filter((request) => request.path === '/v1/customers' && request.at >= killedAt);
  // The listing resumes after the checkpoint (every request has a cursor); the verification phase
  // then lists every id once more from the start.
  const verificationStart = requests.findIndex((request) => request.query.starting_after === undefined);
  const after = verificationStart === -1 ? requests : requests.slice(0, verificationStart);
  expect(after).toHaveLength(Math.ceil(total / PAGE_SIZE) - storedBefore);
  expect(new Set(after.map((request) => request.query.starting_after)).size).toBe(after.length);
  expect(requests.slice(after.length)).toHaveLength(Math.ceil(total / PAGE_SIZE));
}

/** The process whose worker holds a run's lease (worker ids are `<host>:<pid>:<random>`). */
function leaseHolder(processes: CofferProcess[], leaseOwner: string | null) {
  const pid = Number(leaseOwner?.split(':').at(-2));
  return processes.find((proc) => proc.child.pid === pid);
}

const finishedHere = (proc: CofferProcess, runId: string) =>
  proc.logs().some((line) => line.syncRunId === runId && line.msg === 'stripe sync run finished');

describe.skipIf(!TEST_DATABASE_URL || !TEST_REDIS_URL)(
  'Stripe sync on two server processes sharing Postgres and Redis (TEST_DATABASE_URL, TEST_REDIS_URL)',
  () => {
    let fake: FakeStripe;
    let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
    let database: pg.Client;
    let env: Record<string, string>;
    let a: CofferProcess;
    let b: CofferProcess;
    let adminKey: string;
    let ownerKey: string;

    beforeAll(
      async () => {
        fake = await startFakeStripe();
        // A throw-away database, as test/support/database.ts makes them; the servers migrate it.
        scratch = await createScratchDatabase(TEST_DATABASE_URL!);
        database = new pg.Client({ connectionString: scratch.url });
        await database.connect();
        env = { ...deploymentEnv(fake), DATABASE_URL: scratch.url, REDIS_URL: TEST_REDIS_URL!, REDIS_KEY_PREFIX: TEST_REDIS_KEY_PREFIX };
        adminKey = env.COFFER_ADMIN_API_KEY!;
        // One after the other: the first one migrates and registers the admin key.
        a = await startCoffer('A', { ...env, DATA_DIR: await tempDir() });
        b = await startCoffer('B', { ...env, DATA_DIR: await tempDir() });
        ownerKey = await createOwner(b, adminKey);
      },
      2 * START_TIMEOUT_MS + 10_000,
    );

    afterAll(async () => {
      for (const proc of [a, b]) if (proc && running.has(proc)) proc.child.kill('SIGKILL');
      await Promise.all([a, b].filter(Boolean).map((proc) => proc.exited));
      await database?.end();
      await scratch?.drop();
      await fake?.close();
    });

    it(
      'a subscriber on process A (SSE) receives every event of a run started through process B, in order, ending with RUN_FINISHED',
      { timeout: 60_000 },
      async () => {
        const { projectId, fakeIds } = await idleProject(fake, b, ownerKey, 240);
        fake.delayNext(10, 40, { path: /^\/v1\/customers/ });
        // One subscriber per replica: whichever worker executes the run, one of them is elsewhere.
        const onA = await overSse(a, ownerKey, { projectId, environment: 'TEST' });
        const onB = await subscribeWs(b, ownerKey, { projectId, environment: 'TEST' });
        try {
          await settle();
          const runId = await startSync(b, ownerKey, projectId);
          await Promise.all([onA.waitForFinish(runId), onB.waitForFinish(runId)]);

          const stored = await readRun(a, ownerKey, runId);
          expect(stored).toMatchObject({ status: 'SUCCEEDED', attempts: 1, summary: { status: 'SUCCEEDED', objects: 240, pages: 10 } });
          for (const subscription of [onA, onB]) {
            expect(subscription.errors).toEqual([]);
            expectComplete(subscription.events, runId);
            expect(subscription.events).toEqual(stored.events);
          }
          expectPagesInOrder(onA.events, 240);
          // Exactly one process executed it.
          expect([a, b].filter((proc) => finishedHere(proc, runId))).toHaveLength(1);
          expect(await storedCustomerIds(a, ownerKey, projectId)).toEqual(fakeIds);
        } finally {
          await onA.close();
          await onB.close();
        }
      },
    );

    it(
      'SIGKILL mid-run: the other process takes the run over once the lease expired and finishes it, nothing stored twice or missed',
      { timeout: 60_000 },
      async () => {
        const customers = 300;
        const { projectId, fakeIds } = await idleProject(fake, a, ownerKey, customers);
        // Slow pages: the run is in its first pages when its process dies.
        fake.delayNext(20, 200, { path: /^\/v1\/customers/ });
        const subscriptions = new Map<CofferProcess, Subscription>([
          [a, await overSse(a, ownerKey, { projectId, environment: 'TEST' })],
          [b, await overSse(b, ownerKey, { projectId, environment: 'TEST' })],
        ]);
        try {
          await settle();
          const runId = await startSync(a, ownerKey, projectId);
          await waitForRun(a, ownerKey, runId, (run) => run.events.filter((event) => event.kind === 'PAGE').length >= 3);

          const {
            rows: [before],
          } = await database.query<{ lease_owner: string | null }>('SELECT lease_owner FROM stripe_sync_runs WHERE id = $1', [runId]);
          const victim = leaseHolder([a, b], before!.lease_owner);
          expect(victim, `lease owner ${before!.lease_owner}`).toBeDefined();
          const survivor = victim === a ? b : a;
          const killedAt = Date.now();
          victim!.child.kill('SIGKILL');
          await victim!.exited;
          const {
            rows: [atDeath],
          } = await database.query<{ lease_owner: string | null; lease_expires_at: Date; status: string }>(
            'SELECT lease_owner, lease_expires_at, status FROM stripe_sync_runs WHERE id = $1',
            [runId],
          );
          expect(atDeath).toMatchObject({ lease_owner: before!.lease_owner, status: 'RUNNING' });

          const subscription = subscriptions.get(survivor)!;
          await subscription.waitForFinish(runId, 30_000);
          const run = await readRun(survivor, ownerKey, runId);
          expect(run).toMatchObject({
            status: 'SUCCEEDED',
            attempts: 2,
            error: null,
            summary: { status: 'SUCCEEDED', objects: customers, pages: customers / PAGE_SIZE },
          });
          expect(finishedHere(survivor, runId)).toBe(true);

          const kinds = run.events.map((event) => event.kind);
          // A killed process leaves no RUN_INTERRUPTED; the survivor says it resumed, after the lease had expired.
          expect(kinds.filter((kind) => kind === 'RUN_STARTED')).toHaveLength(1);
          expect(kinds.filter((kind) => kind === 'RUN_RESUMED')).toHaveLength(1);
          expect(kinds).not.toContain('RUN_INTERRUPTED');
          const resumed = run.events.find((event) => event.kind === 'RUN_RESUMED')!;
          expect(new Date(resumed.at).getTime()).toBeGreaterThanOrEqual(atDeath!.lease_expires_at.getTime() - 50);
          expect(kinds.indexOf('RUN_RESUMED')).toBeGreaterThan(kinds.indexOf('PAGE'));
          expectPagesInOrder(run.events, customers);
          expectResumedFromCheckpoint(fake, run.events, killedAt, customers);

          // The survivor's subscriber saw it all: the dead process's pages (through Redis), then its own.
          expect(subscription.errors).toEqual([]);
          expectComplete(subscription.events, runId);
          expect(subscription.events).toEqual(run.events);

          const stored = await database.query<{ stripe_id: string }>(
            `SELECT stripe_id FROM ${OBJECT_TYPES.customers.table} WHERE project_id = $1`,
            [projectId],
          );
          expect(stored.rows.map((row) => row.stripe_id).sort()).toEqual(fakeIds);
          expect(await storedCustomerIds(survivor, ownerKey, projectId)).toEqual(fakeIds);
        } finally {
          await Promise.all([...subscriptions.values()].map((subscription) => subscription.close()));
        }
      },
    );
  },
);

/**
 * The same crash on embedded PGlite: one DATA_DIR, so one process at a time. The first is killed
 * mid-run; the next one started on the directory resumes the run once the dead one's lease expired.
 * Runs whenever the suite above does not (as elsewhere, Postgres replaces PGlite when it is there).
 */
describe.skipIf(TEST_DATABASE_URL && TEST_REDIS_URL)(
  'Stripe sync after a SIGKILL on embedded PGlite (one DATA_DIR, one process after the other)',
  () => {
    let fake: FakeStripe;

    beforeAll(async () => {
      fake = await startFakeStripe();
    });
    afterAll(async () => {
      await fake?.close();
    });

    it(
      'the next process on the DATA_DIR resumes the killed run from its last page and finishes it',
      { timeout: 2 * START_TIMEOUT_MS + 30_000 },
      async () => {
        const customers = 300;
        const dataDir = await tempDir();
        const env: Record<string, string> = { ...deploymentEnv(fake), DATA_DIR: dataDir };
        // Created and migrated here, where it is quicker than in a cold child process.
        const db = await openDatabase({ kind: 'pglite', dataDir });
        await applyMigrations(db);
        await db.close();
        const adminKey = env.COFFER_ADMIN_API_KEY!;
        const first = await startCoffer('first', env);
        const ownerKey = await createOwner(first, adminKey);
        const { projectId, fakeIds } = await idleProject(fake, first, ownerKey, customers);
        fake.delayNext(20, 200, { path: /^\/v1\/customers/ });
        const runId = await startSync(first, ownerKey, projectId);
        await waitForRun(first, ownerKey, runId, (run) => run.events.filter((event) => event.kind === 'PAGE').length >= 3);
        const killedAt = Date.now();
        first.child.kill('SIGKILL');
        await first.exited;

        const second = await startCoffer('second', env);
        // Attached while the run is taken over: the stored events first, then the live ones.
        const subscription = await overSse(second, ownerKey, { projectId, environment: 'TEST' });
        await subscription.waitForFinish(runId).finally(() => subscription.close());
        const run = await waitForRun(second, ownerKey, runId);
        expect(run).toMatchObject({
          status: 'SUCCEEDED',
          attempts: 2,
          error: null,
          summary: { status: 'SUCCEEDED', objects: customers, pages: customers / PAGE_SIZE },
        });
        expect(finishedHere(second, runId)).toBe(true);
        const kinds = run.events.map((event) => event.kind);
        expect(kinds.filter((kind) => kind === 'RUN_RESUMED')).toHaveLength(1);
        expect(kinds).not.toContain('RUN_INTERRUPTED');
        expectComplete(run.events, runId);
        expectPagesInOrder(run.events, customers);
        expectResumedFromCheckpoint(fake, run.events, killedAt, customers);
        expect(subscription.errors).toEqual([]);
        expect(subscription.events).toEqual(run.events);
        expect(await storedCustomerIds(second, ownerKey, projectId)).toEqual(fakeIds);
      },
    );
  },
);

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SyncRunExecution } from '../../../src/features/stripe/sync/run-execution.js';
import { StripeSyncWorker } from '../../../src/features/stripe/sync/sync-worker.js';
import { graphql } from '../../../src/generated/graphql/index.js';
import type { CollectionName } from '../../support/fake-stripe.js';
import { NO_LEAKS } from '../support.js';
import { ALL_COLLECTIONS, startSyncHarness, type SyncHarness } from './support.js';

/**
 * A run stopped part-way (a graceful restart, or a worker that died) is finished by another worker
 * from its checkpoint: the last page it stored. Nothing before the checkpoint is fetched again and
 * nothing after it is skipped.
 */

const RunTimeline = graphql(`
  query ResumeSuiteTimeline($id: ID!, $first: Int) {
    stripeSyncRun(id: $id) { id events(first: $first) { sequence kind message at } }
  }
`);

const COUNTS = { products: 70, customers: 250, invoices: 30 } satisfies Partial<Record<CollectionName, number>>;
const PAGE = 50;
/** Long enough that nothing answers the held request during a test; the fake wakes it when closed. */
const HOLD_MS = 20_000;

let h: SyncHarness;
const workers: StripeSyncWorker[] = [];

beforeAll(async () => {
  // No worker runs on its own here: each test decides who executes the run. Short leases for the crash.
  h = await startSyncHarness({ worker: false, env: { STRIPE_SYNC_LEASE_SECONDS: '1.5' } });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop()));
  await h.app.services.syncWorker.stop();
});
afterAll(() => h.close());

/** Another replica over the same database, configuration and event bus as the app. */
function newWorker() {
  const { db, keyring, config, logger, events } = h.app.services;
  const worker = new StripeSyncWorker({ db, keyring, config, logger, events });
  workers.push(worker);
  return worker;
}

/** The next two customer pages are answered at once, the third is held (as a slow Stripe would). */
function holdThirdCustomersPage() {
  h.fake.delayNext(2, 0, { path: /^\/v1\/customers$/ });
  h.fake.delayNext(1, HOLD_MS, { path: /^\/v1\/customers$/ });
}

/** The `starting_after` of every list request to `path` logged from index `from` on (undefined for a first page). */
const cursorsAsked = (path: string, from = 0) =>
  h.fake.requests
    .slice(from)
    .filter((request) => request.path === path)
    .map((request) => request.query.starting_after as string | undefined);

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const customersState = (runId: string) =>
  h.app.db.prisma.stripeSyncObjectState.findUniqueOrThrow({ where: { runId_objectType: { runId, objectType: 'customers' } } });

/** Customers are listed newest first: after two pages of 50 the checkpoint is the 100th newest. */
const customerIdFromNewest = (accountId: string, position: number) =>
  h.fake.seed(accountId, 'test', 'customers', 0).idAt(COUNTS.customers - position);

async function expectCompleteMirror(projectId: string, accountId: string) {
  for (const collection of ALL_COLLECTIONS) {
    expect(await h.storedIds(collection, projectId), collection).toEqual(h.fakeIds(accountId, collection));
  }
}

async function timeline(runId: string) {
  const response = await h.execute(RunTimeline, { id: runId, first: 1000 });
  expect(response.errors).toEqual([]);
  return response.data!.stripeSyncRun.events;
}

describe('a graceful restart', () => {
  it('hands the run back mid-way, and a new worker resumes it after its last stored page', async () => {
    const { projectId, account, firstRunId } = await h.seededProject(COUNTS);
    const runId = firstRunId!;
    holdThirdCustomersPage();
    const mark = h.fake.requests.length;

    h.app.services.syncWorker.start();
    await waitFor(() => cursorsAsked('/v1/customers', mark).length === 3, 'the third customers page to be requested');
    const held = h.fake.requests.slice(mark).filter((request) => request.path === '/v1/customers')[2]!;

    await h.app.services.syncWorker.stop();
    // The worker did not wait for the page in flight: Stripe has not even answered it yet.
    expect(held.status).toBe(0);
    const handedBack = await h.readRun(runId);
    expect(handedBack).toMatchObject({ status: 'RUNNING', attempts: 1, finishedAt: null });
    expect(handedBack.progress.find((entry) => entry.objectType === 'PRODUCTS')).toMatchObject({
      status: 'SUCCEEDED',
      objects: COUNTS.products,
    });
    expect(handedBack.progress.find((entry) => entry.objectType === 'CUSTOMERS')).toMatchObject({
      status: 'RUNNING',
      pages: 2,
      objects: 2 * PAGE,
    });
    expect(handedBack.events.at(-1)).toMatchObject({
      kind: 'RUN_INTERRUPTED',
      runStatus: 'RUNNING',
      runObjects: COUNTS.products + 2 * PAGE,
    });
    const stored = await h.app.db.prisma.stripeSyncRun.findUniqueOrThrow({ where: { id: runId } });
    expect(stored).toMatchObject({ leaseOwner: null, activeSlot: 'active' });
    expect(stored.leaseExpiresAt!.getTime()).toBeLessThanOrEqual(Date.now());
    // The checkpoint is the last customer of the second page, which is what the held request asked to start after.
    const checkpoint = (await customersState(runId)).cursor;
    expect(checkpoint).toBe(customerIdFromNewest(account.id, 2 * PAGE));
    expect(held.query.starting_after).toBe(checkpoint);
    expect(await h.storedIds('customers', projectId)).toHaveLength(2 * PAGE);

    const restartMark = h.fake.requests.length;
    newWorker().start();
    const run = await h.waitForRun(runId);
    expect(run).toMatchObject({ status: 'SUCCEEDED', attempts: 2, error: null });

    // It went on from the checkpoint: no page before it was fetched again, none after it skipped.
    // Then the verification walks the list again from the top.
    expect(cursorsAsked('/v1/customers', restartMark).slice(3, 4)).toEqual([undefined]);
    expect(cursorsAsked('/v1/customers', restartMark).slice(0, 3)).toEqual([
      checkpoint,
      customerIdFromNewest(account.id, 3 * PAGE),
      customerIdFromNewest(account.id, 4 * PAGE),
    ]);
    expect(cursorsAsked('/v1/products', restartMark)).toEqual([]);
    const customers = run.progress.find((entry) => entry.objectType === 'CUSTOMERS');
    expect(customers).toMatchObject({ status: 'SUCCEEDED', pages: 5, objects: COUNTS.customers, total: COUNTS.customers });
    const customerPages = run.events
      .filter((event) => event.kind === 'PAGE' && event.objectType === 'CUSTOMERS')
      .map((event) => event.objects);
    expect(customerPages).toEqual([50, 100, 150, 200, 250]);
    expect(run.summary).toMatchObject({ status: 'SUCCEEDED', objects: COUNTS.products + COUNTS.customers + COUNTS.invoices });
    await expectCompleteMirror(projectId, account.id);

    const kinds = run.events.map((event) => event.kind);
    expect(kinds.filter((kind) => kind.startsWith('RUN_'))).toEqual([
      'RUN_QUEUED',
      'RUN_STARTED',
      'RUN_INTERRUPTED',
      'RUN_RESUMED',
      'RUN_FINISHED',
    ]);
    expect(run.events.find((event) => event.kind === 'RUN_RESUMED')).toMatchObject({
      message: 'resumed (attempt 2)',
      runObjects: COUNTS.products + 2 * PAGE,
    });
    expect(run.events.map((event) => event.sequence)).toEqual(run.events.map((_, index) => index + 1));
    expect(await h.leaks()).toEqual(NO_LEAKS);
  });
  it('a worker stopped while it is claiming a run hands that run back too, without waiting for it', async () => {
    const { firstRunId } = await h.seededProject(COUNTS);
    const runId = firstRunId!;

    // The database of this replica lets the shutdown arrive while the claim query is in flight.
    const { db, keyring, config, logger, events } = h.app.services;
    let stopping: Promise<void> | undefined;
    const prisma = new Proxy(db.prisma, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        if (property !== '$queryRaw') return value.bind(target);
        return (query: TemplateStringsArray, ...values: unknown[]) => {
          if (!stopping && query.join('?').includes('SKIP LOCKED')) stopping = worker.stop();
          return value.call(target, query, ...values) as unknown;
        };
      },
    });
    const worker = new StripeSyncWorker({ db: { ...db, prisma }, keyring, config, logger, events });
    workers.push(worker);
    worker.start();
    await waitFor(() => stopping !== undefined, 'the claim');
    // Not waiting for the run to end: stopping takes a moment, not a whole sync.
    const outcome = await Promise.race([
      stopping!.then(() => 'stopped'),
      new Promise((resolve) => setTimeout(resolve, 5_000, 'still running')),
    ]);
    expect(outcome).toBe('stopped');
    expect(worker.active).toEqual([]);

    // It had claimed the run: it handed it back, and the next worker resumes it.
    const handedBack = await h.readRun(runId);
    expect(handedBack).toMatchObject({ status: 'RUNNING', attempts: 1 });
    expect(handedBack.events.at(-1)?.kind).toBe('RUN_INTERRUPTED');
    newWorker().start();
    expect(await h.waitForRun(runId)).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
  });
});

describe('a crashed worker', () => {
  it('is taken over once its lease expires, and the run resumes from the stored checkpoint', async () => {
    const { projectId, account, firstRunId } = await h.seededProject(COUNTS);
    const runId = firstRunId!;
    holdThirdCustomersPage();
    const mark = h.fake.requests.length;

    // "dead-worker" claims the run as a worker does, stores two pages of customers, then dies:
    // stopping for a lost lease is the runner's way out that writes nothing more, as a killed process.
    const { db, keyring, config, logger, events } = h.app.services;
    const [claimed] = await db.prisma.$queryRaw<Array<{ id: string }>>`
      UPDATE stripe_sync_runs SET status = 'RUNNING', lease_owner = 'dead-worker', lease_expires_at = now() + (${config.stripeSync.leaseMs} * interval '1 millisecond'),
        attempts = attempts + 1, started_at = now()
      WHERE id = ${runId}::uuid AND status = 'QUEUED' RETURNING id`;
    expect(claimed).toBeDefined();
    const dead = new SyncRunExecution(
      { db, keyring, config, logger, events },
      await db.prisma.stripeSyncRun.findUniqueOrThrow({ where: { id: runId } }),
      'dead-worker',
    );
    const outcome = dead.execute();
    await waitFor(() => cursorsAsked('/v1/customers', mark).length === 3, 'the third customers page to be requested');
    dead.stop('lease-lost');
    expect(await outcome).toEqual({ kind: 'lease-lost' });

    const abandoned = await db.prisma.stripeSyncRun.findUniqueOrThrow({ where: { id: runId } });
    expect(abandoned).toMatchObject({ status: 'RUNNING', leaseOwner: 'dead-worker', attempts: 1, activeSlot: 'active' });
    const leaseExpiresAt = abandoned.leaseExpiresAt!;
    const checkpoint = await customersState(runId);
    expect(checkpoint).toMatchObject({
      status: 'RUNNING',
      pages: 2,
      objects: 2 * PAGE,
      cursor: customerIdFromNewest(account.id, 2 * PAGE),
    });

    const takeoverMark = h.fake.requests.length;
    const startedAt = Date.now();
    newWorker().start();
    // The new worker looked for work while the lease was still valid: waiting for it was its choice.
    expect(startedAt).toBeLessThan(leaseExpiresAt.getTime());
    const run = await h.waitForRun(runId);
    expect(run).toMatchObject({ status: 'SUCCEEDED', attempts: 2, error: null });

    const resumed = (await timeline(runId)).find((event) => event.kind === 'RUN_RESUMED');
    expect(new Date(resumed!.at).getTime()).toBeGreaterThanOrEqual(leaseExpiresAt.getTime());
    // Then the verification walks the list again from the top.
    expect(cursorsAsked('/v1/customers', takeoverMark).slice(3, 4)).toEqual([undefined]);
    expect(cursorsAsked('/v1/customers', takeoverMark).slice(0, 3)).toEqual([
      checkpoint.cursor,
      customerIdFromNewest(account.id, 3 * PAGE),
      customerIdFromNewest(account.id, 4 * PAGE),
    ]);
    expect(cursorsAsked('/v1/products', takeoverMark)).toEqual([]);
    expect(run.progress.find((entry) => entry.objectType === 'CUSTOMERS')).toMatchObject({
      status: 'SUCCEEDED',
      pages: 5,
      objects: COUNTS.customers,
      total: COUNTS.customers,
    });
    expect(run.events.filter((event) => event.kind === 'PAGE' && event.objectType === 'CUSTOMERS').map((event) => event.objects)).toEqual([
      50, 100, 150, 200, 250,
    ]);
    await expectCompleteMirror(projectId, account.id);

    // A crash writes no RUN_INTERRUPTED: the next worker's RUN_RESUMED is the only trace.
    const kinds = run.events.map((event) => event.kind);
    expect(kinds.filter((kind) => kind.startsWith('RUN_'))).toEqual(['RUN_QUEUED', 'RUN_STARTED', 'RUN_RESUMED', 'RUN_FINISHED']);
    const stored = await db.prisma.stripeSyncRun.findUniqueOrThrow({ where: { id: runId } });
    expect(stored).toMatchObject({ leaseOwner: null, leaseExpiresAt: null, activeSlot: null });
  });
});

describe('a restart during the verification phase', () => {
  it('resumes with the verification: the listing is not walked again', async () => {
    const { projectId, account, firstRunId } = await h.seededProject({ products: 30 });
    const runId = firstRunId!;
    // The listing's only page is answered, the verification's first page is held.
    h.fake.delayNext(1, 0, { path: /^\/v1\/products$/ });
    h.fake.delayNext(1, HOLD_MS, { path: /^\/v1\/products$/ });
    const mark = h.fake.requests.length;

    h.app.services.syncWorker.start();
    await waitFor(() => cursorsAsked('/v1/products', mark).length === 2, 'the verification to ask for its first page');
    await h.app.services.syncWorker.stop();
    const handedBack = await h.readRun(runId);
    expect(handedBack.progress.find((entry) => entry.objectType === 'PRODUCTS')).toMatchObject({
      status: 'RUNNING',
      objects: 30,
      total: 30,
      listed: null,
    });
    expect(handedBack.events.filter((event) => event.objectType === 'PRODUCTS').map((event) => event.kind)).toEqual([
      'OBJECT_STARTED',
      'PAGE',
      'VERIFICATION_STARTED',
    ]);

    const restartMark = h.fake.requests.length;
    newWorker().start();
    const run = await h.waitForRun(runId);
    expect(run).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    // One walk from the top: the verification's, not the listing again.
    expect(cursorsAsked('/v1/products', restartMark)).toEqual([undefined]);
    expect(run.progress.find((entry) => entry.objectType === 'PRODUCTS')).toMatchObject({
      status: 'SUCCEEDED',
      pages: 1,
      objects: 30,
      listed: 30,
      insertedByVerification: 0,
      markedDeleted: 0,
    });
    expect(await h.storedIds('products', projectId)).toEqual(h.fakeIds(account.id, 'products'));
  });
});

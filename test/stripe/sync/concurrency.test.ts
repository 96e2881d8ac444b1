import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StripeSyncWorker } from '../../../src/features/stripe/sync/sync-worker.js';
import type { StripeEnvironment } from '../../../src/generated/prisma/enums.js';
import { ALL_COLLECTIONS, CancelSync, startSyncHarness, StartSync, type SyncHarness } from './support.js';

/**
 * One active run per project and environment, on every replica: concurrent starts conflict, and
 * workers polling the same database never execute the same run. Different environments and
 * projects sync side by side.
 */

let h: SyncHarness;
const workers: StripeSyncWorker[] = [];

beforeAll(async () => {
  // The workers of each test are started by the test: "replicas" over the app's database.
  h = await startSyncHarness({ worker: false });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop()));
});
afterAll(() => h.close());

function newWorker({ concurrency = 2 } = {}) {
  const { db, keyring, config, logger, events } = h.app.services;
  const worker = new StripeSyncWorker({
    db,
    keyring,
    config: { ...config, stripeSync: { ...config.stripeSync, concurrency } },
    logger,
    events,
  });
  workers.push(worker);
  return worker;
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const requestsTo = (path: string, from: number) => h.fake.requests.slice(from).filter((request) => request.path === path);

/** Exactly one RUN_STARTED, never resumed or interrupted, every page once. */
async function expectExecutedOnce(runId: string, counts: { products: number; customers: number }) {
  const run = await h.waitForRun(runId);
  expect(run).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  const kinds = run.events.map((event) => event.kind);
  expect(kinds.filter((kind) => kind.startsWith('RUN_'))).toEqual(['RUN_QUEUED', 'RUN_STARTED', 'RUN_FINISHED']);
  const pages = (type: string) =>
    run.events.filter((event) => event.kind === 'PAGE' && event.objectType === type).map((event) => event.objects);
  expect(pages('PRODUCTS')).toEqual([50, counts.products]);
  expect(pages('CUSTOMERS')).toEqual([50, 100, counts.customers]);
  expect(run.events.map((event) => event.sequence)).toEqual(run.events.map((_, index) => index + 1));
  return run;
}

describe('one run at a time per project and environment', () => {
  it('of 10 concurrent startStripeSync calls exactly one creates a run; the others CONFLICT naming it', async () => {
    const { projectId, firstRunId } = await h.seededProject({ customers: 5 });
    expect((await h.execute(CancelSync, { runId: firstRunId! })).errors).toEqual([]);
    const auditBefore = await h.app.db.prisma.auditEvent.count({ where: { action: 'stripe.sync.start' } });

    const responses = await Promise.all(Array.from({ length: 10 }, () => h.execute(StartSync, { projectId, environment: 'TEST' })));
    const winners = responses.filter((response) => response.errors.length === 0);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!.data!.startStripeSync;
    expect(winner).toMatchObject({ status: 'QUEUED', trigger: 'API' });
    const losers = responses.filter((response) => response.errors.length > 0);
    expect(losers).toHaveLength(9);
    for (const loser of losers) {
      expect(loser.errors).toEqual([
        expect.objectContaining({ extensions: expect.objectContaining({ code: 'CONFLICT', activeRunId: winner!.id }) }),
      ]);
      expect(loser.data?.startStripeSync ?? null).toBeNull();
    }

    const runs = await h.app.db.prisma.stripeSyncRun.findMany({ where: { projectId, environment: 'TEST' } });
    expect(runs.map((run) => run.trigger).sort()).toEqual(['API', 'CONFIGURE']);
    expect(runs.filter((run) => run.activeSlot === 'active').map((run) => run.id)).toEqual([winner!.id]);
    expect(await h.app.db.prisma.stripeSyncEvent.count({ where: { runId: winner!.id } })).toBe(1);
    expect(await h.app.db.prisma.auditEvent.count({ where: { action: 'stripe.sync.start' } })).toBe(auditBefore + 1);
    // Left queued, it would be picked up by the workers of the next tests.
    expect((await h.execute(CancelSync, { runId: winner!.id })).errors).toEqual([]);
  });
});

describe('workers on several replicas', () => {
  it('racing for the same run: exactly one claims and executes it', async () => {
    const counts = { products: 60, customers: 120 };
    const { firstRunId } = await h.seededProject(counts);
    const [first, second] = [newWorker(), newWorker()];
    const outcomes = await Promise.all([first.runNow(firstRunId!), second.runNow(firstRunId!)]);
    expect(outcomes.filter((outcome) => outcome === null)).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome !== null)).toEqual([{ kind: 'finished', status: 'SUCCEEDED' }]);
    await expectExecutedOnce(firstRunId!, counts);
  });

  it('two workers polling the same database split the queued runs and never execute one twice', async () => {
    const counts = { products: 60, customers: 120 };
    const projects = [];
    for (let index = 0; index < 6; index++) projects.push(await h.seededProject(counts));
    const runIds = projects.map((project) => project.firstRunId!);
    // Slow pages, so that runs overlap and both workers are busy at once.
    h.fake.delayNext(6 * 5, 20, { path: /^\/v1\/(products|customers)$/ });
    const mark = h.fake.requests.length;

    const replicas = [newWorker(), newWorker()];
    const executedBy = new Map<string, Set<number>>(runIds.map((id) => [id, new Set()]));
    let mostAtOnce = 0;
    const sample = () => {
      replicas.forEach((worker, index) => worker.active.forEach((runId) => executedBy.get(runId)?.add(index)));
      mostAtOnce = Math.max(
        mostAtOnce,
        replicas.reduce((sum, worker) => sum + worker.active.length, 0),
      );
    };
    const sampler = setInterval(sample, 1);
    try {
      for (const worker of replicas) worker.start();
      await waitFor(
        async () => (await h.app.db.prisma.stripeSyncRun.count({ where: { id: { in: runIds }, activeSlot: null } })) === runIds.length,
        'every run to end',
        20_000,
      );
    } finally {
      clearInterval(sampler);
    }

    for (const runId of runIds) {
      expect([...executedBy.get(runId)!], runId).toHaveLength(1);
      await expectExecutedOnce(runId, counts);
    }
    // Both replicas did work, and never more than their concurrency each.
    const perReplica = [0, 1].map((index) => runIds.filter((runId) => executedBy.get(runId)!.has(index)).length);
    expect(perReplica.every((count) => count > 0)).toBe(true);
    expect(mostAtOnce).toBeGreaterThan(2);
    expect(mostAtOnce).toBeLessThanOrEqual(4);
    // Every page of every run was asked of Stripe once by the listing (2 product pages and 3
    // customer pages per run); the verification asked the top page again (for objects created
    // while the listing ran) and the events since the listing started (for deletions).
    expect(requestsTo('/v1/products', mark)).toHaveLength(6 * (2 + 1));
    // (Not counting the walk over customers for payment methods and tax ids, 100 a page.)
    expect(requestsTo('/v1/customers', mark).filter((request) => String(request.query.limit) !== '100')).toHaveLength(6 * (3 + 1));
    for (const project of projects) {
      expect(await h.storedIds('customers', project.projectId)).toEqual(h.fakeIds(project.account.id, 'customers'));
    }
  });
});

describe('different environments and projects', () => {
  it('sync at the same time, each holding its own slot', async () => {
    const account = h.account('Two modes');
    for (const mode of ['test', 'live'] as const) {
      h.fake.seed(account.id, mode, 'products', 60);
      h.fake.seed(account.id, mode, 'customers', 120);
    }
    const project = await h.project();
    const configured = await h.configure(project.id, {
      testSecretKey: h.key(account.id),
      liveSecretKey: h.key(account.id, { mode: 'live' }),
    });
    expect(configured.errors).toEqual([]);
    const runOf = Object.fromEntries(
      configured.data!.configureStripe!.results.map((result) => [result.environment, result.syncRunId!]),
    ) as Record<StripeEnvironment, string>;
    const other = await h.seededProject({ products: 60, customers: 120 });
    const runIds = [runOf.TEST, runOf.LIVE, other.firstRunId!];
    expect(new Set(runIds).size).toBe(3);

    // Each run's first customers page is slow: all three are in flight together.
    h.fake.delayNext(3, 500, { path: /^\/v1\/customers$/ });
    const worker = newWorker({ concurrency: 4 });
    worker.start();
    await waitFor(() => worker.active.length === 3, 'three runs executing at once');
    expect([...worker.active].sort()).toEqual([...runIds].sort());

    // The slot is per project and environment: each start names its own environment's run.
    for (const environment of ['TEST', 'LIVE'] as const) {
      const response = await h.execute(StartSync, { projectId: project.id, environment });
      expect(response.errors.map((error) => [error.extensions?.code, error.extensions?.activeRunId])).toEqual([
        ['CONFLICT', runOf[environment]],
      ]);
    }

    for (const runId of runIds) await expectExecutedOnce(runId, { products: 60, customers: 120 });
    for (const [environment, mode] of [
      ['TEST', 'test'],
      ['LIVE', 'live'],
    ] as const) {
      for (const collection of ALL_COLLECTIONS) {
        expect(await h.storedIds(collection, project.id, environment), `${environment} ${collection}`).toEqual(
          h.fakeIds(account.id, collection, mode),
        );
      }
    }
    expect(await h.storedIds('customers', other.projectId)).toEqual(h.fakeIds(other.account.id, 'customers'));
  });
});

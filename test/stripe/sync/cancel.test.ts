import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StripeSyncWorker } from '../../../src/features/stripe/sync/sync-worker.js';
import { SYNC_OBJECT_TYPES } from '../../../src/features/stripe/mirror/object-types.js';
import { expectError } from '../../support/assertions.js';
import { NO_LEAKS } from '../support.js';
import { CancelSync, startSyncHarness, StartSync, type SyncHarness } from './support.js';

/**
 * cancelStripeSync: a queued run ends at once, a running one after the page in flight (on this
 * replica or another), a finished one is left as it is; only the project's owner or an admin may.
 */

const HOLD_MS = 20_000;
const COUNTS = { products: 60, customers: 120, invoices: 20 };

/** Every Stripe path the sync lists, in its order. */
const LIST_PATHS = [
  '/v1/products',
  '/v1/prices',
  '/v1/customers',
  '/v1/subscriptions',
  '/v1/invoices',
  '/v1/payment_intents',
  '/v1/charges',
  '/v1/refunds',
];

/** The first customers page is answered, the second is held (a slow Stripe). */
function holdSecondCustomersPage(h: SyncHarness) {
  h.fake.delayNext(1, 0, { path: /^\/v1\/customers$/ });
  h.fake.delayNext(1, HOLD_MS, { path: /^\/v1\/customers$/ });
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const requestsTo = (h: SyncHarness, path: string, from: number) => h.fake.requests.slice(from).filter((request) => request.path === path);

async function cancel(h: SyncHarness, runId: string, credential: string | null = h.app.owner.key) {
  return h.execute(CancelSync, { runId }, { credential });
}

/** A run that holds its second customers page (so it is RUNNING), canceled by its owner. */
async function expectCanceledMidway(h: SyncHarness, runId: string, projectId: string, mark: number) {
  await waitFor(() => requestsTo(h, '/v1/customers', mark).length === 2, 'the second customers page to be requested');
  // The second page is asked for while the first is written: the cancel comes once that is stored.
  await waitFor(
    async () =>
      (await h.app.db.prisma.stripeSyncObjectState.findUniqueOrThrow({ where: { runId_objectType: { runId, objectType: 'customers' } } }))
        .pages === 1,
    'the first customers page to be stored',
  );
  const held = requestsTo(h, '/v1/customers', mark)[1]!;
  const requested = await cancel(h, runId);
  expect(requested.errors).toEqual([]);
  expect(requested.data?.cancelStripeSync).toMatchObject({
    id: runId,
    status: 'RUNNING',
    cancelRequestedAt: expect.any(String),
    finishedAt: null,
  });

  const run = await h.waitForRun(runId);
  // It did not wait for Stripe to answer the page in flight.
  expect(held.status).toBe(0);
  expect(run).toMatchObject({
    status: 'CANCELED',
    error: null,
    finishedAt: expect.any(String),
    cancelRequestedAt: requested.data?.cancelStripeSync!.cancelRequestedAt,
  });
  const statuses = Object.fromEntries(run.progress.map((entry) => [entry.objectType, entry.status]));
  expect(statuses).toEqual({
    PRODUCTS: 'SUCCEEDED',
    PRICES: 'SUCCEEDED',
    CUSTOMERS: 'CANCELED',
    SUBSCRIPTIONS: 'CANCELED',
    INVOICES: 'CANCELED',
    PAYMENT_INTENTS: 'CANCELED',
    CHARGES: 'CANCELED',
    REFUNDS: 'CANCELED',
    CHECKOUT_SESSIONS: 'CANCELED',
    SETUP_INTENTS: 'CANCELED',
    PAYMENT_METHODS: 'CANCELED',
    DISPUTES: 'CANCELED',
    CREDIT_NOTES: 'CANCELED',
    COUPONS: 'CANCELED',
    PROMOTION_CODES: 'CANCELED',
    TAX_IDS: 'CANCELED',
    SUBSCRIPTION_SCHEDULES: 'CANCELED',
    BALANCE_TRANSACTIONS: 'CANCELED',
  });
  expect(run.progress.find((entry) => entry.objectType === 'CUSTOMERS')).toMatchObject({ pages: 1, objects: 50, error: null });
  expect(run.progress.every((entry) => entry.error === null)).toBe(true);
  expect(run.summary).toMatchObject({ status: 'CANCELED', objects: COUNTS.products + 50 });
  expect(run.summary?.objectTypes.map((entry) => entry.status)).toEqual(run.progress.map((entry) => entry.status));

  const kinds = run.events.map((event) => event.kind);
  expect(kinds.slice(-2)).toEqual(['CANCEL_REQUESTED', 'RUN_FINISHED']);
  expect(run.events.at(-1)).toMatchObject({
    runStatus: 'CANCELED',
    message: 'canceled',
    summary: { status: 'CANCELED', objects: COUNTS.products + 50 },
  });
  // Nothing after the held page was asked of Stripe, and what was stored stays.
  for (const path of LIST_PATHS.slice(3)) expect(requestsTo(h, path, mark), path).toEqual([]);
  expect(await h.storedIds('customers', projectId)).toHaveLength(50);
  const stored = await h.app.db.prisma.stripeSyncRun.findUniqueOrThrow({ where: { id: runId } });
  expect(stored).toMatchObject({ activeSlot: null, leaseOwner: null, leaseExpiresAt: null });
  return run;
}

describe('with a worker in this process', () => {
  let h: SyncHarness;
  beforeAll(async () => {
    h = await startSyncHarness();
  });
  afterAll(() => h.close());

  it('cancels a running run after the page in flight, frees the slot, and a new run can start', async () => {
    holdSecondCustomersPage(h);
    const mark = h.fake.requests.length;
    const { projectId, account, firstRunId } = await h.seededProject(COUNTS);
    await expectCanceledMidway(h, firstRunId!, projectId, mark);

    const again = await h.execute(StartSync, { projectId, environment: 'TEST' });
    expect(again.errors).toEqual([]);
    const next = again.data!.startStripeSync;
    expect(next!.id).not.toBe(firstRunId);
    const finished = await h.waitForRun(next!.id);
    expect(finished).toMatchObject({ status: 'SUCCEEDED', trigger: 'API', attempts: 1 });
    expect(await h.storedIds('customers', projectId)).toEqual(h.fakeIds(account.id, 'customers'));
  });

  it('returns a finished run unchanged, without adding an event', async () => {
    const { firstRunId } = await h.seededProject({ products: 3 });
    const before = await h.waitForRun(firstRunId!);
    expect(before.status).toBe('SUCCEEDED');

    const response = await cancel(h, firstRunId!);
    expect(response.errors).toEqual([]);
    const { events: _events, ...fields } = before;
    expect(response.data?.cancelStripeSync).toEqual(fields);
    expect(await h.readRun(firstRunId!)).toEqual(before);
  });

  it('cancelling twice returns the canceled run as it is', async () => {
    holdSecondCustomersPage(h);
    const mark = h.fake.requests.length;
    const { projectId, firstRunId } = await h.seededProject(COUNTS);
    const canceled = await expectCanceledMidway(h, firstRunId!, projectId, mark);

    const again = await cancel(h, firstRunId!);
    expect(again.errors).toEqual([]);
    const { events: _events, ...fields } = canceled;
    expect(again.data?.cancelStripeSync).toEqual(fields);
    expect(await h.readRun(firstRunId!)).toEqual(canceled);
    expect(await h.leaks()).toEqual(NO_LEAKS);
  });
});

describe('without a worker in this process', () => {
  let h: SyncHarness;
  beforeAll(async () => {
    h = await startSyncHarness({ worker: false });
  });
  afterAll(() => h.close());

  it('cancels a queued run at once', async () => {
    const mark = h.fake.requests.length;
    const { projectId, firstRunId } = await h.seededProject(COUNTS);
    expect((await h.readRun(firstRunId!)).status).toBe('QUEUED');

    const response = await cancel(h, firstRunId!);
    expect(response.errors).toEqual([]);
    const run = response.data!.cancelStripeSync;
    expect(run).toMatchObject({
      id: firstRunId,
      status: 'CANCELED',
      attempts: 0,
      startedAt: null,
      finishedAt: expect.any(String),
      cancelRequestedAt: expect.any(String),
      error: null,
    });
    expect(run!.progress).toHaveLength(SYNC_OBJECT_TYPES.length);
    expect(run!.progress.every((entry) => entry.status === 'CANCELED' && entry.pages === 0)).toBe(true);
    expect(run!.summary).toMatchObject({ status: 'CANCELED', objects: 0, pages: 0, durationMs: null });
    const stored = await h.readRun(firstRunId!);
    expect(stored.events.map((event) => [event.kind, event.message])).toEqual([
      ['RUN_QUEUED', expect.stringContaining('queued (configure)')],
      ['RUN_FINISHED', 'canceled before it started'],
    ]);
    expect(stored.events.at(-1)).toMatchObject({ runStatus: 'CANCELED', summary: { status: 'CANCELED', objects: 0 } });
    for (const path of LIST_PATHS) expect(requestsTo(h, path, mark), path).toEqual([]);

    // The slot is free: a new run is queued (and canceled too, so no worker of a later test picks it up).
    const next = await h.execute(StartSync, { projectId, environment: 'TEST' });
    expect(next.errors).toEqual([]);
    expect(next.data?.startStripeSync).toMatchObject({ status: 'QUEUED', trigger: 'API' });
    expect((await cancel(h, next.data!.startStripeSync!.id)).data?.cancelStripeSync!.status).toBe('CANCELED');
  });

  it('refuses strangers, anonymous callers and unknown ids, and changes nothing', async () => {
    const { firstRunId } = await h.seededProject({ customers: 5 });
    const runId = firstRunId!;
    const before = await h.readRun(runId);
    const storedBefore = await h.app.db.prisma.stripeSyncRun.findUniqueOrThrow({ where: { id: runId } });
    const auditBefore = await h.app.db.prisma.auditEvent.count({ where: { action: 'stripe.sync.cancel' } });

    const refusals = [
      { response: await cancel(h, runId, h.app.stranger.key), code: 'NOT_FOUND' },
      { response: await cancel(h, runId, null), code: 'UNAUTHENTICATED' },
      { response: await cancel(h, '00000000-0000-4000-8000-000000000000'), code: 'NOT_FOUND' },
      { response: await cancel(h, 'not-a-run-id'), code: 'NOT_FOUND' },
    ];
    for (const { response, code } of refusals) {
      expectError(response, code);
      expect(response.data?.cancelStripeSync ?? null).toBeNull();
    }

    expect(await h.readRun(runId)).toEqual(before);
    expect(await h.app.db.prisma.stripeSyncRun.findUniqueOrThrow({ where: { id: runId } })).toEqual(storedBefore);
    expect(storedBefore).toMatchObject({ status: 'QUEUED', cancelRequestedAt: null, activeSlot: 'active', lastSequence: 1 });
    expect(await h.app.db.prisma.auditEvent.count({ where: { action: 'stripe.sync.cancel' } })).toBe(auditBefore);

    // An admin may cancel any project's run.
    const byAdmin = await cancel(h, runId, h.app.admin.key);
    expect(byAdmin.errors).toEqual([]);
    expect(byAdmin.data?.cancelStripeSync!.status).toBe('CANCELED');
    expect(await h.app.db.prisma.auditEvent.count({ where: { action: 'stripe.sync.cancel', targetId: runId, outcome: 'SUCCESS' } })).toBe(
      1,
    );
  });

  it('a run executing on another replica notices the cancel at its next heartbeat', async () => {
    const { db, keyring, config, logger, events } = h.app.services;
    const replica = new StripeSyncWorker({ db, keyring, config, logger, events });
    try {
      holdSecondCustomersPage(h);
      const mark = h.fake.requests.length;
      const { projectId, firstRunId } = await h.seededProject(COUNTS);
      replica.start();
      await waitFor(() => requestsTo(h, '/v1/customers', mark).length === 2, 'the second customers page to be requested');
      // This process does not execute it: only the database tells the replica.
      expect(h.app.services.syncWorker.active).toEqual([]);
      expect(replica.active).toEqual([firstRunId]);
      await expectCanceledMidway(h, firstRunId!, projectId, mark);
    } finally {
      await replica.stop();
    }
  });
});

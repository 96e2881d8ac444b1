import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_LEAKS, randomBody } from '../support.js';
import { ALL_COLLECTIONS, SYNC_TEST_ENV, startSyncHarness, StartSync, type SyncHarness } from './support.js';

/**
 * Stripe failing during a sync: rate limits and server errors are retried with growing delays,
 * what Stripe says not to retry (or a revoked key) fails at once, and an object type that keeps
 * failing fails alone, without a run that claims SUCCEEDED. Delays are 5-40 ms here (support.ts).
 */

const MAX_RETRIES = Number(SYNC_TEST_ENV.STRIPE_SYNC_MAX_RETRIES);
const BASE_MS = Number(SYNC_TEST_ENV.STRIPE_SYNC_RETRY_BASE_MS);
const MAX_MS = Number(SYNC_TEST_ENV.STRIPE_SYNC_RETRY_MAX_MS);
const COUNTS = { products: 10, customers: 120, invoices: 40, payment_intents: 30 };

let h: SyncHarness;
beforeAll(async () => {
  h = await startSyncHarness();
});
afterAll(() => h.close());

type Run = Awaited<ReturnType<SyncHarness['readRun']>>;

const requestsTo = (path: string, from: number) => h.fake.requests.slice(from).filter((request) => request.path === path);
const progressOf = (run: Run, type: string) => run.progress.find((entry) => entry.objectType === type);
const retryEvents = (run: Run) => run.events.filter((event) => event.kind === 'RETRY');

/** The delay each RETRY event announced ("... Retry 2 of 4 in 7 ms."). */
function announcedDelays(run: Run): number[] {
  return retryEvents(run).map((event, index) => {
    const match = /Retry (\d+) of (\d+) in (\d+) ms\.$/.exec(event.message ?? '');
    expect(match, event.message ?? '').not.toBeNull();
    expect(Number(match![1])).toBe(index + 1);
    expect(Number(match![2])).toBe(MAX_RETRIES);
    return Number(match![3]);
  });
}

/** Each delay within its equal-jitter bounds (half the window to the window), so never shorter than the one before. */
function expectBackoff(delays: number[], requestTimes: number[]) {
  delays.forEach((delay, index) => {
    const window = Math.min(MAX_MS, BASE_MS * 2 ** index);
    expect(delay, `retry ${index + 1}`).toBeGreaterThanOrEqual(Math.round(window / 2));
    expect(delay, `retry ${index + 1}`).toBeLessThanOrEqual(window);
    if (index > 0) expect(delay).toBeGreaterThanOrEqual(delays[index - 1]!);
    // Stripe really was left alone that long (timers may fire a millisecond early).
    expect(requestTimes[index + 1]! - requestTimes[index]!, `pause before retry ${index + 1}`).toBeGreaterThanOrEqual(delay - 1);
  });
}

async function expectCompleteMirror(projectId: string, accountId: string, except: string[] = []) {
  for (const collection of ALL_COLLECTIONS.filter((name) => !except.includes(name))) {
    expect(await h.storedIds(collection, projectId), collection).toEqual(h.fakeIds(accountId, collection));
  }
}

describe('retried failures', () => {
  it('backs off on 429 and completes: three rate-limited attempts, then every object stored', async () => {
    h.fake.failNext(3, { status: 429, path: /^\/v1\/customers$/ });
    const mark = h.fake.requests.length;
    const { projectId, account, firstRunId } = await h.seededProject(COUNTS);
    const run = await h.waitForRun(firstRunId!);

    expect(run).toMatchObject({ status: 'SUCCEEDED', error: null, attempts: 1 });
    expect(progressOf(run, 'CUSTOMERS')).toMatchObject({
      status: 'SUCCEEDED',
      retries: 3,
      objects: COUNTS.customers,
      pages: 3,
      error: null,
    });
    expect(run.progress.filter((entry) => entry.objectType !== 'CUSTOMERS').every((entry) => entry.retries === 0)).toBe(true);
    const retries = retryEvents(run);
    expect(retries).toHaveLength(3);
    for (const event of retries) {
      expect(event).toMatchObject({ objectType: 'CUSTOMERS', objectStatus: 'RUNNING', runStatus: 'RUNNING' });
      expect(event.message).toMatch(/^STRIPE_RATE_LIMITED \(HTTP 429\): Stripe is rate-limiting requests/);
    }
    expect(retries.map((event) => event.retries)).toEqual([1, 2, 3]);

    // (Not the walk over customers that lists payment methods and tax ids, 100 a page.)
    const customers = requestsTo('/v1/customers', mark).filter((request) => String(request.query.limit) !== '100');
    // Three pages listed, then the top one again by the verification.
    expect(customers.map((request) => request.status)).toEqual([429, 429, 429, 200, 200, 200, 200]);
    // The same first page was asked again each time, not skipped.
    expect(customers.slice(0, 4).map((request) => request.query.starting_after)).toEqual([undefined, undefined, undefined, undefined]);
    expectBackoff(
      announcedDelays(run),
      customers.slice(0, 4).map((request) => request.at),
    );
    await expectCompleteMirror(projectId, account.id);
  });

  it("Stripe's 400 with code rate_limit is retried like a 429, and the run completes", async () => {
    h.fake.rateLimitNext(2, { status: 400, path: /^\/v1\/invoices$/ });
    const mark = h.fake.requests.length;
    const { projectId, account, firstRunId } = await h.seededProject(COUNTS);
    const run = await h.waitForRun(firstRunId!);

    expect(run).toMatchObject({ status: 'SUCCEEDED', error: null });
    expect(progressOf(run, 'INVOICES')).toMatchObject({ status: 'SUCCEEDED', retries: 2, objects: COUNTS.invoices, error: null });
    // The page, then the verification's walk.
    expect(requestsTo('/v1/invoices', mark).map((request) => request.status)).toEqual([400, 400, 200, 200]);
    await expectCompleteMirror(projectId, account.id);
  });

  it('a 500 that keeps failing past STRIPE_SYNC_MAX_RETRIES fails that object type alone, and the run FAILED', async () => {
    h.fake.failNext(MAX_RETRIES + 1, { status: 500, path: /^\/v1\/invoices$/ });
    const mark = h.fake.requests.length;
    const { projectId, account, firstRunId } = await h.seededProject(COUNTS);
    const run = await h.waitForRun(firstRunId!);

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe(`1 of ${ALL_COLLECTIONS.length} object types failed: invoices`);
    const invoices = progressOf(run, 'INVOICES');
    expect(invoices).toMatchObject({ status: 'FAILED', retries: MAX_RETRIES, objects: 0, pages: 0 });
    expect(invoices?.error).toMatch(
      /^STRIPE_API_ERROR \(HTTP 500\): Stripe answered with an error\. Something went wrong on Stripe's end\.$/,
    );
    // The object types after it were still synced.
    for (const entry of run.progress.filter((progress) => progress.objectType !== 'INVOICES'))
      expect(entry, entry.objectType).toMatchObject({ status: 'SUCCEEDED', error: null });
    await expectCompleteMirror(projectId, account.id, ['invoices']);
    expect(await h.storedIds('invoices', projectId)).toEqual([]);

    const attempts = requestsTo('/v1/invoices', mark);
    expect(attempts.map((request) => request.status)).toEqual(Array(MAX_RETRIES + 1).fill(500));
    expectBackoff(
      announcedDelays(run),
      attempts.map((request) => request.at),
    );
    expect(retryEvents(run).every((event) => event.objectType === 'INVOICES')).toBe(true);
    expect(run.events.find((event) => event.kind === 'OBJECT_FAILED')).toMatchObject({
      objectType: 'INVOICES',
      objectStatus: 'FAILED',
      message: invoices?.error,
    });

    // Never reported as SUCCEEDED, not even for a moment, and the summary says what failed and why.
    expect(run.events.some((event) => event.runStatus === 'SUCCEEDED' || event.summary?.status === 'SUCCEEDED')).toBe(false);
    expect(run.summary?.status).toBe('FAILED');
    expect(run.summary?.objectTypes.filter((entry) => entry.status !== 'SUCCEEDED')).toEqual([
      {
        objectType: 'INVOICES',
        status: 'FAILED',
        pages: 0,
        objects: 0,
        retries: MAX_RETRIES,
        error: invoices?.error,
        listed: null,
        insertedByVerification: 0,
        markedDeleted: 0,
      },
    ]);
    expect(run.events.at(-1)).toMatchObject({
      kind: 'RUN_FINISHED',
      runStatus: 'FAILED',
      message: run.error,
      summary: { status: 'FAILED' },
    });
    const config = await h.readConfig(projectId);
    expect(config?.test?.lastSyncSummary).toMatchObject({ runId: run.id, status: 'FAILED' });
  });
});

describe('failures not worth a retry', () => {
  it('Stripe-Should-Retry: false on a 500 fails the object type at once, with Stripe text redacted', async () => {
    const credentialInText = `sk_live_${randomBody(16)}`;
    h.remember(credentialInText);
    h.fake.failNext(1, {
      status: 500,
      shouldRetry: false,
      path: /^\/v1\/customers$/,
      message: `Could not list customers for ${credentialInText}`,
    });
    const mark = h.fake.requests.length;
    const { projectId, account, firstRunId } = await h.seededProject(COUNTS);
    const run = await h.waitForRun(firstRunId!);

    // (The customers type's own listing: the walk for payment methods and tax ids asks 100 a page.)
    const listing = requestsTo('/v1/customers', mark).filter((request) => String(request.query.limit) !== '100');
    expect(listing.map((request) => request.status)).toEqual([500]);
    expect(retryEvents(run)).toEqual([]);
    const customers = progressOf(run, 'CUSTOMERS');
    expect(customers).toMatchObject({ status: 'FAILED', retries: 0, objects: 0 });
    expect(customers?.error).toBe(
      `STRIPE_API_ERROR (HTTP 500): Stripe answered with an error. Could not list customers for sk_live_...${credentialInText.slice(-4)}`,
    );
    expect(run).toMatchObject({ status: 'FAILED', error: `1 of ${ALL_COLLECTIONS.length} object types failed: customers` });
    for (const entry of run.progress.filter((progress) => progress.objectType !== 'CUSTOMERS'))
      expect(entry, entry.objectType).toMatchObject({ status: 'SUCCEEDED' });
    await expectCompleteMirror(projectId, account.id, ['customers']);
    expect(await h.leaks()).toEqual(NO_LEAKS);
  });

  it('a revoked key fails every object type with INVALID_API_KEY after one request, without retrying, and shows no key', async () => {
    const { projectId, key, firstRunId } = await h.seededProject({ customers: 5, products: 2 });
    expect((await h.waitForRun(firstRunId!)).status).toBe('SUCCEEDED');
    h.fake.revokeKey(key);
    const mark = h.fake.requests.length;

    const started = await h.execute(StartSync, { projectId, environment: 'TEST' });
    expect(started.errors).toEqual([]);
    const run = await h.waitForRun(started.data!.startStripeSync!.id);

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe(`${ALL_COLLECTIONS.length} of ${ALL_COLLECTIONS.length} object types failed: ${ALL_COLLECTIONS.join(', ')}`);
    for (const entry of run.progress) {
      expect(entry, entry.objectType).toMatchObject({ status: 'FAILED', retries: 0, objects: 0 });
      expect(entry.error).toBe(
        'INVALID_API_KEY (HTTP 401): Stripe rejected the key: it is not a valid API key (mistyped, rolled or deleted).',
      );
    }
    expect(retryEvents(run)).toEqual([]);
    // The first list answered 401 once; Stripe was not asked again for the other types.
    expect(h.fake.requests.slice(mark).map((request) => [request.path, request.status])).toEqual([['/v1/products', 401]]);
    // What was stored by the first run stays.
    expect(await h.storedIds('customers', projectId)).toHaveLength(5);

    const text = JSON.stringify(run);
    expect(text).not.toContain(key);
    expect(text).not.toMatch(/sk_test_/);
    expect(await h.leaks()).toEqual(NO_LEAKS);
  });
});

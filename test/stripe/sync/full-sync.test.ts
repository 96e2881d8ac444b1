import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../../src/generated/graphql/index.js';
import { generatedItem, generatedItems } from '../../support/fake-stripe.js';
import { NO_LEAKS } from '../support.js';
import { ALL_COLLECTIONS, StartSync, startSyncHarness, type SyncHarness } from './support.js';

const SubscriptionItemsQuery = graphql(`
  query FullSyncSubscriptionItems($projectId: ID!) {
    stripeSubscriptions(projectId: $projectId, environment: TEST, first: 10) { edges { node { id items { id priceId quantity } } } }
  }
`);

let h: SyncHarness;
beforeAll(async () => {
  h = await startSyncHarness();
});
afterAll(() => h.close());

const LISTED_PER_CUSTOMER = new Set<string>(['payment_methods', 'tax_ids']);

describe('a full sync', () => {
  it('starts on its own after the first configureStripe and mirrors every object type completely', async () => {
    const counts = {
      products: 120,
      prices: 130,
      customers: 1234,
      subscriptions: 260,
      invoices: 333,
      payment_intents: 210,
      charges: 199,
      refunds: 51,
      checkout_sessions: 55,
      setup_intents: 12,
      payment_methods: 30,
      disputes: 7,
      credit_notes: 9,
      coupons: 11,
      promotion_codes: 13,
      tax_ids: 6,
      subscription_schedules: 8,
      balance_transactions: 120,
    };
    const { projectId, account, firstRunId } = await h.seededProject(counts);
    expect(firstRunId).toEqual(expect.any(String));

    const run = await h.waitForRun(firstRunId!, { timeoutMs: 80_000 });
    expect(run).toMatchObject({ status: 'SUCCEEDED', trigger: 'CONFIGURE', accountId: account.id, error: null, attempts: 1 });
    const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
    expect(run.summary).toMatchObject({ status: 'SUCCEEDED', objects: total });
    for (const collection of ALL_COLLECTIONS) {
      const progress = run.progress.find((entry) => entry.objectType === collection.toUpperCase());
      expect(progress, collection).toMatchObject({
        status: 'SUCCEEDED',
        objects: counts[collection],
        total: counts[collection],
        // Payment methods and tax ids are listed per customer: a page per 100 customers.
        pages: Math.max(1, Math.ceil(LISTED_PER_CUSTOMER.has(collection) ? counts.customers / 100 : counts[collection] / 50)),
      });
      expect(await h.storedIds(collection, projectId), collection).toEqual(h.fakeIds(account.id, collection));
    }

    // Contents, not only ids: typed columns come from the objects Stripe sent.
    const seededCustomers = h.fake.seed(account.id, 'test', 'customers', 0);
    const customer = seededCustomers.at(7);
    const stored = await h.app.db.prisma.stripeCustomer.findUniqueOrThrow({
      where: { projectId_environment_stripeId: { projectId, environment: 'TEST', stripeId: customer.id } },
    });
    expect(stored).toMatchObject({
      email: customer.email,
      name: customer.name,
      created: new Date(customer.created * 1000),
      deleted: false,
      data: customer,
    });
    const subscription = h.fake.seed(account.id, 'test', 'subscriptions', 0).at(3);
    const storedSubscription = await h.app.db.prisma.stripeSubscription.findUniqueOrThrow({
      where: { projectId_environment_stripeId: { projectId, environment: 'TEST', stripeId: subscription.id } },
    });
    expect(storedSubscription).toMatchObject({ customerId: subscription.customer, status: 'active' });
    const items = await h.app.db.prisma.stripeSubscriptionItem.findMany({ where: { projectId, subscriptionId: subscription.id } });
    const expectedItem = (subscription.items as { data: Array<{ id: string; quantity: number; price: { id: string; product: string } }> })
      .data[0]!;
    expect(items).toEqual([
      expect.objectContaining({
        stripeId: expectedItem.id,
        priceId: expectedItem.price.id,
        productId: expectedItem.price.product,
        quantity: expectedItem.quantity,
      }),
    ]);

    // The environment shows the summary, and no sync is due any more.
    const config = await h.readConfig(projectId);
    expect(config?.test).toMatchObject({
      syncDue: false,
      lastSyncSummary: expect.objectContaining({ runId: run.id, status: 'SUCCEEDED', objects: total }),
    });
    expect(await h.leaks()).toEqual(NO_LEAKS);
  }, 90_000);

  it('asks Stripe for every subscription, canceled ones included, 50 per page as configured', async () => {
    const { firstRunId } = await h.seededProject({ subscriptions: 120 });
    await h.waitForRun(firstRunId!);
    const listed = h.fake.requests.filter((request) => request.path === '/v1/subscriptions');
    // Pages of the listing, and the verification's look at the top of the list (10 are enough there).
    const pages = listed.filter((request) => request.query.limit === '50');
    const tops = listed.filter((request) => request.query.limit !== '50');
    expect(pages.length).toBeGreaterThanOrEqual(3);
    for (const request of pages) expect(request.query).toMatchObject({ status: 'all' });
    expect(tops.length).toBeGreaterThanOrEqual(1);
    for (const request of tops) expect(request.query).toEqual({ status: 'all', limit: '10' });
  });

  it('events of a run are stored in order, without gaps, from RUN_QUEUED to RUN_FINISHED with the summary', async () => {
    const { firstRunId } = await h.seededProject({ customers: 160, products: 3 });
    const run = await h.waitForRun(firstRunId!);
    const kinds = run.events.map((event) => event.kind);
    expect(run.events.map((event) => event.sequence)).toEqual(run.events.map((_, index) => index + 1));
    expect(kinds[0]).toBe('RUN_QUEUED');
    expect(kinds[1]).toBe('RUN_STARTED');
    expect(kinds.at(-1)).toBe('RUN_FINISHED');
    expect(run.events.at(-1)).toMatchObject({ runStatus: 'SUCCEEDED', summary: { status: 'SUCCEEDED', objects: 163 } });
    const customerPages = run.events.filter((event) => event.kind === 'PAGE' && event.objectType === 'CUSTOMERS');
    expect(customerPages.map((event) => event.objects)).toEqual([50, 100, 150, 160]);
  });
});

describe('subscriptions with more items than Stripe sends inline', () => {
  it('fetches the rest from /v1/subscription_items (with the same retries) and stores every item', async () => {
    const account = h.account('Many Items Ltd');
    h.fake.seed(account.id, 'test', 'subscriptions', 3, (index, base) => ({ items: generatedItems(base.id, index === 1 ? 27 : 2) }));
    const subscriptions = h.fake.seed(account.id, 'test', 'subscriptions', 0);
    const big = subscriptions.at(1);
    expect((big.items as { data: unknown[]; has_more: boolean }).data).toHaveLength(10);
    h.fake.failNext(1, { status: 429, path: /subscription_items/ });

    const project = await h.project();
    const configured = await h.configure(project.id, { testSecretKey: h.key(account.id) });
    const run = await h.waitForRun(configured.data!.configureStripe!.results[0]!.syncRunId!);
    expect(run.status).toBe('SUCCEEDED');
    expect(run.progress.find((entry) => entry.objectType === 'SUBSCRIPTIONS')).toMatchObject({
      status: 'SUCCEEDED',
      objects: 3,
      retries: 1,
    });

    const items = await h.app.db.prisma.stripeSubscriptionItem.findMany({
      where: { projectId: project.id, subscriptionId: big.id },
      orderBy: { stripeId: 'asc' },
    });
    const expected = Array.from({ length: 27 }, (_, k) => generatedItem(big.id, k));
    expect(items.map((item) => [item.stripeId, item.priceId, item.productId, item.quantity])).toEqual(
      expected.map((item) => [item.id, item.price.id, item.price.product, item.quantity]),
    );
    const itemRequests = h.fake.requests.filter((request) => request.path === '/v1/subscription_items' && request.status === 200);
    expect(itemRequests.map((request) => request.query)).toEqual([
      expect.objectContaining({ subscription: big.id, starting_after: expected[9]!.id }),
    ]);
    const response = await h.execute(SubscriptionItemsQuery, { projectId: project.id });
    const node = response.data?.stripeSubscriptions.edges.map((edge) => edge.node).find((entry) => entry.id === big.id);
    expect(node?.items).toHaveLength(27);
  });
});

describe('customers with more tax ids than Stripe expands inline', () => {
  it('come with the customers (expanded), and only past the first 10 is a customer asked for the rest', async () => {
    // 25 tax ids over 2 customers: 13 and 12, so each has 3 or 2 beyond Stripe's inline 10.
    const mark = h.fake.requests.length;
    const { projectId, account, firstRunId } = await h.seededProject({ customers: 2, tax_ids: 25 });
    const run = await h.waitForRun(firstRunId!);
    expect(run.status).toBe('SUCCEEDED');
    expect(await h.storedIds('tax_ids', projectId)).toEqual(h.fakeIds(account.id, 'tax_ids'));
    const customers = h.fakeIds(account.id, 'customers');
    const rest = h.fake.requests.slice(mark).filter((request) => /^\/v1\/customers\/[^/]+\/tax_ids$/.test(request.path));
    expect(rest.map((request) => request.path).sort()).toEqual(customers.map((id) => `/v1/customers/${id}/tax_ids`).sort());
    for (const request of rest) expect(request.query.starting_after).toEqual(expect.stringMatching(/^txi_/));
  });
});

describe('object types in parallel lanes', () => {
  let parallel: SyncHarness;
  beforeAll(async () => {
    parallel = await startSyncHarness({ env: { STRIPE_SYNC_PARALLEL_OBJECTS: '4' } });
  });
  afterAll(() => parallel.close());

  it('four lanes store exactly what one lane does, with gapless events and each type paged in order', async () => {
    const counts = {
      products: 140,
      prices: 90,
      customers: 420,
      subscriptions: 75,
      invoices: 260,
      payment_intents: 55,
      charges: 130,
      refunds: 20,
      checkout_sessions: 60,
      setup_intents: 10,
      payment_methods: 25,
      disputes: 5,
      credit_notes: 12,
      coupons: 9,
      promotion_codes: 14,
      tax_ids: 4,
      subscription_schedules: 6,
      balance_transactions: 75,
    };
    const { projectId, account, firstRunId } = await parallel.seededProject(counts);
    const run = await parallel.waitForRun(firstRunId!);
    expect(run).toMatchObject({ status: 'SUCCEEDED', summary: { objects: Object.values(counts).reduce((sum, n) => sum + n, 0) } });
    for (const collection of ALL_COLLECTIONS) {
      expect(await parallel.storedIds(collection, projectId), collection).toEqual(parallel.fakeIds(account.id, collection));
    }
    expect(run.events.map((event) => event.sequence)).toEqual(run.events.map((_, index) => index + 1));
    // Lanes overlap: some type started before an earlier one completed.
    const kinds = run.events.map((event) => `${event.kind}:${event.objectType ?? ''}`);
    expect(kinds.indexOf('OBJECT_STARTED:PRICES')).toBeLessThan(kinds.indexOf('OBJECT_COMPLETED:PRODUCTS'));
    for (const collection of ALL_COLLECTIONS) {
      const pages = run.events
        .filter((event) => event.kind === 'PAGE' && event.objectType === collection.toUpperCase())
        .map((event) => event.objects);
      if (LISTED_PER_CUSTOMER.has(collection)) {
        // A page per 100 customers, each holding what those customers have.
        expect(pages, collection).toHaveLength(Math.ceil(counts.customers / 100));
        expect(pages, collection).toEqual(pages.toSorted((a, b) => a - b));
        expect(pages.at(-1), collection).toBe(counts[collection]);
      } else expect(pages, collection).toEqual(pages.map((_, index) => Math.min((index + 1) * 50, counts[collection])));
    }
    // The walks over customers are not walked again to verify them: each customer is asked for its
    // payment methods once, and the customers (with their tax ids) once per walk page.
    const paymentMethodCalls = parallel.fake.requests.filter((request) => /^\/v1\/customers\/[^/]+\/payment_methods$/.test(request.path));
    expect(paymentMethodCalls).toHaveLength(counts.customers);
    expect(new Set(paymentMethodCalls.map((request) => request.path)).size).toBe(counts.customers);
    const taxIdWalk = parallel.fake.requests.filter(
      (request) => request.path === '/v1/customers' && JSON.stringify(request.query.expand ?? []).includes('data.tax_ids'),
    );
    expect(taxIdWalk).toHaveLength(Math.ceil(counts.customers / 100));
    // Within each type, every page asked for the one after the page before it; then the
    // verification asked the top page again (objects created while the listing ran).
    const customerCursors = parallel.fake.requests
      // (100 a page: the walk of payment methods and tax ids over the customers)
      .filter((request) => request.path === '/v1/customers' && String(request.query.limit) !== '100')
      .map((request) => request.query.starting_after ?? null);
    const listing = customerCursors.slice(0, -1);
    expect(listing).toHaveLength(Math.ceil(counts.customers / 50));
    expect(listing[0]).toBeNull();
    expect(new Set(listing).size).toBe(listing.length);
    expect(customerCursors.at(-1)).toBeNull();
  });

  it('a rejected key stops every lane: all eight types FAILED, no list asked twice, at most one request per lane', async () => {
    const { projectId, key, firstRunId } = await parallel.seededProject({ customers: 30 });
    expect((await parallel.waitForRun(firstRunId!)).status).toBe('SUCCEEDED');
    parallel.fake.revokeKey(key);
    const mark = parallel.fake.requests.length;
    const started = await parallel.execute(StartSync, { projectId, environment: 'TEST' });
    const run = await parallel.waitForRun(started.data!.startStripeSync!.id);
    expect(run.status).toBe('FAILED');
    for (const entry of run.progress) expect(entry.error, entry.objectType).toMatch(/^INVALID_API_KEY \(HTTP 401\)/);
    const asked = parallel.fake.requests.slice(mark).map((request) => request.path);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.length).toBeLessThanOrEqual(4);
    expect(new Set(asked).size).toBe(asked.length);
  });
});

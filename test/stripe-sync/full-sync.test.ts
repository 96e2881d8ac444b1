import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_LEAKS } from '../stripe/support.js';
import { ALL_COLLECTIONS, startSyncHarness, TABLE_OF, type SyncHarness } from './support.js';

let h: SyncHarness;
beforeAll(async () => {
  h = await startSyncHarness();
});
afterAll(() => h.close());

describe('a full sync', () => {
  it('starts on its own after the first configureStripe and mirrors every object type completely', async () => {
    const counts = { products: 120, prices: 130, customers: 1234, subscriptions: 260, invoices: 333, payment_intents: 210, charges: 199, refunds: 51 };
    const { projectId, account, firstRunId } = await h.seededProject(counts);
    expect(firstRunId).toEqual(expect.any(String));

    const run = await h.waitForRun(firstRunId!);
    expect(run).toMatchObject({ status: 'SUCCEEDED', trigger: 'CONFIGURE', accountId: account.id, error: null, attempts: 1 });
    const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
    expect(run.summary).toMatchObject({ status: 'SUCCEEDED', objects: total });
    for (const collection of ALL_COLLECTIONS) {
      const progress = run.progress.find((entry) => entry.objectType === collection.toUpperCase());
      expect(progress, collection).toMatchObject({ status: 'SUCCEEDED', objects: counts[collection], total: counts[collection], pages: Math.max(1, Math.ceil(counts[collection] / 50)) });
      expect(await h.storedIds(TABLE_OF[collection], projectId), collection).toEqual(h.fakeIds(account.id, collection));
    }

    // Contents, not only ids: typed columns come from the objects Stripe sent.
    const seededCustomers = h.fake.seed(account.id, 'test', 'customers', 0);
    const customer = seededCustomers.at(7);
    const stored = await h.app.db.prisma.stripeCustomer.findUniqueOrThrow({ where: { projectId_environment_stripeId: { projectId, environment: 'TEST', stripeId: customer.id } } });
    expect(stored).toMatchObject({ email: customer.email, name: customer.name, created: new Date(customer.created * 1000), deleted: false, data: customer });
    const subscription = h.fake.seed(account.id, 'test', 'subscriptions', 0).at(3);
    const storedSubscription = await h.app.db.prisma.stripeSubscription.findUniqueOrThrow({ where: { projectId_environment_stripeId: { projectId, environment: 'TEST', stripeId: subscription.id } } });
    expect(storedSubscription).toMatchObject({ customerId: subscription.customer, status: 'active' });
    const items = await h.app.db.prisma.stripeSubscriptionItem.findMany({ where: { projectId, subscriptionId: subscription.id } });
    const expectedItem = (subscription.items as { data: Array<{ id: string; quantity: number; price: { id: string; product: string } }> }).data[0]!;
    expect(items).toEqual([expect.objectContaining({ stripeId: expectedItem.id, priceId: expectedItem.price.id, productId: expectedItem.price.product, quantity: expectedItem.quantity })]);

    // The environment shows the summary, and no sync is due any more.
    const config = await h.readConfig(projectId);
    expect(config?.test).toMatchObject({ syncDue: false, lastSyncSummary: expect.objectContaining({ runId: run.id, status: 'SUCCEEDED', objects: total }) });
    expect(await h.leaks()).toEqual(NO_LEAKS);
  });

  it('asks Stripe for every subscription, canceled ones included, 50 per page as configured', async () => {
    const { firstRunId } = await h.seededProject({ subscriptions: 120 });
    await h.waitForRun(firstRunId!);
    const listed = h.fake.requests.filter((request) => request.path === '/v1/subscriptions');
    expect(listed.length).toBeGreaterThanOrEqual(3);
    for (const request of listed) expect(request.query).toMatchObject({ status: 'all', limit: '50' });
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

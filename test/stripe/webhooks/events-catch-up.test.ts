import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk } from '../../support/assertions.js';
import { ListSyncRuns, startSyncHarness, type SyncHarness } from '../sync/support.js';

/**
 * Between runs, a scheduled catch-up (STRIPE_EVENTS_CATCHUP_SECONDS) reads Stripe's /v1/events
 * from the last event applied and applies what the webhook missed. The fake here never delivers a
 * webhook: every change reaches Coffer only through the catch-up, as in a webhook outage.
 */

let h: SyncHarness;
beforeAll(async () => {
  h = await startSyncHarness({ env: { STRIPE_EVENTS_CATCHUP_SECONDS: '0.5' } });
});
afterAll(() => h.close());

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the events catch-up', () => {
  it('applies the events a webhook outage missed, through the webhook path, each once', async () => {
    const { projectId, account, firstRunId } = await h.seededProject({ customers: 5, products: 3 });
    expect((await h.waitForRun(firstRunId!)).status).toBe('SUCCEEDED');
    const store = h.fake.store(account.id);
    const customers = h.fake.seed(account.id, 'test', 'customers', 0);
    const products = h.fake.seed(account.id, 'test', 'products', 0);
    store.update('customers', customers.idAt(2), { name: 'Renamed During Outage' });
    const created = store.create('customers', { email: 'new@example.com', name: 'Joined During Outage' });
    store.delete('products', products.idAt(0));
    const missed = h.fake.events(account.id).map((event) => event.id);
    expect(missed).toHaveLength(3);

    // The scheduled job brings them in.
    await until('the missed events to be applied', async () => {
      const count = await h.app.db.prisma.stripeWebhookEvent.count({ where: { projectId, eventId: { in: missed } } });
      return count === 3 ? true : undefined;
    });
    const customer = (id: string) => h.app.db.prisma.stripeCustomer.findFirst({ where: { projectId, stripeId: id } });
    expect(await customer(customers.idAt(2))).toMatchObject({ name: 'Renamed During Outage', deleted: false });
    expect(await customer(created.id)).toMatchObject({ name: 'Joined During Outage', deleted: false });
    expect(await h.app.db.prisma.stripeProduct.findFirst({ where: { projectId, stripeId: products.idAt(0) } })).toMatchObject({
      deleted: true,
    });
    // Asked from the last applied point on, by `created`.
    const asked = h.fake.requests.filter((request) => request.path === '/v1/events');
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.at(-1)!.query).toMatchObject({ created: { gte: expect.any(String) } });

    // Later rounds find them applied already: nothing is applied twice.
    const appliedLines = () => h.app.logs.filter((line) => line.includes('applied missed events') && line.includes(projectId)).length;
    const before = appliedLines();
    await h.app.services.syncWorker.catchUpNow();
    await h.app.services.syncWorker.catchUpNow();
    expect(appliedLines()).toBe(before);
    expect(await h.app.db.prisma.stripeWebhookEvent.count({ where: { projectId } })).toBe(3);
  });

  it('after more than Stripe keeps events (30 days), queues a full sync with its verification instead', async () => {
    const { projectId, account, firstRunId } = await h.seededProject({ customers: 4 });
    expect((await h.waitForRun(firstRunId!)).status).toBe('SUCCEEDED');
    const longAgo = new Date(Date.now() - 31 * 24 * 3600 * 1000);
    await h.app.db.prisma.stripeSyncRun.updateMany({ where: { projectId }, data: { startedAt: longAgo } });
    // Deleted during the outage, so long ago that Stripe no longer lists its event: only a full sync
    // can find it. (With a fresh event, a catch-up round already under way could apply it first.)
    h.fake.store(account.id).delete('customers', h.fake.seed(account.id, 'test', 'customers', 0).idAt(1), {
      eventCreated: Math.floor(longAgo.getTime() / 1000) + 60,
    });

    const runs = async () =>
      expectOk(await h.execute(ListSyncRuns, { projectId, environment: 'TEST', first: 10 })).stripeSyncRuns.edges.map((edge) => edge.node);
    // Generous: the catch-up job runs on its own schedule, and CI machines are busy.
    const queued = await until('a CATCH_UP run', async () => (await runs()).find((run) => run.trigger === 'CATCH_UP'), 60_000);
    const run = await h.waitForRun(queued.id);
    expect(run.status).toBe('SUCCEEDED');
    expect(run.summary!.objectTypes.find((entry) => entry.objectType === 'CUSTOMERS')).toMatchObject({ markedDeleted: 1 });
  }, 120_000);
});

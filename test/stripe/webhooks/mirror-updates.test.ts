import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedItems, type StripeObject } from '../../support/fake-stripe.js';
import { NO_LEAKS } from '../support.js';
import { startSyncHarness, SYNC_TEST_ENV, type SyncHarness } from '../sync/support.js';

/**
 * Webhook events and the sync write the same rows. Each row remembers when its data was current
 * at Stripe (`changedAt`): the event's `created` for a webhook, the second the sync asked for the
 * page for the sync. Whatever arrives last, the newer data stays.
 *
 * Two clocks are involved: the sync stamps pages with the real wall clock (Date.now()), so event
 * times here are real wall-clock seconds too; the webhook signature is checked against the app's
 * TestClock, which `sendWebhook` signs with by default.
 */

let h: SyncHarness;
beforeAll(async () => {
  h = await startSyncHarness();
});
afterAll(() => h.close());

const wallSeconds = () => Math.floor(Date.now() / 1000);
const key = (projectId: string, stripeId: string) => ({
  projectId_environment_stripeId: { projectId, environment: 'TEST' as const, stripeId },
});
const customerRow = (projectId: string, stripeId: string) =>
  h.app.db.prisma.stripeCustomer.findUniqueOrThrow({ where: key(projectId, stripeId) });
const recordedEventIds = async (projectId: string) =>
  (await h.app.db.prisma.stripeWebhookEvent.findMany({ where: { projectId } })).map((event) => event.eventId).sort();
/** The outcome Coffer logged for a webhook event: 'applied', 'stale' or 'duplicate'. */
const outcomeOf = (eventId: string) =>
  h.app.logs
    .map((line) => JSON.parse(line) as { eventId?: string; outcome?: string })
    .find((entry) => entry.eventId === eventId && entry.outcome)?.outcome;

async function send(
  projectId: string,
  secret: string,
  event: { id: string; type: string; created: number; object: Record<string, unknown> },
) {
  const response = await h.sendWebhook(projectId, h.eventPayload(event), { secret });
  expect(response).toEqual({ status: 200, json: { received: true, duplicate: false } });
}

async function webhookSecret(projectId: string) {
  const secret = await h.storedWebhookSecret(projectId);
  if (!secret) throw new Error('no webhook secret stored');
  return secret;
}

/** Polls until `condition` holds (fails after `timeoutMs`). */
async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('webhook events during a sync run', () => {
  it('an event newer than a page the sync fetched survives that page; an older one is overwritten by it; one older than the synced data is recorded, not applied', async () => {
    // 120 customers: pages of 50 (indexes 119..70), 50 and 20. The first page is answered 4 s late.
    h.fake.delayNext(1, 4000, { path: /^\/v1\/customers$/ });
    const runStartedBy = wallSeconds();
    const { projectId, account, firstRunId } = await h.seededProject({ customers: 120 });
    const secret = await webhookSecret(projectId);
    const customers = h.fake.seed(account.id, 'test', 'customers', 0);
    const renamed: StripeObject = { ...customers.at(100), name: 'Renamed By Webhook', email: 'renamed@example.com' };
    const earlier: StripeObject = { ...customers.at(90), name: 'Stale Name', email: 'stale@example.com' };

    // The sync has asked for the first page (its rows will be stamped with that second) and waits.
    const held = await until('the held customers page', () =>
      h.fake.requests.find((request) => request.path === '/v1/customers' && request.status === 0),
    );
    const heldSecond = Math.floor(held.at / 1000);
    // An event of a later second, delivered while the page is in flight.
    await until('the next wall-clock second', () => (wallSeconds() > heldSecond ? true : undefined));
    const newer = wallSeconds();
    await send(projectId, secret, { id: 'evt_during_newer', type: 'customer.updated', created: newer, object: renamed });
    // An event from before the run, delivered late while the page is in flight: stored for now.
    await send(projectId, secret, { id: 'evt_during_older', type: 'customer.updated', created: runStartedBy - 60, object: earlier });
    expect(await customerRow(projectId, earlier.id)).toMatchObject({ name: 'Stale Name' });
    expect(held.status).toBe(0); // both events were applied before the page came back

    const run = await h.waitForRun(firstRunId!);
    expect(run).toMatchObject({ status: 'SUCCEEDED' });
    expect(run.progress.find((entry) => entry.objectType === 'CUSTOMERS')).toMatchObject({ status: 'SUCCEEDED', objects: 120, pages: 3 });

    // The newer event's data is kept: the page, fetched earlier, did not overwrite it.
    expect(await customerRow(projectId, renamed.id)).toMatchObject({
      name: 'Renamed By Webhook',
      email: 'renamed@example.com',
      data: renamed,
      changedAt: new Date(newer * 1000),
    });
    // The rest of that page was written, stamped with the second it was asked for (older than the event).
    const neighbour = await customerRow(projectId, customers.idAt(119));
    expect(neighbour).toMatchObject({ name: customers.at(119).name, data: customers.at(119) });
    expect(neighbour.changedAt.getTime()).toBeLessThan(newer * 1000);
    expect(neighbour.changedAt.getTime()).toBeGreaterThanOrEqual(runStartedBy * 1000);
    // The event older than the page was overwritten by the page's data.
    expect(await customerRow(projectId, earlier.id)).toMatchObject({
      name: customers.at(90).name,
      email: customers.at(90).email,
      data: customers.at(90),
      changedAt: neighbour.changedAt,
    });
    expect(await h.storedIds('customers', projectId)).toEqual(h.fakeIds(account.id, 'customers'));

    // After the run: an event created before the run started arrives (a Stripe retry, say).
    const synced = await customerRow(projectId, customers.idAt(10));
    const late: StripeObject = { ...customers.at(10), name: 'Too Late', email: 'late@example.com' };
    await send(projectId, secret, { id: 'evt_after_older', type: 'customer.updated', created: runStartedBy - 30, object: late });
    expect(await customerRow(projectId, late.id)).toEqual(synced);
    expect(await recordedEventIds(projectId)).toEqual(['evt_after_older', 'evt_during_newer', 'evt_during_older']);
    expect(outcomeOf('evt_after_older')).toBe('stale');
  });
});

describe('webhook events after a sync run', () => {
  async function syncedProject() {
    const seeded = await h.seededProject({ products: 4, prices: 4, customers: 4, subscriptions: 4 });
    const run = await h.waitForRun(seeded.firstRunId!);
    expect(run.status).toBe('SUCCEEDED');
    return { ...seeded, secret: await webhookSecret(seeded.projectId) };
  }

  it('a newer customer.updated replaces the synced customer', async () => {
    const { projectId, account, secret } = await syncedProject();
    const customer = h.fake.seed(account.id, 'test', 'customers', 0).at(2);
    const synced = await customerRow(projectId, customer.id);
    // The sync's page was asked for at this second or before. A tie is settled by retrieving the
    // customer from Stripe, which has this very state: the outcome is the same either way.
    const created = wallSeconds();
    const updated = h.fake
      .store(account.id)
      .update('customers', customer.id, { name: 'New Name', email: 'new@example.com', metadata: { tier: 'gold' } }, { events: [] });

    await send(projectId, secret, { id: 'evt_customer_newer', type: 'customer.updated', created, object: updated });
    expect(await customerRow(projectId, customer.id)).toMatchObject({
      name: 'New Name',
      email: 'new@example.com',
      data: updated,
      created: synced.created,
      deleted: false,
    });
    expect((await customerRow(projectId, customer.id)).changedAt.getTime()).toBeGreaterThanOrEqual(created * 1000);
    // The other customers are untouched.
    const other = h.fake.seed(account.id, 'test', 'customers', 0).at(1);
    expect(await customerRow(projectId, other.id)).toMatchObject({ name: other.name, data: other });
  });

  it('customer.subscription.updated updates the status and replaces the subscription items', async () => {
    const { projectId, account, secret } = await syncedProject();
    const subscriptions = h.fake.seed(account.id, 'test', 'subscriptions', 0);
    const prices = h.fake.seed(account.id, 'test', 'prices', 0);
    const products = h.fake.seed(account.id, 'test', 'products', 0);
    const subscription = subscriptions.at(1);
    const other = subscriptions.at(2);
    const oldItem = (subscription.items as { data: Array<{ id: string }> }).data[0]!;
    const itemsOf = (subscriptionId: string) =>
      h.app.db.prisma.stripeSubscriptionItem.findMany({
        where: { projectId, environment: 'TEST', subscriptionId },
        orderBy: { stripeId: 'asc' },
      });
    expect((await itemsOf(subscription.id)).map((item) => item.stripeId)).toEqual([oldItem.id]);
    const otherItems = await itemsOf(other.id);

    const created = wallSeconds() + 1; // newer than the synced page: no tie to settle
    const periodEnd = created + 30 * 86_400;
    const newItems = [
      {
        id: 'si_webhook_a',
        object: 'subscription_item',
        created,
        quantity: 3,
        current_period_end: periodEnd,
        price: { id: prices.idAt(3), object: 'price', product: products.idAt(3) },
      },
      {
        id: 'si_webhook_b',
        object: 'subscription_item',
        created,
        quantity: 1,
        current_period_end: periodEnd,
        price: { id: prices.idAt(0), object: 'price', product: products.idAt(0) },
      },
    ];
    const updated = {
      ...subscription,
      status: 'past_due',
      cancel_at_period_end: true,
      items: { object: 'list', data: newItems, has_more: false, url: '/v1/subscription_items' },
    };
    await send(projectId, secret, { id: 'evt_subscription_updated', type: 'customer.subscription.updated', created, object: updated });

    expect(await h.app.db.prisma.stripeSubscription.findUniqueOrThrow({ where: key(projectId, subscription.id) })).toMatchObject({
      status: 'past_due',
      cancelAtPeriodEnd: true,
      currentPeriodEnd: new Date(periodEnd * 1000),
      customerId: subscription.customer,
      deleted: false,
      changedAt: new Date(created * 1000),
    });
    // The old item is gone; the two new ones are there, with their prices and products.
    expect(await itemsOf(subscription.id)).toEqual([
      expect.objectContaining({ stripeId: 'si_webhook_a', priceId: prices.idAt(3), productId: products.idAt(3), quantity: 3 }),
      expect.objectContaining({ stripeId: 'si_webhook_b', priceId: prices.idAt(0), productId: products.idAt(0), quantity: 1 }),
    ]);
    expect(await h.app.db.prisma.stripeSubscriptionItem.count({ where: { projectId, stripeId: oldItem.id } })).toBe(0);
    // Another subscription's items are untouched.
    expect(await itemsOf(other.id)).toEqual(otherItems);
  });

  it("a subscription's current period ends with the earliest of its items' periods", async () => {
    const { projectId, account, secret } = await syncedProject();
    const subscription = h.fake.seed(account.id, 'test', 'subscriptions', 0).at(0);
    const created = wallSeconds() + 2;
    const item = (id: string, periodEnd: number) => ({
      id,
      object: 'subscription_item',
      created,
      quantity: 1,
      current_period_end: periodEnd,
    });
    const [later, earliest, middle] = [created + 40 * 86_400, created + 10 * 86_400, created + 20 * 86_400];
    const items = { object: 'list', data: [item('si_p1', later), item('si_p2', earliest), item('si_p3', middle)], has_more: false };
    await send(projectId, secret, {
      id: 'evt_periods',
      type: 'customer.subscription.updated',
      created,
      object: { ...subscription, items },
    });
    const stored = await h.app.db.prisma.stripeSubscription.findUniqueOrThrow({ where: key(projectId, subscription.id) });
    expect(stored.currentPeriodEnd).toEqual(new Date(earliest * 1000));
  });

  it('customer.subscription.deleted is a cancellation: status canceled, not flagged deleted', async () => {
    const { projectId, account, secret } = await syncedProject();
    const subscription = h.fake.seed(account.id, 'test', 'subscriptions', 0).at(0);
    const created = wallSeconds() + 1; // newer than the synced page: no tie to settle
    const canceled = { ...subscription, status: 'canceled', canceled_at: created };
    await send(projectId, secret, { id: 'evt_subscription_deleted', type: 'customer.subscription.deleted', created, object: canceled });
    expect(await h.app.db.prisma.stripeSubscription.findUniqueOrThrow({ where: key(projectId, subscription.id) })).toMatchObject({
      status: 'canceled',
      deleted: false,
      data: canceled,
    });
  });

  it('product.deleted flags the product deleted and keeps its last data', async () => {
    const { projectId, account, secret } = await syncedProject();
    const product = h.fake.seed(account.id, 'test', 'products', 0).at(1);
    const created = wallSeconds();
    h.fake.store(account.id).delete('products', product.id, { events: [] }); // a tie is settled by Stripe: gone
    await send(projectId, secret, { id: 'evt_product_deleted', type: 'product.deleted', created, object: { ...product, active: false } });
    const row = await h.app.db.prisma.stripeProduct.findUniqueOrThrow({ where: key(projectId, product.id) });
    expect(row).toMatchObject({
      deleted: true,
      active: false,
      name: product.name,
      data: { ...product, active: false, deleted: true },
    });
    expect(row.changedAt.getTime()).toBeGreaterThanOrEqual(created * 1000);
    // The other products are not.
    expect(await h.app.db.prisma.stripeProduct.count({ where: { projectId, deleted: true } })).toBe(1);
    expect(await h.app.db.prisma.stripeProduct.count({ where: { projectId } })).toBe(4);
  });
});

it('leak canary: no full credential used in this file leaked', async () => {
  expect(await h.leaks()).toEqual(NO_LEAKS);
});

describe('a subscription event whose inline item list Stripe cut short (has_more)', () => {
  const itemIds = async (projectId: string, subscriptionId: string) =>
    (await h.app.db.prisma.stripeSubscriptionItem.findMany({ where: { projectId, subscriptionId }, orderBy: { stripeId: 'asc' } })).map(
      (item) => item.stripeId,
    );

  async function syncedSubscriptionWith25Items() {
    const account = h.account(`Items ${Math.random().toString(36).slice(2, 8)}`);
    h.fake.seed(account.id, 'test', 'subscriptions', 1, (_index, base) => ({ items: generatedItems(base.id, 25) }));
    const subscription = h.fake.seed(account.id, 'test', 'subscriptions', 0).at(0);
    const project = await h.project();
    const configured = await h.configure(project.id, { testSecretKey: h.key(account.id) });
    const run = await h.waitForRun(configured.data!.configureStripe!.results[0]!.syncRunId!);
    expect(run.status).toBe('SUCCEEDED');
    expect(await itemIds(project.id, subscription.id as string)).toHaveLength(25);
    return { projectId: project.id, subscription, secret: await webhookSecret(project.id) };
  }

  it('completes the list from Stripe (as the sync does) and keeps every item', async () => {
    const { projectId, subscription, secret } = await syncedSubscriptionWith25Items();
    const inline = subscription.items as { data: unknown[]; has_more: boolean };
    expect(inline).toMatchObject({ has_more: true });
    expect(inline.data).toHaveLength(10);
    const before = await itemIds(projectId, subscription.id as string);

    await send(projectId, secret, {
      id: 'evt_truncated_items',
      type: 'customer.subscription.updated',
      created: wallSeconds() + 1,
      object: subscription,
    });
    expect(outcomeOf('evt_truncated_items')).toBe('applied');
    expect(await itemIds(projectId, subscription.id as string)).toEqual(before);
  });

  it('when Stripe cannot be reached for the rest: 503 (Stripe retries), and the mirrored items stay as they were', async () => {
    const { projectId, subscription, secret } = await syncedSubscriptionWith25Items();
    const before = await itemIds(projectId, subscription.id as string);
    // Every attempt the retry policy allows fails.
    h.fake.failNext(Number(SYNC_TEST_ENV.STRIPE_SYNC_MAX_RETRIES) + 1, { status: 500, path: /subscription_items/ });
    const payload = h.eventPayload({
      id: 'evt_items_unreachable',
      type: 'customer.subscription.updated',
      created: wallSeconds() + 1,
      object: subscription,
    });
    const response = await h.sendWebhook(projectId, payload, { secret });
    expect(response.status).toBe(503);
    expect(await itemIds(projectId, subscription.id as string)).toEqual(before);
    expect(await recordedEventIds(projectId)).not.toContain('evt_items_unreachable');
  });
});

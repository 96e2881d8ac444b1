import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generatedItems, startFakeStripe, type AccountStore, type FakeStripe } from './fake-stripe.js';

/**
 * Lists as Stripe serves them at the pinned API version: inline child lists cut at 10 everywhere,
 * the child list endpoints, filters, cursors and `resource_missing`, and data that changes while
 * a client is paging. All through the real SDK.
 */

let fake: FakeStripe;
let accountId: string;
let stripe: Stripe;
let store: AccountStore;

beforeAll(async () => {
  fake = await startFakeStripe();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  accountId = fake.addAccount({ name: 'Lists Ltd' }).id;
  stripe = new Stripe(fake.addKey(accountId), { host: '127.0.0.1', port: fake.port, protocol: 'http', maxNetworkRetries: 0 });
  store = fake.store(accountId, 'test');
});

async function failure(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof Stripe.errors.StripeError)) throw new Error(`expected a StripeError, got ${String(error)}`);
  return error;
}

describe('inline lists: at most 10 entries, has_more and a url, like Stripe', () => {
  it('subscription items: in lists, retrieves and event payloads; the rest from /v1/subscription_items', async () => {
    const many = (index: number, base: { id: string }) => ({ items: generatedItems(base.id, index === 0 ? 27 : 3) });
    const subscriptions = fake.seed(accountId, 'test', 'subscriptions', 2, many);
    const big = subscriptions.idAt(0);
    const listed = (await stripe.subscriptions.list()).data.find((s) => s.id === big)!;
    const retrieved = await stripe.subscriptions.retrieve(big);
    for (const subscription of [listed, retrieved]) {
      expect(subscription.items).toMatchObject({ object: 'list', has_more: true, url: `/v1/subscription_items?subscription=${big}` });
      expect(subscription.items.data.map((item) => item.id)).toEqual(
        store
          .subscriptionItems(big)
          .slice(0, 10)
          .map((item) => item.id),
      );
    }
    expect((await stripe.subscriptions.retrieve(subscriptions.idAt(1))).items).toMatchObject({ has_more: false, data: { length: 3 } });

    const updated = store.update('subscriptions', big, { metadata: { plan: 'gold' } });
    expect(updated.items).toMatchObject({ has_more: true, data: { length: 10 } });
    const [event] = (await stripe.events.list({ type: 'customer.subscription.updated' })).data;
    expect(event!.data.object).toMatchObject({ id: big, items: { has_more: true, data: { length: 10 } } });

    const all: string[] = [];
    for await (const item of stripe.subscriptionItems.list({ subscription: big, limit: 4 })) all.push(item.id);
    expect(all).toEqual(store.subscriptionItems(big).map((item) => item.id));
    expect(all).toHaveLength(27);
    const rest = await stripe.subscriptionItems.list({ subscription: big, starting_after: all[9], limit: 100 });
    expect(rest).toMatchObject({ has_more: false, url: '/v1/subscription_items', data: { length: 17 } });
    const period = { current_period_start: expect.any(Number), current_period_end: expect.any(Number) };
    expect(rest.data[0]).toMatchObject({ ...period, subscription: big });
    expect(await failure(stripe.subscriptionItems.list({} as Stripe.SubscriptionItemListParams))).toMatchObject({
      statusCode: 400,
      param: 'subscription',
    });
  });

  it('invoice lines: inline 10 of 25, the rest from /v1/invoices/:id/lines', async () => {
    // A seeded invoice bills the subscription at its position: one line per item.
    const subscription = fake.seed(accountId, 'test', 'subscriptions', 1, (_i, base) => ({ items: generatedItems(base.id, 25) })).idAt(0);
    const invoices = fake.seed(accountId, 'test', 'invoices', 1);
    const invoice = await stripe.invoices.retrieve(invoices.idAt(0));
    expect(invoice.lines).toMatchObject({ has_more: true, url: `/v1/invoices/${invoice.id}/lines`, data: { length: 10 } });
    expect(invoice.parent).toMatchObject({ type: 'subscription_details', subscription_details: { subscription } });
    expect(invoice).not.toHaveProperty('subscription');
    expect(invoice.total).toBe(store.lines('invoices', invoice.id).reduce((sum, line) => sum + Number(line.amount), 0));
    const lines: string[] = [];
    for await (const line of stripe.invoices.listLineItems(invoice.id, { limit: 10 })) lines.push(line.id);
    expect(lines).toHaveLength(25);
    expect(lines.slice(0, 10)).toEqual(invoice.lines.data.map((line) => line.id));
    expect(lines.every((id) => /^il_[A-Za-z0-9]{24}$/.test(id))).toBe(true);
  });

  it('charge refunds: inline newest first, the rest from /v1/refunds?charge= and /v1/charges/:id/refunds', async () => {
    const charges = fake.seed(accountId, 'test', 'charges', 2);
    const charge = charges.idAt(1);
    for (let i = 0; i < 12; i++) store.create('refunds', { charge, amount: 100 + i });
    const sent = await stripe.charges.retrieve(charge);
    expect(sent.refunds).toMatchObject({ object: 'list', has_more: true, url: `/v1/charges/${charge}/refunds` });
    expect(sent.refunds!.data.map((refund) => refund.amount)).toEqual([111, 110, 109, 108, 107, 106, 105, 104, 103, 102]);
    expect(sent).toMatchObject({ amount_refunded: 1266, refunded: sent.amount <= 1266 });
    const refunds = await stripe.refunds.list({ charge, limit: 100 });
    expect(refunds.data.map((refund) => refund.amount)).toEqual([111, 110, 109, 108, 107, 106, 105, 104, 103, 102, 101, 100]);
    const path = `/v1/charges/${charge}/refunds?starting_after=${sent.refunds!.data[9]!.id}`;
    const rest = (await stripe.rawRequest('GET', path)) as unknown as Stripe.ApiList<Stripe.Refund>;
    expect(rest.data.map((refund) => refund.amount)).toEqual([101, 100]);
    expect((await stripe.charges.retrieve(charges.idAt(0))).refunds).toMatchObject({ data: [], has_more: false });
  });
});

describe('filters, cursors and errors', () => {
  it('subscriptions: canceled ones are left out unless status says otherwise', async () => {
    const statuses = ['active', 'canceled', 'past_due', 'trialing', 'canceled', 'incomplete_expired', 'active'];
    const subscriptions = fake.seed(accountId, 'test', 'subscriptions', statuses.length, (index) => ({ status: statuses[index] }));
    const ids = async (params: Stripe.SubscriptionListParams) =>
      (await stripe.subscriptions.list({ limit: 100, ...params })).data.map((s) => s.status);
    expect(await ids({})).toEqual(['active', 'incomplete_expired', 'trialing', 'past_due', 'active']);
    expect(await ids({ status: 'all' })).toEqual([...statuses].reverse());
    expect(await ids({ status: 'canceled' })).toEqual(['canceled', 'canceled']);
    expect(await ids({ status: 'ended' })).toEqual(['incomplete_expired', 'canceled', 'canceled']);
    expect(await ids({ status: 'active' })).toEqual(['active', 'active']);
    expect(await failure(stripe.subscriptions.list({ status: 'sleeping' as 'active' }))).toMatchObject({
      statusCode: 400,
      param: 'status',
    });
    // A cursor must be in the list asked for: a canceled subscription is not in the default one.
    expect(await failure(stripe.subscriptions.list({ starting_after: subscriptions.idAt(1) }))).toMatchObject({
      statusCode: 400,
      code: 'resource_missing',
      param: 'starting_after',
    });
    const after = await stripe.subscriptions.list({ status: 'all', starting_after: subscriptions.idAt(1) });
    expect(after.data.map((s) => s.id)).toEqual([subscriptions.idAt(0)]);
  });

  it('created[gte|gt|lte|lt] and exact created, newest first, with starting_after / ending_before / limit', async () => {
    const customers = fake.seed(accountId, 'test', 'customers', 20);
    const t = customers.createdAt;
    const ids = async (params: Stripe.CustomerListParams) => (await stripe.customers.list({ limit: 100, ...params })).data.map((c) => c.id);
    expect(await ids({ created: { gte: t(15) } })).toEqual([19, 18, 17, 16, 15].map(customers.idAt));
    expect(await ids({ created: { gt: t(15), lt: t(18) } })).toEqual([17, 16].map(customers.idAt));
    expect(await ids({ created: { lte: t(1) } })).toEqual([1, 0].map(customers.idAt));
    expect(await ids({ created: t(7) })).toEqual([customers.idAt(7)]);
    const within = await ids({ created: { gte: t(5), lte: t(12) }, starting_after: customers.idAt(9), limit: 2 });
    expect(within).toEqual([8, 7].map(customers.idAt));
    const before = await stripe.customers.list({ ending_before: customers.idAt(16), limit: 2 });
    expect(before.data.map((c) => c.id)).toEqual([18, 17].map(customers.idAt));
    expect(before.has_more).toBe(true);
    expect(await failure(stripe.customers.list({ created: { gte: 'soon' as unknown as number } }))).toMatchObject({
      statusCode: 400,
      param: 'created[gte]',
    });
  });

  it('filters by reference: invoices by subscription (parent), refunds by charge, prices by product', async () => {
    fake.seed(accountId, 'test', 'products', 2);
    const subscriptions = fake.seed(accountId, 'test', 'subscriptions', 3);
    fake.seed(accountId, 'test', 'invoices', 9);
    fake.seed(accountId, 'test', 'prices', 6);
    const invoices = await stripe.invoices.list({ subscription: subscriptions.idAt(1) });
    expect(invoices.data).toHaveLength(3);
    for (const invoice of invoices.data) expect(invoice.parent?.subscription_details?.subscription).toBe(subscriptions.idAt(1));
    const product = fake.seed(accountId, 'test', 'products', 0).idAt(0);
    expect((await stripe.prices.list({ product })).data.map((p) => p.product)).toEqual([product, product, product]);
  });

  it('resource_missing: 404 with Stripe error JSON for unknown and deleted ids, 400 for a deleted cursor', async () => {
    const products = fake.seed(accountId, 'test', 'products', 5);
    const response = await fetch(`${fake.url}/v1/products/prod_nope`, { headers: { Authorization: `Bearer ${fake.addKey(accountId)}` } });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: {
        type: 'invalid_request_error',
        code: 'resource_missing',
        message: "No such product: 'prod_nope'",
        param: 'id',
        doc_url: expect.any(String),
      },
    });
    store.delete('products', products.idAt(2));
    const error = await failure(stripe.products.retrieve(products.idAt(2)));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'id' });
    expect(error.message).toBe(`No such product: '${products.idAt(2)}'`);
    expect((await stripe.products.list()).data.map((p) => p.id)).toEqual([4, 3, 1, 0].map(products.idAt));
    expect(await failure(stripe.products.list({ starting_after: products.idAt(2) }))).toMatchObject({
      statusCode: 400,
      code: 'resource_missing',
      param: 'starting_after',
    });
    // Stripe keeps deleted customers retrievable as a stub.
    const customer = store.create('customers', { email: 'gone@example.com' });
    store.delete('customers', customer.id);
    expect(await stripe.customers.retrieve(customer.id)).toMatchObject({ id: customer.id, object: 'customer', deleted: true });
    expect((await stripe.customers.list()).data).toEqual([]);
  });
});

describe('changes while a client is paging', () => {
  it('a hook between pages: created objects appear on top, deleted ones disappear from later pages', async () => {
    const customers = fake.seed(accountId, 'test', 'customers', 30);
    let created = '';
    let pages = 0;
    fake.onRequest({ path: /^\/v1\/customers$/ }, () => {
      if (++pages !== 2) return; // after the first page was served
      created = store.create('customers', { email: 'new@example.com' }).id; // newer than the cursor: not in this walk
      store.delete('customers', customers.idAt(12));
      store.update('customers', customers.idAt(5), { name: 'Changed While Paging' });
    });
    const seen: Stripe.Customer[] = [];
    for await (const customer of stripe.customers.list({ limit: 10, starting_after: customers.idAt(29) })) seen.push(customer);
    const expected = Array.from({ length: 29 }, (_, k) => customers.idAt(28 - k)).filter((id) => id !== customers.idAt(12));
    expect(seen.map((c) => c.id)).toEqual(expected);
    expect(seen.find((c) => c.id === customers.idAt(5))?.name).toBe('Changed While Paging');
    expect((await stripe.customers.list({ limit: 1 })).data[0]!.id).toBe(created);
    expect(fake.events(accountId).map((event) => event.type)).toEqual(['customer.created', 'customer.deleted', 'customer.updated']);
  });

  it('a held request answers with what changed while it was held', async () => {
    fake.seed(accountId, 'test', 'products', 3);
    const hold = fake.holdNext(1, { path: /^\/v1\/products$/ });
    const page = stripe.products.list();
    const request = await hold.reached;
    expect(request.status).toBe(0);
    const product = store.create('products', { name: 'Launched meanwhile' });
    hold.release();
    expect((await page).data[0]).toMatchObject({ id: product.id, name: 'Launched meanwhile', object: 'product' });
  });
});

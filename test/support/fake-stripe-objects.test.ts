import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, startFakeStripe, type AccountStore, type FakeCollectionName, type FakeStripe } from './fake-stripe.js';

/**
 * The object types beyond the first eight, listed and retrieved through the real SDK configured as
 * Coffer configures it (host/port/protocol), and the rate limits Stripe answers with.
 */

let fake: FakeStripe;
let accountId: string;
let key: string;
let stripe: Stripe;
let store: AccountStore;

beforeAll(async () => {
  fake = await startFakeStripe();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  accountId = fake.addAccount({ name: 'Objects Ltd' }).id;
  key = fake.addKey(accountId);
  stripe = new Stripe(key, { apiVersion: '2026-10-28.endive', host: '127.0.0.1', port: fake.port, protocol: 'http', maxNetworkRetries: 0 });
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

/** Lists every object with the SDK's auto-pagination (pages of 2), then retrieves the first. */
async function listAndRetrieve<T extends { id: string }>(
  list: (params: { limit: number }) => AsyncIterable<T>,
  retrieve: (id: string) => Promise<T>,
) {
  const all: T[] = [];
  for await (const object of list({ limit: 2 })) all.push(object);
  return { all, one: await retrieve(all[0]!.id) };
}

describe('new object types, through the SDK', () => {
  beforeEach(() => {
    fake.seed(accountId, 'test', 'customers', 5);
  });

  const CASES: Array<[FakeCollectionName, RegExp, (s: Stripe) => ReturnType<typeof listAndRetrieve>]> = [
    [
      'checkout_sessions',
      /^cs_test_[A-Za-z0-9]{58}$/,
      (s) =>
        listAndRetrieve(
          (p) => s.checkout.sessions.list(p),
          (id) => s.checkout.sessions.retrieve(id),
        ),
    ],
    [
      'setup_intents',
      /^seti_[A-Za-z0-9]{24}$/,
      (s) =>
        listAndRetrieve(
          (p) => s.setupIntents.list(p),
          (id) => s.setupIntents.retrieve(id),
        ),
    ],
    [
      'disputes',
      /^dp_[A-Za-z0-9]{24}$/,
      (s) =>
        listAndRetrieve(
          (p) => s.disputes.list(p),
          (id) => s.disputes.retrieve(id),
        ),
    ],
    [
      'credit_notes',
      /^cn_[A-Za-z0-9]{24}$/,
      (s) =>
        listAndRetrieve(
          (p) => s.creditNotes.list(p),
          (id) => s.creditNotes.retrieve(id),
        ),
    ],
    [
      'coupons',
      /^[A-Za-z0-9]{8,}$/,
      (s) =>
        listAndRetrieve(
          (p) => s.coupons.list(p),
          (id) => s.coupons.retrieve(id),
        ),
    ],
    [
      'promotion_codes',
      /^promo_[A-Za-z0-9]{24}$/,
      (s) =>
        listAndRetrieve(
          (p) => s.promotionCodes.list(p),
          (id) => s.promotionCodes.retrieve(id),
        ),
    ],
    [
      'subscription_schedules',
      /^sub_sched_[A-Za-z0-9]{24}$/,
      (s) =>
        listAndRetrieve(
          (p) => s.subscriptionSchedules.list(p),
          (id) => s.subscriptionSchedules.retrieve(id),
        ),
    ],
    [
      'balance_transactions',
      /^txn_[A-Za-z0-9]{24}$/,
      (s) =>
        listAndRetrieve(
          (p) => s.balanceTransactions.list(p),
          (id) => s.balanceTransactions.retrieve(id),
        ),
    ],
  ];

  it.each(CASES)('%s: listed newest first across pages, retrieved, ids like Stripe', async (name, pattern, run) => {
    const seeded = fake.seed(accountId, 'test', name, 5);
    const created = store.create(name, {});
    const { all, one } = await run(stripe);
    expect(all.map((o) => o.id)).toEqual([created.id, ...[4, 3, 2, 1, 0].map(seeded.idAt)]);
    for (const object of all) expect(object.id).toMatch(pattern);
    expect(JSON.parse(JSON.stringify(one))).toEqual(created);
    store.delete(name, created.id);
    const path = `/v1/${COLLECTIONS[name].path}`;
    expect(await failure(stripe.rawRequest('GET', `${path}/${created.id}`))).toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
      param: 'id',
    });
    expect((await run(stripe)).all).toHaveLength(5);
  });

  it('payment methods: by customer (both routes), only detached ones without one, never custom unless asked', async () => {
    const customers = fake.seed(accountId, 'test', 'customers', 0);
    const methods = fake.seed(accountId, 'test', 'payment_methods', 6, (index) => ({ customer: customers.idAt(index % 2) }));
    const detached = store.create('payment_methods', { customer: null });
    const custom = { display_name: 'Voucher', logo: null };
    store.create('payment_methods', { customer: customers.idAt(0), type: 'custom', card: undefined, custom });
    const ofFirst = await stripe.paymentMethods.list({ customer: customers.idAt(0) });
    expect(ofFirst.data.map((m) => m.id)).toEqual([4, 2, 0].map(methods.idAt));
    expect((await stripe.customers.listPaymentMethods(customers.idAt(0))).data.map((m) => m.id)).toEqual([4, 2, 0].map(methods.idAt));
    expect((await stripe.paymentMethods.list({ customer: customers.idAt(0), type: 'custom' })).data).toHaveLength(1);
    expect((await stripe.paymentMethods.list()).data.map((m) => m.id)).toEqual([detached.id]);
    expect(await stripe.paymentMethods.retrieve(methods.idAt(3))).toMatchObject({
      id: methods.idAt(3),
      object: 'payment_method',
      type: 'card',
    });
    expect(methods.idAt(3)).toMatch(/^pm_[A-Za-z0-9]{24}$/);
  });

  it("tax ids: the account's own by default, a customer's with owner[type]=customer", async () => {
    const customers = fake.seed(accountId, 'test', 'customers', 0);
    const taxIds = fake.seed(accountId, 'test', 'tax_ids', 4);
    const owner = { type: 'self', customer_account: null };
    const own = store.create('tax_ids', { customer: null, owner, country: 'US', type: 'us_ein', value: '12-3456789' });
    expect((await stripe.taxIds.list()).data.map((t) => t.id)).toEqual([own.id]);
    const ofCustomer = await stripe.taxIds.list({ owner: { type: 'customer', customer: customers.idAt(1) } });
    expect(ofCustomer.data.map((t) => t.id)).toEqual([taxIds.idAt(1)]);
    expect(await stripe.taxIds.retrieve(taxIds.idAt(2))).toMatchObject({ object: 'tax_id', type: 'gb_vat', owner: { type: 'customer' } });
    expect(taxIds.idAt(2)).toMatch(/^txi_[A-Za-z0-9]{24}$/);
    expect(await failure(stripe.taxIds.list({ owner: { type: 'customer' } }))).toMatchObject({ statusCode: 400, param: 'owner[customer]' });
  });

  it('invoice and credit note lines are child lists of their parent', async () => {
    fake.seed(accountId, 'test', 'subscriptions', 2);
    const invoices = fake.seed(accountId, 'test', 'invoices', 2);
    const notes = fake.seed(accountId, 'test', 'credit_notes', 2);
    const lines = await stripe.invoices.listLineItems(invoices.idAt(1));
    expect(lines).toMatchObject({ object: 'list', url: `/v1/invoices/${invoices.idAt(1)}/lines`, has_more: false });
    expect(lines.data[0]).toMatchObject({ object: 'line_item', invoice: invoices.idAt(1), parent: { type: 'subscription_item_details' } });
    const noteLines = await stripe.creditNotes.listLineItems(notes.idAt(0));
    expect(noteLines.data[0]).toMatchObject({ object: 'credit_note_line_item', type: 'invoice_line_item' });
    expect(await stripe.creditNotes.retrieve(notes.idAt(1))).toMatchObject({ invoice: invoices.idAt(1) });
    expect(await failure(stripe.invoices.listLineItems('in_nope'))).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });
});

describe('rate limits', () => {
  it('429 with Retry-After, visible to the client on the error', async () => {
    fake.rateLimitNext(1, { retryAfter: 3, path: /^\/v1\/customers$/ });
    const error = await failure(stripe.customers.list());
    expect(error).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(error).toMatchObject({ statusCode: 429, code: 'rate_limit', rawType: 'rate_limit_error' });
    expect(error.headers?.['retry-after']).toBe('3');
    await expect(stripe.customers.list()).resolves.toMatchObject({ data: [] });
  });

  it('400 with code rate_limit: the SDK classifies it as StripeRateLimitError', async () => {
    fake.failNext(1, { status: 400, code: 'rate_limit', retryAfter: 1 });
    const error = await failure(stripe.customers.list());
    expect(error).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(error).toMatchObject({ statusCode: 400, code: 'rate_limit', rawType: 'invalid_request_error' });
    expect(error.headers?.['retry-after']).toBe('1');
    fake.rateLimitNext(1, { status: 400 });
    expect(await failure(stripe.products.list())).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
  });

  it('a request with another API version is refused: the fake only knows the pinned shapes', async () => {
    const apiVersion = '2024-06-20' as '2026-10-28.endive';
    const old = new Stripe(key, { apiVersion, host: '127.0.0.1', port: fake.port, protocol: 'http', maxNetworkRetries: 0 });
    expect(await failure(old.customers.list())).toMatchObject({ statusCode: 400, message: expect.stringContaining('2026-10-28.endive') });
  });
});

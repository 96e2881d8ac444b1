import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EVENT_RETENTION_SECONDS, generatedItems, startFakeStripe, type AccountStore, type FakeStripe } from './fake-stripe.js';

/**
 * Events: one per change with the types Stripe sends (status events included), `api_version`,
 * a controllable `created`, `data.object` as sent and `previous_attributes`; listed newest first
 * over the last 30 days; delivered to webhook URLs signed like Stripe.
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
  accountId = fake.addAccount({ name: 'Events Ltd' }).id;
  stripe = new Stripe(fake.addKey(accountId), { host: '127.0.0.1', port: fake.port, protocol: 'http', maxNetworkRetries: 0 });
  store = fake.store(accountId, 'test');
});

const typesOf = () => fake.events(accountId).map((event) => event.type);

describe('events recorded for changes', () => {
  it('created / updated / deleted, with api_version, data.object as sent and previous_attributes', async () => {
    const product = store.create('products', { name: 'Pro' });
    store.update('products', product.id, { name: 'Pro Plus', metadata: { tier: '2' } });
    store.delete('products', product.id);
    expect(typesOf()).toEqual(['product.created', 'product.updated', 'product.deleted']);
    const [created, updated, deleted] = fake.events(accountId);
    for (const event of [created, updated, deleted]) {
      expect(event).toMatchObject({ object: 'event', api_version: '2026-10-28.endive', livemode: false });
      expect(event!.request).toEqual({ id: null, idempotency_key: null });
      expect(event!.id).toMatch(/^evt_[A-Za-z0-9]{24}$/);
    }
    expect(created!.data).toEqual({ object: product });
    expect(updated!.data).toEqual({
      object: { ...product, name: 'Pro Plus', metadata: { tier: '2' } },
      previous_attributes: { name: 'Pro', metadata: {} },
    });
    expect(deleted!.data.object).toMatchObject({ id: product.id, name: 'Pro Plus' });
    expect((await stripe.events.retrieve(updated!.id)).data.previous_attributes).toEqual({ name: 'Pro', metadata: {} });
  });

  it('status events, as Stripe names them', () => {
    const intent = store.create('payment_intents', { status: 'requires_payment_method' });
    for (const status of ['processing', 'requires_action', 'requires_capture', 'succeeded']) {
      store.update('payment_intents', intent.id, { status });
    }
    const charge = store.create('charges', { status: 'pending', captured: false });
    store.update('charges', charge.id, { status: 'succeeded', captured: true });
    store.transition('charges:expired', store.create('charges', { captured: false }).id);
    const refund = store.create('refunds', { charge: charge.id });
    store.update('refunds', refund.id, { status: 'failed' });
    const invoice = fake.seed(accountId, 'test', 'invoices', 1, () => ({ status: 'open' })).idAt(0);
    store.update('invoices', invoice, { status: 'uncollectible' });
    store.transition('invoices:overdue', invoice);
    const subscription = fake.seed(accountId, 'test', 'subscriptions', 1).idAt(0);
    store.update('subscriptions', subscription, { status: 'paused', pause_collection: { behavior: 'void', resumes_at: null } });
    store.update('subscriptions', subscription, { status: 'active', pause_collection: null });
    store.transition('subscriptions:pending_update_applied', subscription);
    store.transition('subscriptions:pending_update_expired', subscription);
    store.delete('subscriptions', subscription);
    expect(typesOf()).toEqual([
      'payment_intent.created',
      'payment_intent.processing',
      'payment_intent.requires_action',
      'payment_intent.amount_capturable_updated',
      'payment_intent.succeeded',
      'charge.pending',
      'charge.succeeded',
      'charge.captured',
      'charge.succeeded',
      'charge.expired',
      'refund.created',
      'charge.refunded',
      'refund.failed',
      'refund.updated',
      'charge.refund.updated',
      'invoice.marked_uncollectible',
      'invoice.updated',
      'invoice.overdue',
      'customer.subscription.paused',
      'customer.subscription.updated',
      'customer.subscription.resumed',
      'customer.subscription.updated',
      'customer.subscription.pending_update_applied',
      'customer.subscription.pending_update_expired',
      'customer.subscription.deleted',
    ]);
    // A canceled subscription stays retrievable: Stripe's "deleted" subscription is a canceled one.
    expect(store.retrieve('subscriptions', subscription)).toMatchObject({ status: 'canceled', canceled_at: expect.any(Number) });
    const refunded = fake.events(accountId).find((event) => event.type === 'charge.refunded')!;
    expect(refunded.data.object).toMatchObject({ id: charge.id, refunded: true, refunds: { data: [{ id: refund.id }] } });
    expect(refunded.data.previous_attributes).toMatchObject({ refunded: false, amount_refunded: 0 });
  });

  it('event payloads cut inline lists at 10, as Stripe does', () => {
    const subscription = fake.seed(accountId, 'test', 'subscriptions', 1, (_i, base) => ({ items: generatedItems(base.id, 14) })).idAt(0);
    const extra = generatedItems(`sub_x${subscription.slice(4)}`, 1).data;
    store.update('subscriptions', subscription, { items: [...store.subscriptionItems(subscription), ...extra] });
    const [event] = fake.events(accountId);
    expect(event!.data.object).toMatchObject({ items: { has_more: true, data: { length: 10 } } });
    expect(store.subscriptionItems(subscription)).toHaveLength(15);
  });
});

describe('GET /v1/events', () => {
  it('two events in the same second, newest first, and created[...] filters', async () => {
    fake.setClock(1_900_000_000);
    const a = store.create('customers', { name: 'A' });
    const b = store.create('customers', { name: 'B' });
    fake.advanceClock(5);
    store.update('customers', a.id, { name: 'A2' });
    fake.setClock(null);
    store.create('coupons', {}, { created: 1_900_000_010, eventCreated: 1_900_000_010 });
    const events = fake.events(accountId);
    expect(events.map((e) => e.created)).toEqual([1_900_000_000, 1_900_000_000, 1_900_000_005, 1_900_000_010]);
    // The window is 30 days back from the fake's clock: move it to the events' time.
    fake.setClock(1_900_000_100);
    const listed = await stripe.events.list();
    expect(listed.data.map((e) => e.id)).toEqual(events.map((e) => e.id).reverse());
    const sameSecond = await stripe.events.list({ created: 1_900_000_000 });
    expect(sameSecond.data.map((e) => (e.data.object as { name: string }).name)).toEqual(['B', 'A']);
    expect((await stripe.events.list({ created: { gt: 1_900_000_000 } })).data).toHaveLength(2);
    expect(b.created).toBe(1_900_000_000);
  });

  it('type (with a wildcard), types[], pagination, and only the last 30 days', async () => {
    const now = fake.now();
    store.emit('invoice.paid', { id: 'in_old', object: 'invoice', created: now }, { created: now - EVENT_RETENTION_SECONDS - 60 });
    for (let i = 0; i < 12; i++) store.create('customers', { name: `C${i}` });
    const charge = store.create('charges', { status: 'succeeded' });
    store.update('charges', charge.id, { description: 'Order 42' });
    const all: string[] = [];
    for await (const event of stripe.events.list({ limit: 5 })) all.push(event.type);
    expect(all).toHaveLength(14);
    expect(all).not.toContain('invoice.paid');
    expect(fake.events(accountId)).toHaveLength(15);
    expect((await stripe.events.list({ type: 'charge.*' })).data.map((e) => e.type)).toEqual(['charge.updated', 'charge.succeeded']);
    expect((await stripe.events.list({ types: ['charge.updated', 'customer.created'], limit: 3 })).data.map((e) => e.type)).toEqual([
      'charge.updated',
      'customer.created',
      'customer.created',
    ]);
    const old = fake.events(accountId)[0]!;
    const missing = await stripe.events.retrieve(old.id).catch((error: unknown) => error);
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });
});

describe('webhook delivery', () => {
  let received: Array<{ headers: IncomingMessage['headers']; body: string }>;
  let server: ReturnType<typeof createServer>;
  let url: string;
  beforeAll(async () => {
    received = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('POSTs the event signed like Stripe; the SDK verifies it, and refuses a wrong secret or an old timestamp', async () => {
    received.length = 0;
    const secret = 'whsec_test_fake_secret_0123456789';
    store.create('customers', { name: 'Hooked' });
    const event = fake.events(accountId).at(-1)!;
    const delivery = await fake.deliver(event, { url, secret });
    expect(delivery).toMatchObject({ status: 200, body: '{"received":true}' });
    const [request] = received;
    expect(request!.headers['stripe-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(request!.headers['content-type']).toBe('application/json; charset=utf-8');
    const verified = stripe.webhooks.constructEvent(request!.body, request!.headers['stripe-signature'] as string, secret);
    expect(verified).toMatchObject({ id: event.id, type: 'customer.created', api_version: '2026-10-28.endive' });
    expect(verified.data.object).toMatchObject({ name: 'Hooked' });
    expect(() => stripe.webhooks.constructEvent(request!.body, request!.headers['stripe-signature'] as string, 'whsec_other')).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
    const stale = await fake.deliver(event, { url, secret, timestamp: fake.now() - 3600 });
    expect(() => stripe.webhooks.constructEvent(stale.payload, stale.signature, secret)).toThrow(/tolerance/);
    // The SDK's own test header is the same scheme.
    const header = stripe.webhooks.generateTestHeaderString({ payload: delivery.payload, secret, timestamp: 1_900_000_000 });
    expect(header).toBe(fake.signWebhook(delivery.payload, secret, 1_900_000_000));
  });

  it('delivers to the account endpoints that want the type, through any fetch (an app in-process)', async () => {
    const wanted = await stripe.webhookEndpoints.create({ url: 'https://coffer.example.com/a', enabled_events: ['customer.updated'] });
    await stripe.webhookEndpoints.create({ url: 'https://coffer.example.com/b', enabled_events: ['invoice.paid'] });
    store.update('customers', store.create('customers', {}).id, { name: 'Endpoint' });
    const updated = fake.events(accountId).at(-1)!;
    expect(updated).toMatchObject({ type: 'customer.updated', pending_webhooks: 1 });
    const calls: string[] = [];
    const deliveries = await fake.deliverToEndpoints(accountId, 'test', updated, {
      fetch: async (target, init) => {
        calls.push(target);
        Stripe.webhooks.constructEvent(init.body, init.headers['stripe-signature']!, wanted.secret!);
        return new Response('ok', { status: 200 });
      },
    });
    expect(calls).toEqual(['https://coffer.example.com/a']);
    expect(deliveries).toMatchObject([{ status: 200 }]);
  });
});

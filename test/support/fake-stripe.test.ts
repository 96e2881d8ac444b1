import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeStripe, type FakeStripe } from './fake-stripe.js';

let fake: FakeStripe;
let accountId: string;
let secretKey: string;

beforeAll(async () => {
  fake = await startFakeStripe();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.reset();
  accountId = fake.addAccount({ name: 'Acme Books', country: 'GB' }).id;
  secretKey = fake.addKey(accountId, { mode: 'test', kind: 'secret' });
});

const sdk = (key: string, config: Stripe.StripeConfig = {}) => new Stripe(key, { ...fake.sdkOptions, maxNetworkRetries: 0, ...config });

/** The error a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof Stripe.errors.StripeError)) throw new Error(`expected a StripeError, got ${String(error)}`);
  return error;
}

const HOOK: Stripe.WebhookEndpointCreateParams = {
  url: 'https://coffer.example.com/stripe/webhooks/p1',
  enabled_events: ['customer.created', 'invoice.paid'],
};

describe('fake Stripe: accounts and keys', () => {
  it('listens on 127.0.0.1 and mints keys with realistic prefixes', () => {
    expect(fake.url).toBe(`http://127.0.0.1:${fake.port}`);
    expect(secretKey).toMatch(/^sk_test_[A-Za-z0-9]{24,}$/);
    expect(fake.addKey(accountId, { mode: 'live', kind: 'secret' })).toMatch(/^sk_live_[A-Za-z0-9]{24,}$/);
    expect(fake.addKey(accountId, { mode: 'test', kind: 'restricted' })).toMatch(/^rk_test_[A-Za-z0-9]{24,}$/);
    expect(fake.addKey(accountId, { mode: 'live', kind: 'restricted' })).toMatch(/^rk_live_[A-Za-z0-9]{24,}$/);
    expect(fake.addKey(accountId, { mode: 'live', kind: 'publishable' })).toMatch(/^pk_live_[A-Za-z0-9]{24,}$/);
  });

  it('retrieves the account with secret and restricted keys, logging only key prefixes', async () => {
    const restricted = fake.addKey(accountId, { mode: 'live', kind: 'restricted', permissions: 'all' });
    for (const key of [secretKey, restricted]) {
      const account = await sdk(key).accounts.retrieveCurrent();
      expect(account).toMatchObject({
        id: accountId,
        object: 'account',
        country: 'GB',
        charges_enabled: true,
        business_profile: { name: 'Acme Books' },
        settings: { dashboard: { display_name: 'Acme Books' } },
      });
    }
    expect(await sdk(secretKey).accounts.retrieve(accountId)).toMatchObject({ id: accountId });
    expect(fake.requests.map((r) => [r.method, r.path, r.status, r.keyPrefixOnly])).toEqual([
      ['GET', '/v1/account', 200, secretKey.slice(0, 12)],
      ['GET', '/v1/account', 200, restricted.slice(0, 12)],
      ['GET', `/v1/accounts/${accountId}`, 200, secretKey.slice(0, 12)],
    ]);
    expect(fake.requests[0]!.stripeVersion).toMatch(/^\d{4}-\d{2}-\d{2}/);
    const log = JSON.stringify(fake.requests);
    expect(log).not.toContain(secretKey);
    expect(log).not.toContain(restricted);
  });

  it('answers an unknown key with 401 and a masked key', async () => {
    const unknown = `sk_test_51${'Q'.repeat(40)}abcd`;
    const error = await failure(sdk(unknown).accounts.retrieveCurrent());
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(error).toMatchObject({ statusCode: 401, rawType: 'invalid_request_error' });
    expect(error.message).toMatch(/^Invalid API Key provided: sk_test_\*+abcd$/);
    expect(error.message).not.toContain(unknown);
    expect(error.message).not.toContain('Q'.repeat(8));
  });

  it('answers a request without a key with 401 in Stripe error shape', async () => {
    const response = await fetch(`${fake.url}/v1/account`);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({
      error: { type: 'invalid_request_error', message: expect.stringContaining('You did not provide an API key') },
    });
  });

  it('refuses a restricted key without permissions, and a publishable key, with 403', async () => {
    const restricted = fake.addKey(accountId, { mode: 'test', kind: 'restricted', permissions: 'none' });
    const error = await failure(sdk(restricted).accounts.retrieveCurrent());
    expect(error).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(error).toMatchObject({ statusCode: 403, rawType: 'invalid_request_error' });
    expect(error.message).toContain(`does not have the required permissions for this endpoint on account '${accountId}'`);
    expect(error.message).not.toContain(restricted);

    const publishable = fake.addKey(accountId, { mode: 'test', kind: 'publishable' });
    const pkError = await failure(sdk(publishable).accounts.retrieveCurrent());
    expect(pkError).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(pkError).toMatchObject({ statusCode: 403, code: 'secret_key_required' });
  });

  it('lets a read-only restricted key read but not write, and expires revoked keys', async () => {
    const readOnly = fake.addKey(accountId, { mode: 'test', kind: 'restricted', permissions: 'read' });
    await expect(sdk(readOnly).webhookEndpoints.list()).resolves.toMatchObject({ data: [] });
    expect(await failure(sdk(readOnly).webhookEndpoints.create(HOOK))).toBeInstanceOf(Stripe.errors.StripePermissionError);
    fake.revokeKey(readOnly);
    expect(await failure(sdk(readOnly).accounts.retrieveCurrent())).toMatchObject({ statusCode: 401, code: 'api_key_expired' });
  });
});

describe('fake Stripe: webhook endpoints', () => {
  it('returns the signing secret on creation only', async () => {
    const stripe = sdk(secretKey);
    const created = await stripe.webhookEndpoints.create({
      ...HOOK,
      api_version: '2026-10-28.endive',
      description: 'Coffer',
      metadata: { coffer: '1', project: 'p1' },
    });
    expect(created).toMatchObject({
      object: 'webhook_endpoint',
      url: HOOK.url,
      enabled_events: HOOK.enabled_events,
      livemode: false,
      status: 'enabled',
      api_version: '2026-10-28.endive',
      description: 'Coffer',
      metadata: { coffer: '1', project: 'p1' },
    });
    expect(created.id).toMatch(/^we_/);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9]{24,}$/);

    const retrieved = await stripe.webhookEndpoints.retrieve(created.id);
    expect(retrieved.id).toBe(created.id);
    expect(retrieved).not.toHaveProperty('secret');
    const listed = await stripe.webhookEndpoints.list({ limit: 100 });
    expect(listed).toMatchObject({ object: 'list', has_more: false, url: '/v1/webhook_endpoints' });
    expect(listed.data.map((e) => e.id)).toEqual([created.id]);
    expect(listed.data[0]).not.toHaveProperty('secret');
    expect(fake.webhookEndpoints(accountId)).toMatchObject([{ id: created.id, secret: created.secret }]);
    expect(await sdk(fake.addKey(accountId, { mode: 'live' })).webhookEndpoints.list()).toMatchObject({ data: [] });
  });

  it('updates and deletes endpoints', async () => {
    const stripe = sdk(secretKey);
    const { id } = await stripe.webhookEndpoints.create({ ...HOOK, metadata: { coffer: '1', temp: 'x' } });
    const updated = await stripe.webhookEndpoints.update(id, { enabled_events: ['*'], disabled: true, metadata: { temp: '' } });
    expect(updated).toMatchObject({ id, enabled_events: ['*'], status: 'disabled', metadata: { coffer: '1' } });
    expect(updated).not.toHaveProperty('secret');
    expect(await stripe.webhookEndpoints.del(id)).toEqual({ id, object: 'webhook_endpoint', deleted: true });
    const missing = await failure(stripe.webhookEndpoints.retrieve(id));
    expect(missing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing', message: `No such webhook endpoint: '${id}'` });
    expect(fake.webhookEndpoints(accountId)).toEqual([]);
  });

  it('parses bracketed form bodies', async () => {
    const response = await fetch(`${fake.url}/v1/webhook_endpoints`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${secretKey}`,
        'Content-Type': 'application/x-www-form-urlencoded',
        'Stripe-Version': '2026-10-28.endive',
      },
      body: `url=${encodeURIComponent(HOOK.url)}&enabled_events[]=customer.created&enabled_events[]=invoice.paid&metadata[coffer]=1`,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      enabled_events: ['customer.created', 'invoice.paid'],
      metadata: { coffer: '1' },
      secret: expect.stringMatching(/^whsec_/),
    });
    expect(fake.requests[0]!.body).toEqual({
      url: HOOK.url,
      enabled_events: ['customer.created', 'invoice.paid'],
      metadata: { coffer: '1' },
    });
  });

  it.each([
    'https://localhost/hook',
    'https://127.0.0.1:8443/hook',
    'https://192.168.1.20/hook',
    'https://[::1]/hook',
    'http://coffer.example.com/hook',
    'not a url',
  ])('refuses the non-public or insecure URL %s', async (url) => {
    const error = await failure(sdk(secretKey).webhookEndpoints.create({ ...HOOK, url }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error).toMatchObject({ statusCode: 400, param: 'url', rawType: 'invalid_request_error' });
    expect(error.message).toMatch(/^Invalid URL: /);
    expect(fake.webhookEndpoints(accountId)).toEqual([]);
  });

  it('rejects unknown parameters and missing required ones', async () => {
    const stripe = sdk(secretKey);
    expect(await failure(stripe.webhookEndpoints.create({ url: HOOK.url } as unknown as Stripe.WebhookEndpointCreateParams))).toMatchObject(
      { statusCode: 400, param: 'enabled_events' },
    );
    expect(await failure(stripe.webhookEndpoints.create({ ...HOOK, colour: 'red' } as Stripe.WebhookEndpointCreateParams))).toMatchObject({
      message: 'Received unknown parameter: colour',
    });
  });

  it('replays an idempotent create whose response was lost to a timeout', async () => {
    fake.delayNext(1, 600, { method: 'POST', path: /^\/v1\/webhook_endpoints$/ });
    const created = await sdk(secretKey, { timeout: 200, maxNetworkRetries: 1 }).webhookEndpoints.create(HOOK);
    expect(fake.webhookEndpoints(accountId).map((e) => e.id)).toEqual([created.id]);
    expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(2);
    expect(new Set(fake.requests.map((r) => r.idempotencyKey)).size).toBe(1);
  });

  it('signs webhook payloads the SDK verifies', async () => {
    const { secret } = await sdk(secretKey).webhookEndpoints.create(HOOK);
    const payload = JSON.stringify({ id: 'evt_1', object: 'event', type: 'customer.created', data: { object: { id: 'cus_1' } } });
    const stripe = sdk(secretKey);
    const event = stripe.webhooks.constructEvent(payload, fake.signWebhook(payload, secret!), secret!);
    expect(event).toMatchObject({ id: 'evt_1', type: 'customer.created' });
    expect(() => stripe.webhooks.constructEvent(payload, fake.signWebhook(payload, 'whsec_wrong'), secret!)).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
    expect(() => stripe.webhooks.constructEvent(`${payload} `, fake.signWebhook(payload, secret!), secret!)).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
    const stale = fake.signWebhook(payload, secret!, Math.floor(Date.now() / 1000) - 3600);
    expect(() => stripe.webhooks.constructEvent(payload, stale, secret!)).toThrow(/tolerance/);
  });
});

describe('fake Stripe: seeded lists', () => {
  it('auto-paginates 250 products newest first', async () => {
    fake.seed(accountId, 'test', 'products', 250);
    const ids: string[] = [];
    const created: number[] = [];
    for await (const product of sdk(secretKey).products.list({ limit: 100 })) {
      ids.push(product.id);
      created.push(product.created);
      expect(product).toMatchObject({ object: 'product', livemode: false, active: true, metadata: {} });
    }
    expect(ids).toHaveLength(250);
    expect(new Set(ids).size).toBe(250);
    expect(ids.every((id) => /^prod_[A-Za-z0-9]{14}$/.test(id))).toBe(true);
    expect(created).toEqual([...created].sort((a, b) => b - a));
    expect(fake.requests.map((r) => r.query.starting_after ?? null)).toEqual([null, ids[99], ids[199]]);
  });

  it('pages with starting_after and ending_before, and validates limit', async () => {
    const seeded = fake.seed(accountId, 'test', 'customers', 30);
    const stripe = sdk(secretKey);
    const first = await stripe.customers.list();
    expect(first.data.map((c) => c.id)).toEqual(Array.from({ length: 10 }, (_, k) => seeded.idAt(29 - k)));
    expect(first).toMatchObject({ has_more: true, url: '/v1/customers' });
    const second = await stripe.customers.list({ starting_after: first.data[9]!.id });
    expect(second.data[0]!.id).toBe(seeded.idAt(19));
    const back = await stripe.customers.list({ ending_before: second.data[0]!.id, limit: 3 });
    expect(back.data.map((c) => c.id)).toEqual([seeded.idAt(22), seeded.idAt(21), seeded.idAt(20)]);
    expect(back.has_more).toBe(true);
    expect((await stripe.customers.list({ created: { gte: seeded.createdAt(28) } })).data).toHaveLength(2);
    expect(await stripe.customers.retrieve(seeded.idAt(3))).toMatchObject({ id: seeded.idAt(3), email: 'customer4@example.com' });
    expect(await failure(stripe.customers.list({ limit: 101 }))).toMatchObject({ statusCode: 400, param: 'limit' });
    expect(await failure(stripe.customers.list({ starting_after: 'cus_nope' }))).toMatchObject({
      statusCode: 400,
      code: 'resource_missing',
    });
  });

  it('generates 100,000 objects lazily, with factories and cross-references', async () => {
    const started = performance.now();
    fake.seed(accountId, 'live', 'customers', 100_000);
    const charges = fake.seed(accountId, 'live', 'charges', 100_000, (i) => ({ amount: i + 1, metadata: { n: String(i) } }));
    const stripe = sdk(fake.addKey(accountId, { mode: 'live' }));
    const page = await stripe.charges.list({ limit: 100, starting_after: charges.idAt(50_000) });
    expect(page.data).toHaveLength(100);
    expect(page.data[0]).toMatchObject({
      id: charges.idAt(49_999),
      object: 'charge',
      amount: 50_000,
      currency: 'usd',
      livemode: true,
      metadata: { n: '49999' },
    });
    expect(page.data[0]!.customer).toMatch(/^cus_/);
    await expect(stripe.customers.retrieve(page.data[0]!.customer as string)).resolves.toMatchObject({ object: 'customer' });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect((await sdk(secretKey).charges.list()).data).toEqual([]);
  });
});

describe('fake Stripe: failure injection', () => {
  it('sends 429 with Stripe-Should-Retry, which the SDK retries', async () => {
    fake.failNext(1, { status: 429, shouldRetry: true, path: /^\/v1\/account$/ });
    await expect(sdk(secretKey, { maxNetworkRetries: 2 }).accounts.retrieveCurrent()).resolves.toMatchObject({ id: accountId });
    expect(fake.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it('sends 429 that the SDK does not retry unless told to', async () => {
    fake.failNext(1, { status: 429 });
    const error = await failure(sdk(secretKey, { maxNetworkRetries: 2 }).accounts.retrieveCurrent());
    expect(error).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(error).toMatchObject({ statusCode: 429, code: 'rate_limit', rawType: 'rate_limit_error' });
    expect(fake.requests).toHaveLength(1);
  });

  it('injects 500s, 503s and auth failures only on matching paths', async () => {
    fake.failNext(1, { status: 500, path: /webhook_endpoints/ });
    const stripe = sdk(secretKey);
    await expect(stripe.accounts.retrieveCurrent()).resolves.toMatchObject({ id: accountId });
    const error = await failure(stripe.webhookEndpoints.list());
    expect(error).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(error).toMatchObject({ statusCode: 500, rawType: 'api_error' });
    await expect(stripe.webhookEndpoints.list()).resolves.toMatchObject({ data: [] });

    fake.failNext(2, { status: 503 });
    await expect(sdk(secretKey, { maxNetworkRetries: 2 }).accounts.retrieveCurrent()).resolves.toMatchObject({ id: accountId });
    fake.failNext(1, { status: 500, shouldRetry: false });
    expect(await failure(sdk(secretKey, { maxNetworkRetries: 2 }).accounts.retrieveCurrent())).toMatchObject({ statusCode: 500 });
    fake.failNext(1, { status: 401 });
    expect(await failure(stripe.accounts.retrieveCurrent())).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    fake.failNext(1, { status: 403 });
    expect(await failure(stripe.accounts.retrieveCurrent())).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(fake.requests.map((r) => r.status)).toEqual([200, 500, 200, 503, 503, 200, 500, 401, 403]);
  });

  it('delays responses past the SDK timeout', async () => {
    fake.delayNext(1, 1_000, { path: /^\/v1\/account$/ });
    const error = await failure(sdk(secretKey, { timeout: 150 }).accounts.retrieveCurrent());
    expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(error.message).toMatch(/timeout/i);
    await expect(sdk(secretKey, { timeout: 150 }).accounts.retrieveCurrent()).resolves.toMatchObject({ id: accountId });
  });

  it('answers unknown routes like Stripe', async () => {
    const error = await failure(sdk(secretKey).rawRequest('GET', '/v1/nothing_here'));
    expect(error).toMatchObject({
      statusCode: 404,
      message: expect.stringMatching(/^Unrecognized request URL \(GET: \/v1\/nothing_here\)/),
    });
  });
});

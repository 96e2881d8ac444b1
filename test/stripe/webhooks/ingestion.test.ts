import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_LEAKS, startStripeHarness, type StripeHarness } from '../support.js';

let h: StripeHarness;
let accountId: string;
beforeAll(async () => {
  h = await startStripeHarness();
  accountId = h.account('Event Source Inc').id;
});
afterAll(() => h.close());

/** A fresh project with a managed test webhook, and the signing secret Coffer stored for it. */
async function configuredProject() {
  const project = await h.project();
  const response = await h.configure(project.id, { testSecretKey: h.key(accountId) });
  expect(response.data?.configureStripe!.results[0]?.webhook?.ok).toBe(true);
  const secret = await h.storedWebhookSecret(project.id);
  if (!secret) throw new Error('no webhook secret stored');
  return { projectId: project.id, secret };
}

/** Customers are one of the synced types: they live in their own typed table. */
const storedCustomer = (projectId: string, stripeId: string) =>
  h.app.db.prisma.stripeCustomer.findUnique({ where: { projectId_environment_stripeId: { projectId, environment: 'TEST', stripeId } } });
/** Object types without a table of their own go to the generic stripe_objects. */
const storedObject = (projectId: string, stripeId: string) =>
  h.app.db.prisma.stripeObject.findUnique({ where: { projectId_environment_stripeId: { projectId, environment: 'TEST', stripeId } } });
const recordedEvents = (projectId: string) =>
  h.app.db.prisma.stripeWebhookEvent.findMany({ where: { projectId }, orderBy: { created: 'asc' } });
/** The outcome Coffer logged for an event ('applied', 'stale', 'duplicate'...). */
const outcomeOf = (eventId: string) =>
  h.app.logs
    .map((line) => JSON.parse(line) as { eventId?: string; outcome?: string })
    .find((entry) => entry.eventId === eventId && entry.outcome)?.outcome;

const CUSTOMER_CREATED = 1_700_000_000;
const customer = (id: string, name: string) => ({
  id,
  object: 'customer',
  created: CUSTOMER_CREATED,
  name,
  email: `${name.toLowerCase()}@example.com`,
});

describe('POST /webhooks/stripe/:projectId/test', () => {
  it('a correctly signed event → 200 and the object is stored', async () => {
    const { projectId, secret } = await configuredProject();
    const created = h.clockSeconds() - 5;
    const payload = h.eventPayload({ id: 'evt_valid_1', type: 'customer.created', created, object: customer('cus_valid', 'Ada') });

    const response = await h.sendWebhook(projectId, payload, { secret });
    expect(response).toEqual({ status: 200, json: { received: true, duplicate: false } });
    const stored = await storedCustomer(projectId, 'cus_valid');
    expect(stored).toMatchObject({
      email: 'ada@example.com',
      name: 'Ada',
      created: new Date(CUSTOMER_CREATED * 1000),
      deleted: false,
      data: customer('cus_valid', 'Ada'),
      changedAt: new Date(created * 1000),
    });
    // Only in its typed table: the generic table is for types Coffer has no table for.
    expect(await storedObject(projectId, 'cus_valid')).toBeNull();
    expect(await recordedEvents(projectId)).toEqual([
      expect.objectContaining({ eventId: 'evt_valid_1', type: 'customer.created', objectId: 'cus_valid' }),
    ]);
  });

  it('an object type without a table of its own (payout) is stored in stripe_objects', async () => {
    const { projectId, secret } = await configuredProject();
    const created = h.clockSeconds() - 5;
    const payout = { id: 'po_generic', object: 'payout', status: 'paid', amount: 1200 };
    const payload = h.eventPayload({ id: 'evt_payout', type: 'payout.paid', created, object: payout });

    expect(await h.sendWebhook(projectId, payload, { secret })).toEqual({ status: 200, json: { received: true, duplicate: false } });
    expect(await storedObject(projectId, 'po_generic')).toMatchObject({
      objectType: 'payout',
      data: payout,
      eventCreatedAt: new Date(created * 1000),
    });
    expect(await h.app.db.prisma.stripeCustomer.count({ where: { projectId } })).toBe(0);

    // The same out-of-order guard: an older event arriving later does not overwrite it.
    const older = h.eventPayload({
      id: 'evt_payout_older',
      type: 'payout.updated',
      created: created - 1,
      object: { ...payout, status: 'in_transit' },
    });
    expect((await h.sendWebhook(projectId, older, { secret })).status).toBe(200);
    expect((await storedObject(projectId, 'po_generic'))?.data).toEqual(payout);
  });

  it('customer.deleted with only { id, object, deleted } flags the customer deleted and keeps its last email and name', async () => {
    const { projectId, secret } = await configuredProject();
    const t = h.clockSeconds() - 50;
    const created = h.eventPayload({
      id: 'evt_before_delete',
      type: 'customer.created',
      created: t,
      object: customer('cus_gone', 'Grace'),
    });
    expect((await h.sendWebhook(projectId, created, { secret })).status).toBe(200);
    const stub = { id: 'cus_gone', object: 'customer', deleted: true };
    const deleted = h.eventPayload({ id: 'evt_delete', type: 'customer.deleted', created: t + 1, object: stub });
    expect(await h.sendWebhook(projectId, deleted, { secret })).toEqual({ status: 200, json: { received: true, duplicate: false } });

    expect(await storedCustomer(projectId, 'cus_gone')).toMatchObject({
      deleted: true,
      email: 'grace@example.com',
      name: 'Grace',
      created: new Date(CUSTOMER_CREATED * 1000),
      data: { ...customer('cus_gone', 'Grace'), deleted: true },
      changedAt: new Date((t + 1) * 1000),
    });
    expect(outcomeOf('evt_delete')).toBe('applied');
  });

  it('signed with another secret → 400, nothing stored', async () => {
    const { projectId } = await configuredProject();
    const payload = h.eventPayload({ object: customer('cus_forged', 'Mallory') });
    const response = await h.sendWebhook(projectId, payload, { secret: h.manualWebhookSecret() });
    expect(response.status).toBe(400);
    expect(await storedCustomer(projectId, 'cus_forged')).toBeNull();
    expect(await recordedEvents(projectId)).toEqual([]);
  });

  it('a body edited after signing → 400, nothing stored', async () => {
    const { projectId, secret } = await configuredProject();
    const payload = h.eventPayload({ object: customer('cus_edited', 'Ada') });
    const response = await h.sendWebhook(projectId, payload, { secret, body: payload.replace('Ada', 'Eve') });
    expect(response.status).toBe(400);
    expect(await storedCustomer(projectId, 'cus_edited')).toBeNull();
  });

  it('a signature timestamp ten minutes old → 400 (replay window is five minutes)', async () => {
    const { projectId, secret } = await configuredProject();
    const payload = h.eventPayload({ object: customer('cus_stale', 'Ada') });
    const response = await h.sendWebhook(projectId, payload, { secret, timestamp: h.clockSeconds() - 600 });
    expect(response.status).toBe(400);
    expect(await storedCustomer(projectId, 'cus_stale')).toBeNull();
  });

  it('a signature timestamp four minutes old is still inside the window → 200', async () => {
    const { projectId, secret } = await configuredProject();
    const payload = h.eventPayload({ object: customer('cus_recent', 'Ada') });
    expect((await h.sendWebhook(projectId, payload, { secret, timestamp: h.clockSeconds() - 240 })).status).toBe(200);
    expect(await storedCustomer(projectId, 'cus_recent')).toMatchObject({ name: 'Ada' });
  });

  it('no Stripe-Signature header → 400', async () => {
    const { projectId } = await configuredProject();
    const response = await h.sendWebhook(projectId, h.eventPayload({ object: customer('cus_unsigned', 'Ada') }));
    expect(response.status).toBe(400);
    expect(await storedCustomer(projectId, 'cus_unsigned')).toBeNull();
  });

  it('a replay of the same event id → 200 duplicate, not applied again', async () => {
    const { projectId, secret } = await configuredProject();
    const created = h.clockSeconds() - 10;
    const original = h.eventPayload({ id: 'evt_replayed', created, object: customer('cus_replay', 'Ada') });
    expect((await h.sendWebhook(projectId, original, { secret })).json).toEqual({ received: true, duplicate: false });

    // Same id, different content (and even a later `created`): still the event already applied.
    const replay = h.eventPayload({ id: 'evt_replayed', created: created + 5, object: customer('cus_replay', 'Eve') });
    expect(await h.sendWebhook(projectId, replay, { secret })).toEqual({ status: 200, json: { received: true, duplicate: true } });
    expect(await storedCustomer(projectId, 'cus_replay')).toMatchObject({
      name: 'Ada',
      data: customer('cus_replay', 'Ada'),
      changedAt: new Date(created * 1000),
    });
    expect(await recordedEvents(projectId)).toHaveLength(1);
  });

  it('livemode true on the test route → 400, nothing stored', async () => {
    const { projectId, secret } = await configuredProject();
    const payload = h.eventPayload({ livemode: true, object: customer('cus_live', 'Ada') });
    expect((await h.sendWebhook(projectId, payload, { secret })).status).toBe(400);
    expect(await storedCustomer(projectId, 'cus_live')).toBeNull();
    expect(await recordedEvents(projectId)).toEqual([]);
  });

  it('out of order: the event created at t=2 wins over the one created at t=1 that arrives later', async () => {
    const { projectId, secret } = await configuredProject();
    const t = h.clockSeconds() - 100;
    const newer = h.eventPayload({ id: 'evt_t2', created: t + 2, object: customer('cus_order', 'Second') });
    const older = h.eventPayload({ id: 'evt_t1', created: t + 1, object: customer('cus_order', 'First') });
    expect((await h.sendWebhook(projectId, newer, { secret })).status).toBe(200);
    expect((await h.sendWebhook(projectId, older, { secret })).status).toBe(200);

    const stored = await storedCustomer(projectId, 'cus_order');
    expect(stored).toMatchObject({
      name: 'Second',
      email: 'second@example.com',
      data: customer('cus_order', 'Second'),
      changedAt: new Date((t + 2) * 1000),
    });
    // The older event is recorded (a replay of it is a duplicate) but was not applied.
    expect((await recordedEvents(projectId)).map((event) => event.eventId)).toEqual(['evt_t1', 'evt_t2']);
    expect(outcomeOf('evt_t2')).toBe('applied');
    expect(outcomeOf('evt_t1')).toBe('stale');
  });

  // Settled by Stripe, not by arrival order (test/stripe/webhooks/settle-by-retrieve.test.ts): this
  // customer exists only in the events, so Stripe's answer (`resource_missing`) marks it deleted.
  it('two events of the same second: the tie is settled by retrieving the object from Stripe', async () => {
    const { projectId, secret } = await configuredProject();
    const t = h.clockSeconds() - 30;
    for (const [id, name] of [
      ['evt_tie_a', 'First'],
      ['evt_tie_b', 'Second'],
    ] as const) {
      expect(
        (await h.sendWebhook(projectId, h.eventPayload({ id, created: t, object: customer('cus_tie', name) }), { secret })).status,
      ).toBe(200);
    }
    expect(h.fake.requests.filter((request) => request.path === '/v1/customers/cus_tie')).toHaveLength(1);
    expect(await storedCustomer(projectId, 'cus_tie')).toMatchObject({ name: 'First', deleted: true });
  });

  it('an unknown project → 404', async () => {
    const { secret } = await configuredProject();
    const response = await h.sendWebhook(randomUUID(), h.eventPayload({ object: customer('cus_nowhere', 'Ada') }), { secret });
    expect(response.status).toBe(404);
  });

  it('an environment without a webhook secret → 404', async () => {
    const { projectId, secret } = await configuredProject();
    const payload = h.eventPayload({ livemode: true, object: customer('cus_no_live', 'Ada') });
    expect((await h.sendWebhook(projectId, payload, { secret, environment: 'live' })).status).toBe(404);
    // A project with no Stripe configuration at all.
    const bare = await h.project();
    expect((await h.sendWebhook(bare.id, payload, { secret })).status).toBe(404);
  });

  it('GET → 405', async () => {
    const { projectId } = await configuredProject();
    expect((await h.sendWebhook(projectId, '', { method: 'GET' })).status).toBe(405);
  });
});

it('leak canary: no full credential used in this file leaked', async () => {
  expect(h.credentials.size).toBeGreaterThan(10);
  expect(await h.leaks()).toEqual(NO_LEAKS);
});

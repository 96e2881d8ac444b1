import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRIPE_API_VERSION } from '../../../src/features/stripe/client/stripe-client.js';
import type { FakeEvent } from '../../support/fake-stripe.js';
import { startSyncHarness, type SyncHarness } from '../sync/support.js';

/**
 * Two events for one object in the same second cannot be ordered by their timestamps, and an
 * event rendered in another API version than the pinned one has another shape: both are settled
 * by retrieving the object from Stripe, and what Stripe returns is stored.
 */

let h: SyncHarness;
beforeAll(async () => {
  h = await startSyncHarness();
});
afterAll(() => h.close());

async function syncedProject(counts: Parameters<SyncHarness['seededProject']>[0]) {
  const project = await h.seededProject(counts);
  expect((await h.waitForRun(project.firstRunId!)).status).toBe('SUCCEEDED');
  const secret = await h.storedWebhookSecret(project.projectId);
  return { ...project, secret: secret!, store: h.fake.store(project.account.id) };
}

const deliver = async (projectId: string, secret: string, event: FakeEvent | Record<string, unknown>) =>
  h.sendWebhook(projectId, JSON.stringify(event), { secret });

const customerRow = (projectId: string, stripeId: string) =>
  h.app.db.prisma.stripeCustomer.findUniqueOrThrow({
    where: { projectId_environment_stripeId: { projectId, environment: 'TEST', stripeId } },
  });
const retrievesOf = (path: string) => h.fake.requests.filter((request) => request.method === 'GET' && request.path === path).length;

describe('settled by retrieving the object', () => {
  it('two updates in the same second, delivered newest first: the older one does not win the tie', async () => {
    const { projectId, account, secret, store } = await syncedProject({ customers: 3 });
    const id = h.fake.seed(account.id, 'test', 'customers', 0).idAt(1);
    const second = Math.floor(Date.now() / 1000) + 5; // later than anything the sync stored
    store.update('customers', id, { name: 'First' }, { eventCreated: second });
    store.update('customers', id, { name: 'Second' }, { eventCreated: second });
    const [first, latest] = h.fake.events(account.id).filter((event) => event.data.object.id === id);
    expect([first!.created, latest!.created]).toEqual([second, second]);

    expect(await deliver(projectId, secret, latest!)).toMatchObject({ status: 200 });
    expect(await customerRow(projectId, id)).toMatchObject({ name: 'Second' });
    const before = retrievesOf(`/v1/customers/${id}`);
    expect(await deliver(projectId, secret, first!)).toMatchObject({ status: 200 });
    // The tie was noticed and Stripe asked: its current state stays.
    expect(retrievesOf(`/v1/customers/${id}`)).toBe(before + 1);
    expect(await customerRow(projectId, id)).toMatchObject({ name: 'Second', apiVersion: STRIPE_API_VERSION });
  });

  it('an event in another API version stores the object as retrieved in the pinned version; one Stripe no longer has is marked deleted', async () => {
    const { projectId, account, secret, store } = await syncedProject({ customers: 2, products: 2 });
    const customerId = h.fake.seed(account.id, 'test', 'customers', 0).idAt(0);
    const current = store.update('customers', customerId, { name: 'Current Name' }, { events: [] });
    const oldShape = {
      id: 'evt_old_version_1',
      object: 'event',
      api_version: '2024-06-20',
      created: Math.floor(Date.now() / 1000) + 5,
      livemode: false,
      type: 'customer.updated',
      data: { object: { id: customerId, object: 'customer', name: 'Old Shape', email: 'old@example.com', sources: { data: [] } } },
    };
    expect(await deliver(projectId, secret, oldShape)).toMatchObject({ status: 200 });
    const row = await customerRow(projectId, customerId);
    expect(row).toMatchObject({ name: 'Current Name', apiVersion: STRIPE_API_VERSION });
    expect(row.data).toEqual(current);

    const productId = h.fake.seed(account.id, 'test', 'products', 0).idAt(1);
    store.delete('products', productId, { events: [] });
    const update = {
      ...oldShape,
      id: 'evt_old_version_2',
      type: 'product.updated',
      data: { object: { id: productId, object: 'product', name: 'x' } },
    };
    expect(await deliver(projectId, secret, update)).toMatchObject({ status: 200 });
    const product = await h.app.db.prisma.stripeProduct.findFirstOrThrow({ where: { projectId, stripeId: productId } });
    expect(product.deleted).toBe(true);
  });

  it('when Stripe cannot be reached (after the retries), answers 503 so Stripe retries, and writes nothing', async () => {
    const { projectId, account, secret, store } = await syncedProject({ customers: 2 });
    const id = h.fake.seed(account.id, 'test', 'customers', 0).idAt(0);
    const second = Math.floor(Date.now() / 1000) + 5;
    store.update('customers', id, { name: 'A' }, { eventCreated: second });
    store.update('customers', id, { name: 'B' }, { eventCreated: second });
    const [first, latest] = h.fake.events(account.id).filter((event) => event.data.object.id === id);
    expect(await deliver(projectId, secret, latest!)).toMatchObject({ status: 200 });
    h.fake.failNext(20, { status: 500, path: new RegExp(`^/v1/customers/${id}$`) });
    expect(await deliver(projectId, secret, first!)).toMatchObject({ status: 503 });
    expect(await customerRow(projectId, id)).toMatchObject({ name: 'B' });
    expect(await h.app.db.prisma.stripeWebhookEvent.count({ where: { projectId, eventId: first!.id } })).toBe(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk } from '../../support/assertions.js';
import { OBJECT_TYPES } from '../../../src/features/stripe/mirror/object-types.js';
import { StartSync, startSyncHarness, type SyncHarness } from './support.js';

/**
 * Every run ends each object type with a verification: Stripe's ids (listed again) against the
 * mirror's. The fake delivers no webhooks here, so only the verification can notice what changed.
 */

let h: SyncHarness;
beforeAll(async () => {
  h = await startSyncHarness();
});
afterAll(() => h.close());

const liveIds = async (projectId: string) => {
  const rows = await h.app.db.prisma.stripeCustomer.findMany({ where: { projectId, deleted: false }, select: { stripeId: true } });
  return rows.map((row) => row.stripeId).sort();
};

describe('the verification phase', () => {
  it('stores objects created and marks objects deleted while the run paged, and reports the counts', async () => {
    const account = h.account('Busy Ltd');
    const customers = h.fake.seed(account.id, 'test', 'customers', 120);
    const store = h.fake.store(account.id);
    const firstPage = customers.idAt(119);
    let created: string[] = [];
    let listings = 0;
    // After the listing's first page: two customers are created on top (the walk, newest first,
    // is past them) and one already stored is deleted (its page was served).
    const stopHook = h.fake.onRequest({ path: /^\/v1\/customers$/ }, (request) => {
      // The customers type's own listing (50 a page), not the walks over customers (100 a page).
      if (String(request.query.limit) !== '50') return;
      if (request.query.starting_after === undefined) listings += 1;
      if (listings !== 1 || request.query.starting_after !== customers.idAt(70)) return;
      created = [store.create('customers', { email: 'a@example.com' }).id, store.create('customers', { email: 'b@example.com' }).id];
      store.delete('customers', firstPage);
    });

    const project = await h.project();
    const configured = expectOk(await h.configure(project.id, { testSecretKey: h.key(account.id) }));
    const run = await h.waitForRun(configured.configureStripe!.results[0]!.syncRunId!);
    stopHook(); // only the first matching hook runs: later tests' hooks must not be shadowed

    expect(run.status).toBe('SUCCEEDED');
    const customersSummary = run.summary!.objectTypes.find((entry) => entry.objectType === 'CUSTOMERS');
    expect(customersSummary).toMatchObject({ status: 'SUCCEEDED', objects: 120, listed: 121, insertedByVerification: 2, markedDeleted: 1 });
    expect(run.progress.find((entry) => entry.objectType === 'CUSTOMERS')).toMatchObject({
      listed: 121,
      insertedByVerification: 2,
      markedDeleted: 1,
    });
    const expected = [...Array.from({ length: 120 }, (_, index) => customers.idAt(index)).filter((id) => id !== firstPage), ...created];
    expect(await liveIds(project.id)).toEqual(expected.sort());
    const deleted = await h.app.db.prisma.stripeCustomer.findFirstOrThrow({ where: { projectId: project.id, stripeId: firstPage } });
    expect(deleted.deleted).toBe(true);
    // The deletion was confirmed with a retrieve before it was marked.
    expect(h.fake.requests.some((request) => request.path === `/v1/customers/${firstPage}`)).toBe(true);

    // Streamed as a phase: the listing ends, the verification starts, then the type completes with the counts.
    const kinds = run.events.filter((event) => event.objectType === 'CUSTOMERS').map((event) => event.kind);
    expect(kinds.slice(-2)).toEqual(['VERIFICATION_STARTED', 'OBJECT_COMPLETED']);
    expect(run.events.find((event) => event.objectType === 'CUSTOMERS' && event.kind === 'OBJECT_COMPLETED')?.message).toBe(
      'customers: listed 121, stored 120, inserted by verification 2, marked deleted 1',
    );
  });

  it('looks past its first short page at the top of the list when more were created during the listing', async () => {
    const account = h.account('Growing Ltd');
    const customers = h.fake.seed(account.id, 'test', 'customers', 60);
    const store = h.fake.store(account.id);
    let created: string[] = [];
    const stopHook = h.fake.onRequest({ path: /^\/v1\/customers$/ }, (request) => {
      if (String(request.query.limit) !== '50' || request.query.starting_after !== customers.idAt(10) || created.length > 0) return;
      // While the listing's second page is asked for: more than the top look's first page (10) of new customers.
      created = Array.from({ length: 14 }, (_, index) => store.create('customers', { email: `new${index}@example.com` }).id);
    });
    const project = await h.project();
    const since = Date.now();
    const configured = expectOk(await h.configure(project.id, { testSecretKey: h.key(account.id) }));
    const run = await h.waitForRun(configured.configureStripe!.results[0]!.syncRunId!);
    stopHook();

    expect(run.status).toBe('SUCCEEDED');
    expect(run.summary!.objectTypes.find((entry) => entry.objectType === 'CUSTOMERS')).toMatchObject({
      status: 'SUCCEEDED',
      objects: 60,
      listed: 74,
      insertedByVerification: 14,
      markedDeleted: 0,
    });
    const expected = [...Array.from({ length: 60 }, (_, index) => customers.idAt(index)), ...created];
    expect(await liveIds(project.id)).toEqual(expected.sort());
    // The top look: 10 first, then a full page, which reaches customers older than the listing.
    const tops = h.fake.requests.filter(
      (request) =>
        request.at >= since &&
        request.path === '/v1/customers' &&
        (request.query.limit === '10' || request.query.starting_after === created[4]),
    );
    expect(tops.map((request) => request.query)).toEqual([{ limit: '10' }, { limit: '50', starting_after: created[4] }]);
  });

  it('lists everything again when the events since the listing cannot be read (a key without that permission)', async () => {
    const account = h.account('No Events Ltd');
    const customers = h.fake.seed(account.id, 'test', 'customers', 120);
    const store = h.fake.store(account.id);
    const firstPage = customers.idAt(119);
    let listings = 0;
    const stopHook = h.fake.onRequest({ path: /^\/v1\/customers$/ }, (request) => {
      // The customers type's own listing (50 a page), not the walks over customers (100 a page).
      if (String(request.query.limit) !== '50') return;
      if (request.query.starting_after === undefined) listings += 1;
      if (listings !== 1 || request.query.starting_after !== customers.idAt(70)) return;
      store.delete('customers', firstPage);
    });
    // Every object type with a deletion event asks for the events once; each is refused.
    const asking = Object.values(OBJECT_TYPES).filter((spec) => spec.events.some((type) => type.endsWith('.deleted'))).length;
    h.fake.failNext(asking, {
      status: 403,
      type: 'invalid_request_error',
      message: 'This key may not read events.',
      path: /^\/v1\/events$/,
    });
    const mark = h.fake.requests.length;
    const project = await h.project();
    const configured = expectOk(await h.configure(project.id, { testSecretKey: h.key(account.id) }));
    const run = await h.waitForRun(configured.configureStripe!.results[0]!.syncRunId!);
    stopHook(); // only the first matching hook runs: later tests' hooks must not be shadowed
    expect(
      h.fake.requests
        .slice(mark)
        .filter((request) => request.path === '/v1/events')
        .map((request) => request.status),
    ).toEqual(Array.from({ length: asking }, () => 403));

    expect(run.status).toBe('SUCCEEDED');
    expect(run.summary!.objectTypes.find((entry) => entry.objectType === 'CUSTOMERS')).toMatchObject({ listed: 119, markedDeleted: 1 });
    expect((await h.app.db.prisma.stripeCustomer.findFirstOrThrow({ where: { projectId: project.id, stripeId: firstPage } })).deleted).toBe(
      true,
    );
    // The whole list twice (3 pages each): the listing, then the verification's.
    const listed = h.fake.requests
      .slice(mark)
      .filter((request) => request.path === '/v1/customers' && String(request.query.limit) === '50');
    expect(listed).toHaveLength(6);
  });

  it('a later run repairs a mirror that drifted after the last one (deleted at Stripe, lost from the mirror)', async () => {
    const { projectId, account, firstRunId } = await h.seededProject({ customers: 30 });
    expect((await h.waitForRun(firstRunId!)).status).toBe('SUCCEEDED');
    const customers = h.fake.seed(account.id, 'test', 'customers', 0);
    h.fake.store(account.id).delete('customers', customers.idAt(3)); // a webhook that never came
    await h.app.db.prisma.stripeCustomer.deleteMany({ where: { projectId, stripeId: { in: [customers.idAt(7), customers.idAt(8)] } } });

    const started = expectOk(await h.execute(StartSync, { projectId, environment: 'TEST', objects: ['CUSTOMERS'] }));
    const run = await h.waitForRun(started.startStripeSync!.id);
    expect(run.status).toBe('SUCCEEDED');
    // Deleted customers are still retrievable at Stripe, as `{ deleted: true }`: that confirms it too.
    expect(run.summary!.objectTypes).toEqual([
      expect.objectContaining({ objectType: 'CUSTOMERS', listed: 29, insertedByVerification: 0, markedDeleted: 1 }),
    ]);
    expect(await liveIds(projectId)).toEqual(
      Array.from({ length: 30 }, (_, index) => customers.idAt(index))
        .filter((id) => id !== customers.idAt(3))
        .sort(),
    );
  });

  it('an object missing from the mirror is inserted by the verification when the listing did not store it', async () => {
    const { projectId, account, firstRunId } = await h.seededProject({ products: 12 });
    await h.waitForRun(firstRunId!);
    const products = h.fake.seed(account.id, 'test', 'products', 0);
    // The listing's only page is stored, then the row disappears before the verification lists.
    let listings = 0;
    h.fake.onRequest({ path: /^\/v1\/products$/ }, async () => {
      if (++listings !== 2) return;
      await h.app.db.prisma.stripeProduct.deleteMany({ where: { projectId, stripeId: products.idAt(4) } });
    });
    const started = expectOk(await h.execute(StartSync, { projectId, environment: 'TEST', objects: ['PRODUCTS'] }));
    const run = await h.waitForRun(started.startStripeSync!.id);
    expect(run.summary!.objectTypes).toEqual([
      expect.objectContaining({ objectType: 'PRODUCTS', status: 'SUCCEEDED', listed: 12, insertedByVerification: 1, markedDeleted: 0 }),
    ]);
    expect(await h.app.db.prisma.stripeProduct.count({ where: { projectId, deleted: false } })).toBe(12);
  });

  it('fails the object type, with the reason, when a deletion cannot be confirmed', async () => {
    const { projectId, account, firstRunId } = await h.seededProject({ products: 5 });
    await h.waitForRun(firstRunId!);
    const products = h.fake.seed(account.id, 'test', 'products', 0);
    h.fake.store(account.id).delete('products', products.idAt(2));
    h.fake.failNext(10, { status: 500, path: new RegExp(`/v1/products/${products.idAt(2)}$`) });
    const started = expectOk(await h.execute(StartSync, { projectId, environment: 'TEST', objects: ['PRODUCTS'] }));
    const run = await h.waitForRun(started.startStripeSync!.id);
    expect(run.status).toBe('FAILED');
    expect(run.summary!.objectTypes[0]).toMatchObject({ objectType: 'PRODUCTS', status: 'FAILED', markedDeleted: 0 });
    expect(run.summary!.objectTypes[0]!.error).toMatch(/^verification: 1 products still differ from Stripe/);
    // Not marked deleted on a guess.
    expect(await h.app.db.prisma.stripeProduct.count({ where: { projectId, deleted: false } })).toBe(5);
  });
});

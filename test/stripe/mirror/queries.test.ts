import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  StripeCustomerFilter,
  StripeInvoiceFilter,
  StripePaymentIntentFilter,
  StripePriceFilter,
  StripeProductFilter,
  StripeSubscriptionFilter,
} from '../../../src/generated/graphql/graphql.js';
import { graphql } from '../../../src/generated/graphql/index.js';
import type { StripeEnvironment } from '../../../src/generated/prisma/enums.js';
import {
  subscriptionOf,
  subscriptionParent,
  type CollectionName,
  type FakeAccount,
  type Mode,
  type SeedCollection,
  type StripeObject,
} from '../../support/fake-stripe.js';
import { expectError } from '../../support/assertions.js';
import { NO_LEAKS } from '../support.js';
import { startSyncHarness, type SyncHarness } from '../sync/support.js';

/**
 * The six mirror connections over GraphQL, after a real sync of a fake account whose objects vary
 * (statuses, customers, products...). Expected answers are computed from the fake's objects, not
 * from Coffer's tables.
 */

const Products = graphql(`
  query MirrorSuiteProducts($projectId: ID!, $environment: StripeEnvironment!, $filter: StripeProductFilter, $first: Int, $after: String, $last: Int, $before: String) {
    stripeProducts(projectId: $projectId, environment: $environment, filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id environment created deleted name active description metadata } }
    }
  }
`);

const Prices = graphql(`
  query MirrorSuitePrices($projectId: ID!, $environment: StripeEnvironment!, $filter: StripePriceFilter, $first: Int, $after: String) {
    stripePrices(projectId: $projectId, environment: $environment, filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id active productId currency unitAmount type recurringInterval } }
    }
  }
`);

const Customers = graphql(`
  query MirrorSuiteCustomers($projectId: ID!, $environment: StripeEnvironment!, $filter: StripeCustomerFilter, $first: Int, $after: String) {
    stripeCustomers(projectId: $projectId, environment: $environment, filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id environment email name deleted created } }
    }
  }
`);

const Subscriptions = graphql(`
  query MirrorSuiteSubscriptions($projectId: ID!, $environment: StripeEnvironment!, $filter: StripeSubscriptionFilter, $first: Int, $after: String) {
    stripeSubscriptions(projectId: $projectId, environment: $environment, filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id customerId status cancelAtPeriodEnd items { id priceId productId quantity } } }
    }
  }
`);

const Invoices = graphql(`
  query MirrorSuiteInvoices($projectId: ID!, $environment: StripeEnvironment!, $filter: StripeInvoiceFilter, $first: Int, $after: String) {
    stripeInvoices(projectId: $projectId, environment: $environment, filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id customerId subscriptionId status currency amountDue amountPaid } }
    }
  }
`);

const PaymentIntents = graphql(`
  query MirrorSuitePaymentIntents($projectId: ID!, $environment: StripeEnvironment!, $filter: StripePaymentIntentFilter, $first: Int, $after: String) {
    stripePaymentIntents(projectId: $projectId, environment: $environment, filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id customerId status currency amount } }
    }
  }
`);

interface Connection {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
  edges: Array<{ node: { id: string } }>;
}

interface PageVariables {
  projectId: string;
  environment: StripeEnvironment;
  first?: number | null;
  after?: string | null;
}

const PAGE = 7;
const COUNTS = { products: 23, prices: 30, customers: 25, subscriptions: 31, invoices: 29, payment_intents: 27 } as const;

let h: SyncHarness;
let account: FakeAccount;
let projectId: string;
/** The fake's seeded collections of the main project's account (test mode). */
let seeded: Record<keyof typeof COUNTS, SeedCollection>;
/** Flagged deleted by webhooks after the sync. */
const deletedIds = new Set<string>();

/** Seeds an account with objects that vary, then configures a project with it and lets the first sync run. */
async function syncedAccountProject(
  mode: Mode,
  sizes: Partial<Record<CollectionName, number>>,
  existing?: { projectId: string; account: FakeAccount },
) {
  const owner = existing?.account ?? h.account(`Mirror ${Math.random().toString(36).slice(2, 8)}`);
  const seed = (collection: CollectionName, factory?: (index: number) => Record<string, unknown>) =>
    h.fake.seed(owner.id, mode, collection, sizes[collection] ?? 0, factory);
  const products = seed('products', (index) => ({ active: index % 4 !== 0 }));
  const customers = seed('customers', (index) => (index % 6 === 0 ? { email: 'shared@example.com' } : {}));
  const prices = seed('prices', (index) => ({
    product: products.idAt(index % 3),
    active: index % 2 === 0,
    ...(index % 5 === 0 ? { type: 'one_time', recurring: null } : {}),
  }));
  const subscriptions = seed('subscriptions', (index) => ({
    status: ['canceled', 'active', 'past_due'][index % 3],
    customer: customers.idAt(index % 4),
  }));
  const invoices = seed('invoices', (index) => ({
    status: ['paid', 'open', 'void'][index % 3],
    customer: customers.idAt(index % 4),
    parent: subscriptionParent(subscriptions.idAt(index % 5)),
  }));
  const paymentIntents = seed('payment_intents', (index) => ({
    status: ['succeeded', 'requires_payment_method', 'canceled'][index % 3],
    customer: customers.idAt(index % 4),
  }));

  const id = existing?.projectId ?? (await h.project()).id;
  const environment: StripeEnvironment = mode === 'live' ? 'LIVE' : 'TEST';
  const response = await h.configure(
    id,
    mode === 'live' ? { liveSecretKey: h.key(owner.id, { mode }) } : { testSecretKey: h.key(owner.id, { mode }) },
  );
  expect(response.errors).toEqual([]);
  const runId = response.data!.configureStripe!.results.find((result) => result.environment === environment)?.syncRunId;
  expect((await h.waitForRun(runId!)).status).toBe('SUCCEEDED');
  return {
    projectId: id,
    account: owner,
    seeded: { products, prices, customers, subscriptions, invoices, payment_intents: paymentIntents },
  };
}

beforeAll(async () => {
  h = await startSyncHarness();
  ({ projectId, account, seeded } = await syncedAccountProject('test', COUNTS));
  // One product and one customer deleted at Stripe since the sync (the customer as a bare stub).
  const secret = (await h.storedWebhookSecret(projectId))!;
  const created = Math.floor(Date.now() / 1000);
  const deletions = [
    { type: 'product.deleted', object: { ...seeded.products.at(6), active: false } },
    { type: 'customer.deleted', object: { id: seeded.customers.idAt(7), object: 'customer', deleted: true } },
  ];
  // Deleted at Stripe too: an event in the same second as the sync's write is settled by a
  // retrieve, which must then find the object gone, as Stripe would.
  h.fake.store(account.id).delete('products', seeded.products.idAt(6));
  h.fake.store(account.id).delete('customers', seeded.customers.idAt(7));
  for (const { type, object } of deletions) {
    expect((await h.sendWebhook(projectId, h.eventPayload({ type, created, object }), { secret })).status).toBe(200);
    deletedIds.add(object.id);
  }
});
afterAll(() => h.close());

/** Every object of a collection, newest first (`created` ascends with the index in the fake). */
function newestFirst(collection: SeedCollection, where: (object: StripeObject) => boolean = () => true, { includeDeleted = false } = {}) {
  return Array.from({ length: collection.count }, (_, index) => collection.at(collection.count - 1 - index)).filter(
    (object) => (includeDeleted || !deletedIds.has(object.id)) && where(object),
  );
}
const idsOf = (objects: StripeObject[]) => objects.map((object) => object.id);
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/** Follows `endCursor` with pages of seven; checks page sizes and that totalCount is the same on each page. */
async function walk<Result, Variables>(
  document: TypedDocumentNode<Result, Variables>,
  variables: NoInfer<Omit<Variables, 'first' | 'after'>>,
  pick: (data: Result) => Connection,
) {
  const ids: string[] = [];
  const totals = new Set<number>();
  let after: string | null = null;
  for (let pages = 1; ; pages++) {
    const response = await h.execute(document, { ...variables, first: PAGE, after } as Variables & PageVariables);
    expect(response.errors).toEqual([]);
    const connection = pick(response.data!);
    totals.add(connection.totalCount);
    ids.push(...connection.edges.map((edge) => edge.node.id));
    if (!connection.pageInfo.hasNextPage) {
      expect(connection.edges.length).toBeLessThanOrEqual(PAGE);
      return { ids, totalCount: [...totals], pages };
    }
    expect(connection.edges).toHaveLength(PAGE);
    after = connection.pageInfo.endCursor ?? null;
    expect(pages).toBeLessThan(100);
  }
}

/** What a walk must find: every expected id once, newest first, in ceil(n / 7) pages, totalCount n on every page. */
const walked = (expected: StripeObject[]) => ({
  ids: idsOf(expected),
  totalCount: [expected.length],
  pages: Math.max(1, Math.ceil(expected.length / PAGE)),
});

const TEST = { environment: 'TEST' as const };

describe('walking every connection, newest first, in pages of seven', () => {
  it('stripeProducts', async () => {
    expect(await walk(Products, { projectId, ...TEST }, (data) => data.stripeProducts)).toEqual(walked(newestFirst(seeded.products)));
  });
  it('stripePrices', async () => {
    expect(await walk(Prices, { projectId, ...TEST }, (data) => data.stripePrices)).toEqual(walked(newestFirst(seeded.prices)));
  });
  it('stripeCustomers', async () => {
    expect(await walk(Customers, { projectId, ...TEST }, (data) => data.stripeCustomers)).toEqual(walked(newestFirst(seeded.customers)));
  });
  it('stripeSubscriptions', async () => {
    expect(await walk(Subscriptions, { projectId, ...TEST }, (data) => data.stripeSubscriptions)).toEqual(
      walked(newestFirst(seeded.subscriptions)),
    );
  });
  it('stripeInvoices', async () => {
    expect(await walk(Invoices, { projectId, ...TEST }, (data) => data.stripeInvoices)).toEqual(walked(newestFirst(seeded.invoices)));
  });
  it('stripePaymentIntents', async () => {
    expect(await walk(PaymentIntents, { projectId, ...TEST }, (data) => data.stripePaymentIntents)).toEqual(
      walked(newestFirst(seeded.payment_intents)),
    );
  });

  it('backwards with last/before from the oldest end gives the same order', async () => {
    const expected = idsOf(newestFirst(seeded.products));
    const last = await h.execute(Products, { projectId, ...TEST, last: PAGE });
    expect(last.errors).toEqual([]);
    expect(last.data?.stripeProducts.edges.map((edge) => edge.node.id)).toEqual(expected.slice(-PAGE));
    expect(last.data?.stripeProducts.pageInfo.hasPreviousPage).toBe(true);
    const before = await h.execute(Products, { projectId, ...TEST, last: PAGE, before: last.data!.stripeProducts.pageInfo.startCursor });
    expect(before.data?.stripeProducts.edges.map((edge) => edge.node.id)).toEqual(expected.slice(-2 * PAGE, -PAGE));
  });
});

describe('nodes carry the typed columns of what Stripe sent', () => {
  it('products, prices, customers, invoices and payment intents', async () => {
    const product = seeded.products.at(4);
    const products = await h.execute(Products, { projectId, ...TEST, first: 100 });
    expect(products.data?.stripeProducts.edges.find((edge) => edge.node.id === product.id)?.node).toEqual({
      id: product.id,
      environment: 'TEST',
      created: iso(product.created),
      deleted: false,
      name: product.name,
      active: false,
      description: null,
      metadata: {},
    });

    const price = seeded.prices.at(10);
    const prices = await h.execute(Prices, { projectId, ...TEST, first: 100 });
    expect(prices.data?.stripePrices.edges.find((edge) => edge.node.id === price.id)?.node).toEqual({
      id: price.id,
      active: true,
      productId: seeded.products.idAt(1),
      currency: 'usd',
      unitAmount: price.unit_amount,
      type: 'one_time',
      recurringInterval: null,
    });

    const invoice = seeded.invoices.at(4);
    const invoices = await h.execute(Invoices, { projectId, ...TEST, first: 100 });
    expect(invoices.data?.stripeInvoices.edges.find((edge) => edge.node.id === invoice.id)?.node).toEqual({
      id: invoice.id,
      customerId: seeded.customers.idAt(0),
      subscriptionId: seeded.subscriptions.idAt(4),
      status: 'open',
      currency: 'usd',
      amountDue: invoice.amount_due,
      amountPaid: invoice.amount_paid,
    });

    const intent = seeded.payment_intents.at(5);
    const intents = await h.execute(PaymentIntents, { projectId, ...TEST, first: 100 });
    expect(intents.data?.stripePaymentIntents.edges.find((edge) => edge.node.id === intent.id)?.node).toEqual({
      id: intent.id,
      customerId: seeded.customers.idAt(1),
      status: 'canceled',
      currency: 'usd',
      amount: intent.amount,
    });
  });

  it('subscriptions come with their items', async () => {
    const response = await h.execute(Subscriptions, { projectId, ...TEST, first: 100 });
    expect(response.errors).toEqual([]);
    const nodes = response.data!.stripeSubscriptions.edges.map((edge) => edge.node);
    expect(nodes).toHaveLength(COUNTS.subscriptions);
    for (const subscription of newestFirst(seeded.subscriptions)) {
      const items = (subscription.items as { data: Array<{ id: string; quantity: number; price: { id: string; product: string } }> }).data;
      expect(nodes.find((node) => node.id === subscription.id)).toEqual({
        id: subscription.id,
        customerId: subscription.customer,
        status: subscription.status,
        cancelAtPeriodEnd: false,
        items: items.map((item) => ({ id: item.id, priceId: item.price.id, productId: item.price.product, quantity: item.quantity })),
      });
    }
  });
});

describe('filters', () => {
  it('products: active, and includeDeleted', async () => {
    const walkProducts = (filter: StripeProductFilter) => walk(Products, { projectId, ...TEST, filter }, (data) => data.stripeProducts);
    expect(await walkProducts({ active: true })).toEqual(walked(newestFirst(seeded.products, (product) => product.active === true)));
    expect(await walkProducts({ active: false })).toEqual(walked(newestFirst(seeded.products, (product) => product.active === false)));
    // The deleted product is left out unless asked for; then it is there, flagged.
    const all = newestFirst(seeded.products, () => true, { includeDeleted: true });
    expect(all).toHaveLength(COUNTS.products);
    expect(await walkProducts({ includeDeleted: true })).toEqual(walked(all));
    const response = await h.execute(Products, { projectId, ...TEST, first: 100, filter: { includeDeleted: true, active: false } });
    expect(response.data?.stripeProducts.edges.find((edge) => edge.node.id === seeded.products.idAt(6))?.node).toMatchObject({
      deleted: true,
      name: seeded.products.at(6).name,
      active: false,
    });
  });

  it('prices: productId, active and type, combined', async () => {
    const walkPrices = (filter: StripePriceFilter) => walk(Prices, { projectId, ...TEST, filter }, (data) => data.stripePrices);
    const product = seeded.products.idAt(1);
    expect(await walkPrices({ productId: product })).toEqual(walked(newestFirst(seeded.prices, (price) => price.product === product)));
    expect(await walkPrices({ active: false })).toEqual(walked(newestFirst(seeded.prices, (price) => price.active === false)));
    expect(await walkPrices({ type: 'one_time' })).toEqual(walked(newestFirst(seeded.prices, (price) => price.type === 'one_time')));
    const combined = newestFirst(seeded.prices, (price) => price.product === product && price.active === true);
    expect(combined.length).toBeGreaterThan(0);
    expect(await walkPrices({ productId: product, active: true })).toEqual(walked(combined));
    expect(await walkPrices({ productId: 'prod_nothing_here' })).toEqual(walked([]));
  });

  it('customers: email, the deleted stub kept out unless asked for', async () => {
    const walkCustomers = (filter: StripeCustomerFilter) => walk(Customers, { projectId, ...TEST, filter }, (data) => data.stripeCustomers);
    const shared = newestFirst(seeded.customers, (customer) => customer.email === 'shared@example.com');
    expect(shared.length).toBeGreaterThan(1);
    expect(await walkCustomers({ email: 'shared@example.com' })).toEqual(walked(shared));
    expect(await walkCustomers({ email: seeded.customers.at(7).email as string })).toEqual(walked([]));
    expect(await walkCustomers({ email: seeded.customers.at(7).email as string, includeDeleted: true })).toEqual(
      walked([seeded.customers.at(7)]),
    );
    const response = await h.execute(Customers, {
      projectId,
      ...TEST,
      first: 1,
      filter: { email: seeded.customers.at(7).email as string, includeDeleted: true },
    });
    // Deleted with a bare stub: the last known email and name are kept.
    expect(response.data?.stripeCustomers.edges[0]?.node).toMatchObject({
      id: seeded.customers.idAt(7),
      deleted: true,
      email: seeded.customers.at(7).email,
      name: seeded.customers.at(7).name,
    });
  });

  it('subscriptions: customerId and a status list', async () => {
    const walkSubscriptions = (filter: StripeSubscriptionFilter) =>
      walk(Subscriptions, { projectId, ...TEST, filter }, (data) => data.stripeSubscriptions);
    const customer = seeded.customers.idAt(2);
    expect(await walkSubscriptions({ customerId: customer })).toEqual(
      walked(newestFirst(seeded.subscriptions, (subscription) => subscription.customer === customer)),
    );
    expect(await walkSubscriptions({ status: ['active'] })).toEqual(
      walked(newestFirst(seeded.subscriptions, (subscription) => subscription.status === 'active')),
    );
    expect(await walkSubscriptions({ status: ['canceled', 'past_due'] })).toEqual(
      walked(newestFirst(seeded.subscriptions, (subscription) => subscription.status !== 'active')),
    );
    expect(await walkSubscriptions({ status: ['canceled'], customerId: customer })).toEqual(
      walked(newestFirst(seeded.subscriptions, (subscription) => subscription.status === 'canceled' && subscription.customer === customer)),
    );
  });

  it('invoices: customerId, subscriptionId and a status list', async () => {
    const walkInvoices = (filter: StripeInvoiceFilter) => walk(Invoices, { projectId, ...TEST, filter }, (data) => data.stripeInvoices);
    const customer = seeded.customers.idAt(3);
    const subscription = seeded.subscriptions.idAt(2);
    expect(await walkInvoices({ customerId: customer })).toEqual(
      walked(newestFirst(seeded.invoices, (invoice) => invoice.customer === customer)),
    );
    expect(await walkInvoices({ subscriptionId: subscription })).toEqual(
      walked(newestFirst(seeded.invoices, (invoice) => subscriptionOf(invoice) === subscription)),
    );
    expect(await walkInvoices({ status: ['open', 'void'] })).toEqual(
      walked(newestFirst(seeded.invoices, (invoice) => invoice.status !== 'paid')),
    );
    expect(await walkInvoices({ subscriptionId: subscription, status: ['paid'] })).toEqual(
      walked(newestFirst(seeded.invoices, (invoice) => subscriptionOf(invoice) === subscription && invoice.status === 'paid')),
    );
  });

  it('payment intents: customerId and a status list', async () => {
    const walkIntents = (filter: StripePaymentIntentFilter) =>
      walk(PaymentIntents, { projectId, ...TEST, filter }, (data) => data.stripePaymentIntents);
    const customer = seeded.customers.idAt(0);
    expect(await walkIntents({ customerId: customer })).toEqual(
      walked(newestFirst(seeded.payment_intents, (intent) => intent.customer === customer)),
    );
    expect(await walkIntents({ status: ['requires_payment_method'] })).toEqual(
      walked(newestFirst(seeded.payment_intents, (intent) => intent.status === 'requires_payment_method')),
    );
  });

  it('created ranges: gte is inclusive, lt exclusive; gt and lte the other way round', async () => {
    const { customers, invoices } = seeded;
    const from = customers.at(5).created;
    const to = customers.at(15).created;
    const walkCustomers = (created: NonNullable<StripeCustomerFilter['created']>) =>
      walk(Customers, { projectId, ...TEST, filter: { created } }, (data) => data.stripeCustomers);
    expect(await walkCustomers({ gte: iso(from), lt: iso(to) })).toEqual(
      walked(newestFirst(customers, (customer) => customer.created >= from && customer.created < to)),
    );
    expect(await walkCustomers({ gt: iso(from), lte: iso(to) })).toEqual(
      walked(newestFirst(customers, (customer) => customer.created > from && customer.created <= to)),
    );
    expect((await walkCustomers({ gte: iso(from), lt: iso(to) })).ids).toHaveLength(to - from - 1); // index 7 is deleted
    // Backwards too: the cursor does not lift the range.
    const [low, high] = [seeded.products.at(2).created, seeded.products.at(12).created];
    const inRange = idsOf(newestFirst(seeded.products, (product) => product.created >= low && product.created < high));
    const created = { gte: iso(low), lt: iso(high) };
    const oldest = await h.execute(Products, { projectId, ...TEST, last: 4, filter: { created } });
    expect(oldest.data?.stripeProducts.edges.map((edge) => edge.node.id)).toEqual(inRange.slice(-4));
    const rest = await h.execute(Products, {
      projectId,
      ...TEST,
      last: PAGE,
      before: oldest.data!.stripeProducts.pageInfo.startCursor,
      filter: { created },
    });
    expect(rest.data?.stripeProducts.edges.map((edge) => edge.node.id)).toEqual(inRange.slice(0, -4));
    expect(rest.data?.stripeProducts.pageInfo.hasPreviousPage).toBe(false);
    expect(rest.data?.stripeProducts.totalCount).toBe(inRange.length);

    const since = invoices.at(20).created;
    expect(
      await walk(
        Invoices,
        { projectId, ...TEST, filter: { created: { gte: iso(since) }, status: ['paid'] } },
        (data) => data.stripeInvoices,
      ),
    ).toEqual(walked(newestFirst(invoices, (invoice) => invoice.created >= since && invoice.status === 'paid')));
  });

  it('an empty status list → BAD_USER_INPUT', async () => {
    expectError(await h.execute(Subscriptions, { projectId, ...TEST, first: 5, filter: { status: [] } }), 'BAD_USER_INPUT');
  });
});

describe('cursors and access', () => {
  it('a forged cursor → BAD_USER_INPUT on every connection', async () => {
    const forged = [
      'not-a-cursor',
      Buffer.from('k1:2026-01-01T00:00:00.000Z:cus_x; DROP TABLE').toString('base64url'),
      Buffer.from('k2:2026-01-01T00:00:00.000Z:cus_x').toString('base64url'),
      Buffer.from('k1:yesterday:cus_x').toString('base64url'),
    ];
    for (const after of forged) {
      const variables = { projectId, ...TEST, first: PAGE, after };
      expectError(await h.execute(Products, variables), 'BAD_USER_INPUT');
      expectError(await h.execute(Prices, variables), 'BAD_USER_INPUT');
      expectError(await h.execute(Customers, variables), 'BAD_USER_INPUT');
      expectError(await h.execute(Subscriptions, variables), 'BAD_USER_INPUT');
      expectError(await h.execute(Invoices, variables), 'BAD_USER_INPUT');
      expectError(await h.execute(PaymentIntents, variables), 'BAD_USER_INPUT');
    }
  });

  it('a stranger → NOT_FOUND (as for an unknown project) on every connection; an admin may read', async () => {
    const variables = { projectId, ...TEST, first: PAGE };
    const as = { credential: h.app.stranger.key };
    expectError(await h.execute(Products, variables, as), 'NOT_FOUND');
    expectError(await h.execute(Prices, variables, as), 'NOT_FOUND');
    expectError(await h.execute(Customers, variables, as), 'NOT_FOUND');
    expectError(await h.execute(Subscriptions, variables, as), 'NOT_FOUND');
    expectError(await h.execute(Invoices, variables, as), 'NOT_FOUND');
    expectError(await h.execute(PaymentIntents, variables, as), 'NOT_FOUND');
    const admin = await h.execute(Customers, variables, { credential: h.app.admin.key });
    expect(admin.errors).toEqual([]);
    expect(admin.data?.stripeCustomers.totalCount).toBe(COUNTS.customers - 1);
  });

  it("another project's data never appears, and each project sees its own", async () => {
    const other = await syncedAccountProject('test', { products: 3, customers: 9, subscriptions: 2 });
    // The main project's answers are exactly its own account's objects, as before the other sync.
    expect(await walk(Customers, { projectId, ...TEST }, (data) => data.stripeCustomers)).toEqual(walked(newestFirst(seeded.customers)));
    expect(await walk(Products, { projectId, ...TEST }, (data) => data.stripeProducts)).toEqual(walked(newestFirst(seeded.products)));
    // And the other project sees only its own.
    expect(await walk(Customers, { projectId: other.projectId, ...TEST }, (data) => data.stripeCustomers)).toEqual(
      walked(newestFirst(other.seeded.customers)),
    );
    expect(await walk(Subscriptions, { projectId: other.projectId, ...TEST }, (data) => data.stripeSubscriptions)).toEqual(
      walked(newestFirst(other.seeded.subscriptions)),
    );
    expect(await walk(Invoices, { projectId: other.projectId, ...TEST }, (data) => data.stripeInvoices)).toEqual(walked([]));
    // Filtering by an id of the other project's data finds nothing here.
    expect(
      await walk(
        Subscriptions,
        { projectId, ...TEST, filter: { customerId: other.seeded.customers.idAt(0) } },
        (data) => data.stripeSubscriptions,
      ),
    ).toEqual(walked([]));
  });

  it('LIVE and TEST are separate: the live sync fills LIVE only', async () => {
    expect(await walk(Customers, { projectId, environment: 'LIVE' }, (data) => data.stripeCustomers)).toEqual(walked([]));
    const live = await syncedAccountProject('live', { products: 2, customers: 11 }, { projectId, account });
    const liveCustomers = await walk(Customers, { projectId, environment: 'LIVE' }, (data) => data.stripeCustomers);
    expect(liveCustomers).toEqual(walked(newestFirst(live.seeded.customers)));
    expect(liveCustomers.ids.some((id) => seeded.customers.indexOf(id) >= 0)).toBe(false);
    const nodes = (await h.execute(Customers, { projectId, environment: 'LIVE', first: 100 })).data!.stripeCustomers.edges.map(
      (edge) => edge.node.environment,
    );
    expect(new Set(nodes)).toEqual(new Set(['LIVE']));
    expect(await walk(Products, { projectId, environment: 'LIVE' }, (data) => data.stripeProducts)).toEqual(
      walked(newestFirst(live.seeded.products)),
    );
    // TEST is as it was.
    expect(await walk(Customers, { projectId, ...TEST }, (data) => data.stripeCustomers)).toEqual(walked(newestFirst(seeded.customers)));
  });
});

it('leak canary: no full credential used in this file leaked', async () => {
  expect(await h.leaks()).toEqual(NO_LEAKS);
});

import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OBJECT_TYPES, type ObjectTypeSpec } from '../../../src/features/stripe/mirror/object-types.js';
import { MANAGED_WEBHOOK_EVENTS } from '../../../src/features/stripe/webhooks/managed-webhooks.js';
import { generatedItems, type CollectionName } from '../../support/fake-stripe.js';
import { expectOk } from '../../support/assertions.js';
import { NO_LEAKS } from '../support.js';
import { StartSync, startSyncHarness, type SyncHarness } from '../sync/support.js';

/**
 * The object types declared with a query in OBJECT_TYPES, end to end against the fake: the sync
 * stores them, a webhook event updates them, the generated connection lists and filters them, and
 * the verification repairs them. Expected answers come from the fake's objects.
 */

let h: SyncHarness;
beforeAll(async () => {
  h = await startSyncHarness();
});
afterAll(() => h.close());

const QUERIED = Object.values(OBJECT_TYPES).filter((spec): spec is ObjectTypeSpec & { query: NonNullable<ObjectTypeSpec['query']> } =>
  Boolean(spec.query),
);
const COUNTS: Partial<Record<CollectionName, number>> = {
  customers: 6,
  charges: 4,
  refunds: 3,
  checkout_sessions: 5,
  setup_intents: 4,
  payment_methods: 3,
  disputes: 3,
  credit_notes: 3,
  coupons: 4,
  promotion_codes: 3,
  tax_ids: 2,
  subscription_schedules: 3,
  balance_transactions: 6,
};
const camel = (column: string) => column.replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());

type Node = Record<string, unknown> & { id: string; metadata: Record<string, string> | null };
type Answer = Record<string, { totalCount: number; edges: Array<{ node: Node }> }>;

function listDocument(spec: (typeof QUERIED)[number]): TypedDocumentNode<Answer, Record<string, unknown>> {
  const { field, typeName, columns } = spec.query;
  const fields = ['id', 'deleted', 'metadata', ...Object.keys(columns).map(camel)].join(' ');
  return parse(`
    query ObjectTypes${typeName}($projectId: ID!, $filter: ${typeName}Filter) {
      ${field}(projectId: $projectId, environment: TEST, filter: $filter, first: 100) { totalCount edges { node { ${fields} } } }
    }`) as TypedDocumentNode<Answer, Record<string, unknown>>;
}

async function list(spec: (typeof QUERIED)[number], projectId: string, filter?: Record<string, unknown>) {
  const answer = expectOk(await h.execute(listDocument(spec), { projectId, filter }));
  return answer[spec.query.field]!;
}

const wallSeconds = () => Math.floor(Date.now() / 1000);

describe('object types declared once', () => {
  it('declares at least 19 typed object types (18 tables, subscription items and invoice lines), each with its events subscribed', () => {
    expect(Object.keys(OBJECT_TYPES).length + 2).toBeGreaterThanOrEqual(19);
    for (const spec of Object.values(OBJECT_TYPES)) for (const event of spec.events) expect(MANAGED_WEBHOOK_EVENTS).toContain(event);
    expect(MANAGED_WEBHOOK_EVENTS).toEqual(expect.arrayContaining(['payment_intent.processing', 'charge.captured', 'invoice.overdue']));
  });

  it('every queried type: synced, listed with totalCount and a filter, updated by a webhook, repaired by the verification', async () => {
    const { projectId, account, firstRunId } = await h.seededProject(COUNTS);
    const first = await h.waitForRun(firstRunId!);
    expect(first.status).toBe('SUCCEEDED');

    for (const spec of QUERIED) {
      const collection = spec.type;
      const expected = h.fakeIds(account.id, collection);
      const answer = await list(spec, projectId);
      expect(answer.totalCount, collection).toBe(COUNTS[collection]);
      expect(answer.edges.map((edge) => edge.node.id).sort(), collection).toEqual(expected);

      // A filter on the first filterable column: every match has the value, and the object it came from is among them.
      const [column, how] = Object.entries(spec.query.columns)
        .find(([, entry]) => entry.filter)!
        .map((entry) => entry) as [string, { filter: 'eq' | 'in' }];
      const sample = answer.edges.find((edge) => edge.node[camel(column)] !== null)?.node;
      if (sample) {
        const value = sample[camel(column)];
        const filtered = await list(spec, projectId, { [camel(column)]: how.filter === 'in' ? [value] : value });
        expect(
          filtered.edges.map((edge) => edge.node.id),
          collection,
        ).toContain(sample.id);
        expect(filtered.totalCount).toBe(filtered.edges.length);
        for (const edge of filtered.edges) expect(edge.node[camel(column)], collection).toEqual(value);
      }
    }

    // A webhook event per type with events: the object's new state is stored.
    const secret = (await h.storedWebhookSecret(projectId))!;
    const store = h.fake.store(account.id);
    for (const spec of QUERIED.filter((entry) => entry.events.length > 0)) {
      const id = h.fakeIds(account.id, spec.type)[0]!;
      const object = { ...store.retrieve(spec.type, id)!, metadata: { via: 'webhook' } };
      const type = spec.events.find((event) => event.endsWith('.updated')) ?? spec.events[0]!;
      const payload = h.eventPayload({ type, created: wallSeconds() + 2, object });
      expect(await h.sendWebhook(projectId, payload, { secret }), spec.type).toEqual({
        status: 200,
        json: { received: true, duplicate: false },
      });
      const node = (await list(spec, projectId)).edges.find((edge) => edge.node.id === id)!.node;
      expect(node.metadata, spec.type).toEqual({ via: 'webhook' });
    }

    // The verification: a row lost from the mirror comes back, a coupon deleted at Stripe is marked deleted.
    const lost = h.fakeIds(account.id, 'disputes')[1]!;
    await h.app.db.prisma.stripeDispute.deleteMany({ where: { projectId, stripeId: lost } });
    const gone = h.fakeIds(account.id, 'coupons')[2]!;
    store.delete('coupons', gone, { events: [] });
    const objects = QUERIED.map((spec) => spec.type.toUpperCase());
    const started = expectOk(await h.execute(StartSync, { projectId, environment: 'TEST', objects: objects as never }));
    const run = await h.waitForRun(started.startStripeSync!.id);
    expect(run.status).toBe('SUCCEEDED');
    expect(run.summary!.objectTypes.find((entry) => entry.objectType === 'COUPONS')).toMatchObject({
      listed: COUNTS.coupons! - 1,
      markedDeleted: 1,
    });
    expect((await list(OBJECT_TYPES.disputes as (typeof QUERIED)[number], projectId)).edges.map((edge) => edge.node.id)).toContain(lost);
    const coupons = await list(OBJECT_TYPES.coupons as (typeof QUERIED)[number], projectId, { includeDeleted: true });
    expect(coupons.edges.find((edge) => edge.node.id === gone)?.node.deleted).toBe(true);
    expect((await list(OBJECT_TYPES.coupons as (typeof QUERIED)[number], projectId)).totalCount).toBe(COUNTS.coupons! - 1);
    expect(await h.leaks()).toEqual(NO_LEAKS);
  });
});

const InvoiceLines = parse(`
  query ObjectTypesInvoiceLines($projectId: ID!) {
    stripeInvoices(projectId: $projectId, environment: TEST, first: 10) { edges { node { id lines { id subscriptionId quantity } } } }
  }`) as TypedDocumentNode<
  { stripeInvoices: { edges: Array<{ node: { id: string; lines: Array<{ id: string }> } }> } },
  { projectId: string }
>;

describe('invoice lines', () => {
  it('are stored complete: the sync and a webhook fetch the lines Stripe leaves out inline', async () => {
    const account = h.account('Many Lines Ltd');
    h.fake.seed(account.id, 'test', 'subscriptions', 2, (index, base) => ({ items: generatedItems(base.id, index === 1 ? 23 : 2) }));
    const invoices = h.fake.seed(account.id, 'test', 'invoices', 2);
    const big = invoices.at(1);
    expect((big.lines as { data: unknown[]; has_more: boolean }).has_more).toBe(true);
    const store = h.fake.store(account.id);
    const allLines = store.lines('invoices', big.id).map((line) => line.id);
    expect(allLines).toHaveLength(23);

    const project = await h.project();
    const configured = await h.configure(project.id, { testSecretKey: h.key(account.id) });
    expect((await h.waitForRun(configured.data!.configureStripe!.results[0]!.syncRunId!)).status).toBe('SUCCEEDED');
    const linesOf = async () =>
      expectOk(await h.execute(InvoiceLines, { projectId: project.id }))
        .stripeInvoices.edges.find((edge) => edge.node.id === big.id)!
        .node.lines.map((line) => line.id);
    expect(await linesOf()).toEqual(allLines);
    expect(h.fake.requests.some((request) => request.path === `/v1/invoices/${big.id}/lines`)).toBe(true);

    // An invoice event carries 10 lines inline: the rest are fetched, never dropped.
    const secret = (await h.storedWebhookSecret(project.id))!;
    const inline = { ...store.retrieve('invoices', big.id)!, metadata: { via: 'webhook' } };
    expect((inline as { lines?: { has_more: boolean } }).lines?.has_more).toBe(true);
    const payload = h.eventPayload({ type: 'invoice.updated', created: wallSeconds() + 2, object: inline });
    expect((await h.sendWebhook(project.id, payload, { secret })).status).toBe(200);
    expect(await linesOf()).toEqual(allLines);
  });
});

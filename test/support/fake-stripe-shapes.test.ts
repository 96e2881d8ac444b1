import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Stripe from 'stripe';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTION_NAMES, REMOVED_FIELDS, startFakeStripe, type FakeCollectionName, type FakeStripe } from './fake-stripe.js';

/**
 * The fake's objects against the `stripe` package's types (generated from Stripe's OpenAPI at the
 * pinned API version): the generators must type-check, a fixture in an older shape must not, and
 * what the fake serves must have every field the type requires and none it does not know.
 */

const OBJECTS_DIR = join(import.meta.dirname, 'fake-stripe', 'objects');
const VIRTUAL = join(import.meta.dirname, '__shape_probe__.ts');

const TYPE_OF: Record<FakeCollectionName, string> = {
  products: 'Product',
  prices: 'Price',
  customers: 'Customer',
  subscriptions: 'Subscription',
  invoices: 'Invoice',
  payment_intents: 'PaymentIntent',
  charges: 'Charge',
  refunds: 'Refund',
  checkout_sessions: 'Checkout.Session',
  setup_intents: 'SetupIntent',
  payment_methods: 'PaymentMethod',
  disputes: 'Dispute',
  credit_notes: 'CreditNote',
  coupons: 'Coupon',
  promotion_codes: 'PromotionCode',
  tax_ids: 'TaxId',
  subscription_schedules: 'SubscriptionSchedule',
  balance_transactions: 'BalanceTransaction',
};
const CHILD_TYPES = { subscription_items: 'SubscriptionItem', invoice_line_items: 'InvoiceLineItem', events: 'EventBase' } as const;

/** Compiles the objects folder plus an in-memory file, with the project's compiler options. */
function compile(extra: string) {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(import.meta.dirname, '..', '..', 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  )!;
  const host = ts.createCompilerHost(parsed.options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.readFile = (file) => (file === VIRTUAL ? extra : readFile(file));
  host.fileExists = (file) => file === VIRTUAL || fileExists(file);
  const roots = [
    ...readdirSync(OBJECTS_DIR)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(OBJECTS_DIR, f)),
    VIRTUAL,
  ];
  const program = ts.createProgram(roots, { ...parsed.options, noEmit: true }, host);
  const messages = (file: string) =>
    ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  return { program, messages, roots };
}

/** Property names of a `Stripe.X` type: all of them, and those that are not optional. */
function propertiesOf(program: ts.Program, alias: string) {
  const checker = program.getTypeChecker();
  const symbol = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(VIRTUAL)!)!).find((s) => s.name === alias)!;
  const props = checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol));
  return { all: props.map((p) => p.name), required: props.filter((p) => !(p.flags & ts.SymbolFlags.Optional)).map((p) => p.name) };
}

const probe = [
  "import Stripe from 'stripe';",
  "import type { Wire } from './fake-stripe/objects/context.js';",
  "import { invoice } from './fake-stripe/objects/invoices.js';",
  "import { subscription } from './fake-stripe/objects/billing.js';",
  "import type { BuildContext } from './fake-stripe/objects/context.js';",
  ...Object.entries({ ...TYPE_OF, ...CHILD_TYPES }).map(([name, type]) => `export type T_${name} = Stripe.${type};`),
  'declare const ctx: BuildContext;',
  // Fixtures in pre-2025 shapes: each line must be an error.
  "export const oldInvoice = { ...invoice(ctx), subscription: 'sub_1' } satisfies Wire<Stripe.Invoice>;",
  'export const oldSubscription = { ...subscription(ctx), current_period_end: 1 } satisfies Wire<Stripe.Subscription>;',
  'export const { lines: _lines, ...noLines } = invoice(ctx); export const incomplete = noLines satisfies Wire<Stripe.Invoice>;',
].join('\n');

describe('fake Stripe objects against the stripe package types', () => {
  const compiled = compile(probe);

  it('every generator type-checks against Stripe.* at the pinned version (typed with satisfies)', () => {
    for (const root of compiled.roots.filter((r) => r !== VIRTUAL)) expect(compiled.messages(root), root).toEqual([]);
    expect(compiled.roots.length).toBeGreaterThanOrEqual(6);
  });

  it('a fixture in an older shape, or missing a required field, does not', () => {
    const errors = compiled.messages(VIRTUAL);
    expect(errors).toEqual([
      expect.stringContaining("'subscription' does not exist in type"),
      expect.stringContaining("'current_period_end' does not exist in type"),
      expect.stringMatching(/Property 'lines' is missing/),
    ]);
  });

  it('the fields the fake refuses (REMOVED_FIELDS) are indeed gone from the types', () => {
    for (const [kind, fields] of Object.entries(REMOVED_FIELDS)) {
      const { all } = propertiesOf(compiled.program, `T_${kind}`);
      expect(all.length, kind).toBeGreaterThan(5);
      for (const field of Object.keys(fields)) expect(all, `${kind}.${field}`).not.toContain(field);
    }
  });

  describe('what the fake serves', () => {
    let fake: FakeStripe;
    let stripe: Stripe;
    /** Payment methods and tax ids are listed per customer (Stripe's defaults list detached ones, the account's own). */
    const query: Partial<Record<FakeCollectionName, string>> = {};
    beforeAll(async () => {
      fake = await startFakeStripe();
      const account = fake.addAccount({ name: 'Shapes Ltd' });
      const customer = fake.seed(account.id, 'test', 'customers', 0).idAt(0);
      Object.assign(query, { payment_methods: `?customer=${customer}`, tax_ids: `?owner[type]=customer&owner[customer]=${customer}` });
      for (const name of COLLECTION_NAMES) fake.seed(account.id, 'test', name, 3);
      stripe = new Stripe(fake.addKey(account.id), { host: '127.0.0.1', port: fake.port, protocol: 'http', maxNetworkRetries: 0 });
      fake.store(account.id).update('customers', fake.seed(account.id, 'test', 'customers', 0).idAt(1), { name: 'Renamed' });
    });
    afterAll(() => fake.close());

    const keysOk = (object: Record<string, unknown>, alias: string, label: string) => {
      const { all, required } = propertiesOf(compiled.program, alias);
      expect(
        required.filter((key) => !(key in object)),
        `${label}: missing required fields`,
      ).toEqual([]);
      expect(
        Object.keys(object).filter((key) => !all.includes(key)),
        `${label}: fields the type does not know`,
      ).toEqual([]);
    };

    it.each(COLLECTION_NAMES)('%s: every required field, no unknown one, in lists and retrieves', async (name) => {
      const path = `/v1/${name === 'checkout_sessions' ? 'checkout/sessions' : name}`;
      const list = (await stripe.rawRequest('GET', `${path}${query[name] ?? ''}`)) as unknown as { data: Array<Record<string, unknown>> };
      expect(list.data).toHaveLength(query[name] ? 1 : 3);
      for (const object of list.data) keysOk(object, `T_${name}`, `${name} ${String(object.id)}`);
      const one = (await stripe.rawRequest('GET', `${path}/${String(list.data[0]!.id)}`)) as unknown as Record<string, unknown>;
      keysOk(one, `T_${name}`, `${name} retrieve`);
    });

    it('subscription items, invoice lines and events too', async () => {
      const subscription = (await stripe.subscriptions.list({ limit: 1 })).data[0]!;
      for (const item of subscription.items.data) keysOk(item as unknown as Record<string, unknown>, 'T_subscription_items', 'item');
      const invoice = (await stripe.invoices.list({ limit: 1 })).data[0]!;
      for (const line of invoice.lines.data) keysOk(line as unknown as Record<string, unknown>, 'T_invoice_line_items', 'line');
      const [event] = (await stripe.events.list()).data;
      expect(event).toMatchObject({ type: 'customer.updated', api_version: '2026-10-28.endive' });
      keysOk(event as unknown as Record<string, unknown>, 'T_events', 'event');
    });
  });
});

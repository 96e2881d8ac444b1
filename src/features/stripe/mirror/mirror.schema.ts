import type { ObjectRef } from '@pothos/core';
import type {
  StripeCustomer,
  StripeInvoice,
  StripePaymentIntent,
  StripePrice,
  StripeProduct,
  StripeSubscription,
  StripeSubscriptionItem,
} from '../../../generated/prisma/client.js';
import type { StripeEnvironment } from '../../../generated/prisma/enums.js';
import { builder } from '../../../graphql/builder.js';
import { connectionOf } from '../../../graphql/connections.js';
import { StripeEnvironmentEnum } from '../shared.schema.js';
import { listMirrored, subscriptionItems, type FilterColumns, type MirrorListArgs } from './mirror.service.js';
import { OBJECT_TYPES, type ObjectTypeSpec } from './object-types.js';

/** Columns every mirrored object has. */
interface MirroredRow {
  stripeId: string;
  projectId: string;
  environment: StripeEnvironment;
  created: Date;
  deleted: boolean;
  data: unknown;
  changedAt: Date;
}

const amount = (value: bigint | null) => (value === null ? null : Number(value));
const dataField = (row: MirroredRow, key: string) => ((row.data ?? {}) as Record<string, unknown>)[key];

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/** The fields every mirrored object has; each type adds its typed columns. */
function commonFields(fieldBuilder: unknown) {
  const t = fieldBuilder as PothosSchemaTypes.ObjectFieldBuilder<Types, MirroredRow>;
  return {
    id: t.exposeID('stripeId', { description: 'The Stripe id.' }),
    environment: t.expose('environment', { type: StripeEnvironmentEnum }),
    created: t.expose('created', { type: 'DateTime' }),
    deleted: t.exposeBoolean('deleted', { description: 'Deleted at Stripe; the last known data is kept.' }),
    changedAt: t.expose('changedAt', {
      type: 'DateTime',
      description: 'When this data was current at Stripe (event time, or when the sync read it).',
    }),
    metadata: t.field({ type: 'JSON', nullable: true, resolve: (row) => dataField(row, 'metadata') ?? null }),
    raw: t.field({ type: 'JSON', description: 'The object as Stripe sent it.', resolve: (row) => row.data }),
  };
}

const StripeProductRef = builder.objectRef<StripeProduct>('StripeProduct').implement({
  description: 'A product mirrored from Stripe.',
  fields: (t) => ({
    ...commonFields(t),
    name: t.exposeString('name', { nullable: true }),
    active: t.exposeBoolean('active'),
    description: t.string({ nullable: true, resolve: (row) => (dataField(row, 'description') as string | null | undefined) ?? null }),
  }),
});

const StripePriceRef = builder.objectRef<StripePrice>('StripePrice').implement({
  description: 'A price mirrored from Stripe.',
  fields: (t) => ({
    ...commonFields(t),
    active: t.exposeBoolean('active'),
    productId: t.exposeString('productId', { nullable: true }),
    currency: t.exposeString('currency', { nullable: true }),
    unitAmount: t.int({ nullable: true, description: "In the currency's smallest unit.", resolve: (row) => amount(row.unitAmount) }),
    type: t.exposeString('type', { nullable: true }),
    recurringInterval: t.exposeString('recurringInterval', { nullable: true }),
  }),
});

const StripeCustomerRef = builder.objectRef<StripeCustomer>('StripeCustomer').implement({
  description: 'A customer mirrored from Stripe.',
  fields: (t) => ({
    ...commonFields(t),
    email: t.exposeString('email', { nullable: true }),
    name: t.exposeString('name', { nullable: true }),
  }),
});

const StripeSubscriptionItemRef = builder.objectRef<StripeSubscriptionItem>('StripeSubscriptionItem').implement({
  fields: (t) => ({
    id: t.exposeID('stripeId'),
    priceId: t.exposeString('priceId', { nullable: true }),
    productId: t.exposeString('productId', { nullable: true }),
    quantity: t.exposeInt('quantity', { nullable: true }),
  }),
});

const StripeSubscriptionRef = builder.objectRef<StripeSubscription>('StripeSubscription').implement({
  description: 'A subscription mirrored from Stripe, with its items.',
  fields: (t) => ({
    ...commonFields(t),
    customerId: t.exposeString('customerId', { nullable: true }),
    status: t.exposeString('status', { nullable: true }),
    currentPeriodEnd: t.expose('currentPeriodEnd', { type: 'DateTime', nullable: true }),
    cancelAtPeriodEnd: t.exposeBoolean('cancelAtPeriodEnd'),
    items: t.field({
      type: [StripeSubscriptionItemRef],
      resolve: (row, _args, ctx) => subscriptionItems(ctx.db, row),
    }),
  }),
});

interface InvoiceLine {
  id: string;
  amount?: number | null;
  currency?: string | null;
  description?: string | null;
  quantity?: number | null;
  period?: { start?: number; end?: number } | null;
  pricing?: { price_details?: { price?: string | { id: string } | null } | null } | null;
  parent?: { subscription_item_details?: { subscription?: string | null } | null } | null;
}

const idOf = (value: string | { id: string } | null | undefined) =>
  typeof value === 'object' && value !== null ? value.id : (value ?? null);

const StripeInvoiceLineItemRef = builder.objectRef<InvoiceLine>('StripeInvoiceLineItem').implement({
  description: 'A line of an invoice, as mirrored with it (complete: the lines Stripe leaves out inline are fetched).',
  fields: (t) => ({
    id: t.exposeID('id'),
    amount: t.int({ nullable: true, resolve: (line) => line.amount ?? null }),
    currency: t.string({ nullable: true, resolve: (line) => line.currency ?? null }),
    description: t.string({ nullable: true, resolve: (line) => line.description ?? null }),
    quantity: t.int({ nullable: true, resolve: (line) => line.quantity ?? null }),
    priceId: t.string({ nullable: true, resolve: (line) => idOf(line.pricing?.price_details?.price) }),
    subscriptionId: t.string({ nullable: true, resolve: (line) => line.parent?.subscription_item_details?.subscription ?? null }),
    periodStart: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (line) => (line.period?.start ? new Date(line.period.start * 1000) : null),
    }),
    periodEnd: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (line) => (line.period?.end ? new Date(line.period.end * 1000) : null),
    }),
  }),
});

const StripeInvoiceRef = builder.objectRef<StripeInvoice>('StripeInvoice').implement({
  description: 'An invoice mirrored from Stripe.',
  fields: (t) => ({
    ...commonFields(t),
    customerId: t.exposeString('customerId', { nullable: true }),
    subscriptionId: t.exposeString('subscriptionId', { nullable: true }),
    status: t.exposeString('status', { nullable: true }),
    currency: t.exposeString('currency', { nullable: true }),
    amountDue: t.int({ nullable: true, resolve: (row) => amount(row.amountDue) }),
    amountPaid: t.int({ nullable: true, resolve: (row) => amount(row.amountPaid) }),
    lines: t.field({
      type: [StripeInvoiceLineItemRef],
      description: "Every line of the invoice, in Stripe's order.",
      resolve: (row) => (dataField(row, 'lines') as { data?: InvoiceLine[] } | undefined)?.data ?? [],
    }),
  }),
});

const StripePaymentIntentRef = builder.objectRef<StripePaymentIntent>('StripePaymentIntent').implement({
  description: 'A payment intent mirrored from Stripe.',
  fields: (t) => ({
    ...commonFields(t),
    customerId: t.exposeString('customerId', { nullable: true }),
    status: t.exposeString('status', { nullable: true }),
    currency: t.exposeString('currency', { nullable: true }),
    amount: t.int({ nullable: true, resolve: (row) => amount(row.amount) }),
  }),
});

const StripeCreatedRange = builder.inputType('StripeCreatedRange', {
  description: 'Bounds on `created` (inclusive `gte`/`lte`, exclusive `gt`/`lt`).',
  fields: (t) => ({
    gte: t.field({ type: 'DateTime', required: false }),
    gt: t.field({ type: 'DateTime', required: false }),
    lte: t.field({ type: 'DateTime', required: false }),
    lt: t.field({ type: 'DateTime', required: false }),
  }),
});

const filterInput = (
  name: string,
  fields: (t: PothosSchemaTypes.InputFieldBuilder<PothosSchemaTypes.ExtendDefaultTypes<never>, 'InputObject'>) => Record<string, unknown>,
) =>
  builder.inputType(name, {
    fields: (t) => ({
      created: t.field({ type: StripeCreatedRange, required: false }),
      includeDeleted: t.boolean({
        required: false,
        defaultValue: false,
        description: 'Objects deleted at Stripe are left out unless asked for.',
      }),
      ...(fields(t as never) as object),
    }),
  });

function mirrorQuery(
  name: string,
  spec: ObjectTypeSpec,
  type: ObjectRef<PothosSchemaTypes.ExtendDefaultTypes<never>, MirroredRow>,
  description: string,
  filter: ReturnType<typeof filterInput>,
  columns: FilterColumns,
) {
  builder.queryField(name, (t) =>
    t.connection(
      {
        type: type as never,
        description: `${description} Newest first; owner or admin.`,
        args: {
          projectId: t.arg.id(),
          environment: t.arg({ type: StripeEnvironmentEnum }),
          filter: t.arg({ type: filter, required: false }),
        },
        resolve: (_root, args, ctx) =>
          listMirrored<MirroredRow>(
            ctx.db,
            spec,
            { ...(args as Omit<MirrorListArgs, 'projectId'>), projectId: String(args.projectId) },
            columns,
          ) as never,
      },
      connectionOf(type as never) as never,
    ),
  );
}

const ProductFilter = filterInput('StripeProductFilter', (t) => ({ active: t.boolean({ required: false }) }));
const PriceFilter = filterInput('StripePriceFilter', (t) => ({
  active: t.boolean({ required: false }),
  productId: t.string({ required: false }),
  type: t.string({ required: false }),
}));
const CustomerFilter = filterInput('StripeCustomerFilter', (t) => ({ email: t.string({ required: false }) }));
const SubscriptionFilter = filterInput('StripeSubscriptionFilter', (t) => ({
  customerId: t.string({ required: false }),
  status: t.stringList({ required: false }),
}));
const InvoiceFilter = filterInput('StripeInvoiceFilter', (t) => ({
  customerId: t.string({ required: false }),
  subscriptionId: t.string({ required: false }),
  status: t.stringList({ required: false }),
}));
const PaymentIntentFilter = filterInput('StripePaymentIntentFilter', (t) => ({
  customerId: t.string({ required: false }),
  status: t.stringList({ required: false }),
}));

const asRef = <Row extends MirroredRow>(ref: ObjectRef<PothosSchemaTypes.ExtendDefaultTypes<never>, Row>) =>
  ref as unknown as ObjectRef<PothosSchemaTypes.ExtendDefaultTypes<never>, MirroredRow>;

mirrorQuery(
  'stripeProducts',
  OBJECT_TYPES.products,
  asRef(StripeProductRef as never),
  "The project's mirrored Stripe products.",
  ProductFilter,
  {
    active: 'active',
  },
);
mirrorQuery('stripePrices', OBJECT_TYPES.prices, asRef(StripePriceRef as never), "The project's mirrored Stripe prices.", PriceFilter, {
  active: 'active',
  productId: 'productId',
  type: 'type',
});
mirrorQuery(
  'stripeCustomers',
  OBJECT_TYPES.customers,
  asRef(StripeCustomerRef as never),
  "The project's mirrored Stripe customers.",
  CustomerFilter,
  {
    email: 'email',
  },
);
mirrorQuery(
  'stripeSubscriptions',
  OBJECT_TYPES.subscriptions,
  asRef(StripeSubscriptionRef as never),
  "The project's mirrored Stripe subscriptions.",
  SubscriptionFilter,
  { customerId: 'customerId', status: 'status' },
);
mirrorQuery(
  'stripeInvoices',
  OBJECT_TYPES.invoices,
  asRef(StripeInvoiceRef as never),
  "The project's mirrored Stripe invoices.",
  InvoiceFilter,
  {
    customerId: 'customerId',
    subscriptionId: 'subscriptionId',
    status: 'status',
  },
);
mirrorQuery(
  'stripePaymentIntents',
  OBJECT_TYPES.payment_intents,
  asRef(StripePaymentIntentRef as never),
  "The project's mirrored Stripe payment intents.",
  PaymentIntentFilter,
  { customerId: 'customerId', status: 'status' },
);

const camel = (column: string) => column.replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());

/** The types declared with a `query` in OBJECT_TYPES: object type, filter and root query follow from the entry. */
for (const spec of Object.values(OBJECT_TYPES)) {
  const query = spec.query;
  if (!query) continue;
  const ref = builder.objectRef<MirroredRow & Record<string, unknown>>(query.typeName).implement({
    description: `A ${query.noun.replace(/s$/, '')} mirrored from Stripe.`.replace(/^A ([aeiou])/, 'An $1'),
    fields: (t) => ({
      ...commonFields(t),
      ...Object.fromEntries(
        Object.entries(query.columns).map(([column, { kind }]) => {
          const field = camel(column);
          const value = (row: Record<string, unknown>) => {
            const raw = row[field];
            return typeof raw === 'bigint' ? Number(raw) : (raw ?? null);
          };
          return [field, t.field({ type: kind, nullable: kind !== 'Boolean', resolve: value as never })];
        }),
      ),
    }),
  });
  const filters = Object.entries(query.columns).filter(([, column]) => column.filter);
  const filter = filterInput(`${query.typeName}Filter`, (t) =>
    Object.fromEntries(
      filters.map(([column, { kind, filter: how }]) => [
        camel(column),
        how === 'in' ? t.field({ type: [kind as 'String'], required: false }) : t.field({ type: kind as 'String', required: false }),
      ]),
    ),
  );
  mirrorQuery(
    query.field,
    spec,
    asRef(ref as never),
    `The project's mirrored Stripe ${query.noun}.`,
    filter,
    Object.fromEntries(filters.map(([column]) => [camel(column), camel(column)])),
  );
}

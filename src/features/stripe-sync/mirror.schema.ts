import type { ObjectRef } from '@pothos/core';
import type {
  StripeCustomer,
  StripeInvoice,
  StripePaymentIntent,
  StripePrice,
  StripeProduct,
  StripeSubscription,
  StripeSubscriptionItem,
} from '../../generated/prisma/client.js';
import type { StripeEnvironment } from '../../generated/prisma/enums.js';
import { builder } from '../../graphql/builder.js';
import type { Context } from '../../graphql/context.js';
import { badInput } from '../../errors.js';
import { keysetOrder, keysetWhere, planPage, STRIPE_ID, toConnection, type PageArgs } from '../../db/pagination.js';
import { StripeEnvironmentEnum } from '../stripe/stripe.schema.js';

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
    changedAt: t.expose('changedAt', { type: 'DateTime', description: 'When this data was current at Stripe (event time, or when the sync read it).' }),
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
  unitAmount: t.int({ nullable: true, description: 'In the currency\'s smallest unit.', resolve: (row) => amount(row.unitAmount) }),
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
    resolve: (row, _args, ctx) =>
      ctx.db.prisma.stripeSubscriptionItem.findMany({ where: { projectId: row.projectId, environment: row.environment, subscriptionId: row.stripeId }, orderBy: [{ created: 'asc' }, { stripeId: 'asc' }] }),
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

const filterInput = (name: string, fields: (t: PothosSchemaTypes.InputFieldBuilder<PothosSchemaTypes.ExtendDefaultTypes<never>, 'InputObject'>) => Record<string, unknown>) =>
  builder.inputType(name, {
    fields: (t) => ({
      created: t.field({ type: StripeCreatedRange, required: false }),
      includeDeleted: t.boolean({ required: false, defaultValue: false, description: 'Objects deleted at Stripe are left out unless asked for.' }),
      ...(fields(t as never) as object),
    }),
  });

type Filter = { created?: { gte?: Date | null; gt?: Date | null; lte?: Date | null; lt?: Date | null } | null; includeDeleted?: boolean | null } & Record<string, unknown>;

/** Typed filter columns: `filterKey` in the input, `column` in Prisma (lists mean "one of"). */
type FilterColumns = Record<string, string>;

interface MirrorDelegate {
  findMany(args: unknown): Promise<unknown[]>;
  count(args: unknown): Promise<number>;
}

function whereOf(projectId: string, environment: StripeEnvironment, filter: Filter | null | undefined, columns: FilterColumns) {
  const where: Record<string, unknown> = { projectId, environment };
  if (!filter?.includeDeleted) where.deleted = false;
  const created = filter?.created;
  if (created) {
    const range = Object.fromEntries(Object.entries(created).filter(([, value]) => value != null));
    if (Object.keys(range).length > 0) where.created = range;
  }
  for (const [key, column] of Object.entries(columns)) {
    const value = filter?.[key];
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      if (value.length === 0) throw badInput([{ field: `filter.${key}`, message: 'must list at least one value' }]);
      where[column] = { in: value };
    } else where[column] = value;
  }
  return where;
}

/** Newest first by (created, Stripe id); `totalCount` counts every match of the filter. */
async function mirrorPage(delegate: MirrorDelegate, args: PageArgs & { projectId: string | number; environment: StripeEnvironment; filter?: Filter | null }, columns: FilterColumns) {
  const plan = planPage(args, { idPattern: STRIPE_ID });
  const where = whereOf(String(args.projectId), args.environment, args.filter, columns);
  const [rows, totalCount] = await Promise.all([
    // AND, not a spread: the cursor's bound on `created` must not replace the filter's created range.
    delegate.findMany({ where: { AND: [where, keysetWhere(plan, 'created', 'stripeId')] }, orderBy: keysetOrder(plan, 'created', 'stripeId'), take: plan.take }) as Promise<MirroredRow[]>,
    delegate.count({ where }),
  ]);
  return { ...toConnection(rows, plan, (row) => ({ createdAt: row.created, id: row.stripeId })), totalCount };
}

function mirrorQuery(name: string, type: ObjectRef<PothosSchemaTypes.ExtendDefaultTypes<never>, MirroredRow>, description: string, filter: ReturnType<typeof filterInput>, delegate: (ctx: Context) => MirrorDelegate, columns: FilterColumns) {
  builder.queryField(name, (t) =>
    t.connection(
      {
        type: type as never,
        description: `${description} Newest first; owner or admin.`,
        args: { projectId: t.arg.id(), environment: t.arg({ type: StripeEnvironmentEnum }), filter: t.arg({ type: filter, required: false }) },
        resolve: (_root, args, ctx) => mirrorPage(delegate(ctx), args as never, columns) as never,
      },
      { fields: (c) => ({ totalCount: c.int({ resolve: (connection) => (connection as unknown as { totalCount: number }).totalCount }) }) },
    ),
  );
}

const ProductFilter = filterInput('StripeProductFilter', (t) => ({ active: t.boolean({ required: false }) }));
const PriceFilter = filterInput('StripePriceFilter', (t) => ({ active: t.boolean({ required: false }), productId: t.string({ required: false }), type: t.string({ required: false }) }));
const CustomerFilter = filterInput('StripeCustomerFilter', (t) => ({ email: t.string({ required: false }) }));
const SubscriptionFilter = filterInput('StripeSubscriptionFilter', (t) => ({ customerId: t.string({ required: false }), status: t.stringList({ required: false }) }));
const InvoiceFilter = filterInput('StripeInvoiceFilter', (t) => ({ customerId: t.string({ required: false }), subscriptionId: t.string({ required: false }), status: t.stringList({ required: false }) }));
const PaymentIntentFilter = filterInput('StripePaymentIntentFilter', (t) => ({ customerId: t.string({ required: false }), status: t.stringList({ required: false }) }));

const asRef = <Row extends MirroredRow>(ref: ObjectRef<PothosSchemaTypes.ExtendDefaultTypes<never>, Row>) => ref as unknown as ObjectRef<PothosSchemaTypes.ExtendDefaultTypes<never>, MirroredRow>;

mirrorQuery('stripeProducts', asRef(StripeProductRef as never), "The project's mirrored Stripe products.", ProductFilter, (ctx) => ctx.db.prisma.stripeProduct as unknown as MirrorDelegate, { active: 'active' });
mirrorQuery('stripePrices', asRef(StripePriceRef as never), "The project's mirrored Stripe prices.", PriceFilter, (ctx) => ctx.db.prisma.stripePrice as unknown as MirrorDelegate, { active: 'active', productId: 'productId', type: 'type' });
mirrorQuery('stripeCustomers', asRef(StripeCustomerRef as never), "The project's mirrored Stripe customers.", CustomerFilter, (ctx) => ctx.db.prisma.stripeCustomer as unknown as MirrorDelegate, { email: 'email' });
mirrorQuery('stripeSubscriptions', asRef(StripeSubscriptionRef as never), "The project's mirrored Stripe subscriptions.", SubscriptionFilter, (ctx) => ctx.db.prisma.stripeSubscription as unknown as MirrorDelegate, { customerId: 'customerId', status: 'status' });
mirrorQuery('stripeInvoices', asRef(StripeInvoiceRef as never), "The project's mirrored Stripe invoices.", InvoiceFilter, (ctx) => ctx.db.prisma.stripeInvoice as unknown as MirrorDelegate, { customerId: 'customerId', subscriptionId: 'subscriptionId', status: 'status' });
mirrorQuery('stripePaymentIntents', asRef(StripePaymentIntentRef as never), "The project's mirrored Stripe payment intents.", PaymentIntentFilter, (ctx) => ctx.db.prisma.stripePaymentIntent as unknown as MirrorDelegate, { customerId: 'customerId', status: 'status' });

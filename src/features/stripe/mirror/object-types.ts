import type Stripe from 'stripe';

/**
 * The Stripe object types Coffer mirrors, each with its own table. Typed columns are extracted in
 * SQL from the object's JSON (`o`), so a page of 100 objects is one statement, for the sync and
 * for webhooks alike.
 */
export const SYNC_OBJECT_TYPES = [
  'products',
  'prices',
  'customers',
  'subscriptions',
  'invoices',
  'payment_intents',
  'charges',
  'refunds',
] as const;
export type SyncObjectType = (typeof SYNC_OBJECT_TYPES)[number];

/** A reference that Stripe sends as an id, or as the object when expanded. */
const ref = (field: string) => `(CASE jsonb_typeof(o->'${field}') WHEN 'object' THEN o->'${field}'->>'id' ELSE o->>'${field}' END)`;
const text = (field: string) => `(o->>'${field}')`;
const bigint = (field: string) => `(o->>'${field}')::bigint`;
const unixTime = (expression: string) => `to_timestamp((${expression})::double precision)`;

export interface ObjectTypeSpec {
  type: SyncObjectType;
  /** The `object` field Stripe sends (`customer`, `payment_intent`...). */
  stripeObject: string;
  table: string;
  /** Column name to SQL expression over `o`, the object's JSON. */
  columns: Record<string, string>;
  list(stripe: Stripe, params: { limit: number; starting_after?: string }): Promise<Stripe.ApiList<{ id: string }>>;
  /** One object by id (verification confirms a deletion with it: Stripe answers `resource_missing`). */
  retrieve(stripe: Stripe, id: string): Promise<{ id: string; deleted?: unknown }>;
}

export const OBJECT_TYPES: Record<SyncObjectType, ObjectTypeSpec> = {
  products: {
    type: 'products',
    stripeObject: 'product',
    table: 'stripe_products',
    columns: { active: `COALESCE((o->>'active')::boolean, false)`, name: text('name') },
    list: (stripe, params) => stripe.products.list(params),
    retrieve: (stripe, id) => stripe.products.retrieve(id),
  },
  prices: {
    type: 'prices',
    stripeObject: 'price',
    table: 'stripe_prices',
    columns: {
      active: `COALESCE((o->>'active')::boolean, false)`,
      product_id: ref('product'),
      currency: text('currency'),
      unit_amount: bigint('unit_amount'),
      type: text('type'),
      recurring_interval: `(o->'recurring'->>'interval')`,
    },
    list: (stripe, params) => stripe.prices.list(params),
    retrieve: (stripe, id) => stripe.prices.retrieve(id),
  },
  customers: {
    type: 'customers',
    stripeObject: 'customer',
    table: 'stripe_customers',
    columns: { email: text('email'), name: text('name') },
    list: (stripe, params) => stripe.customers.list(params),
    retrieve: (stripe, id) => stripe.customers.retrieve(id),
  },
  subscriptions: {
    type: 'subscriptions',
    stripeObject: 'subscription',
    table: 'stripe_subscriptions',
    columns: {
      customer_id: ref('customer'),
      status: text('status'),
      // Since 2025 the period lives on the items; the subscription's is the earliest of theirs.
      current_period_end: unixTime(
        `COALESCE(o->>'current_period_end', ` +
          `(SELECT min((i->>'current_period_end')::double precision) FROM jsonb_array_elements(o->'items'->'data') AS i)::text)`,
      ),
      cancel_at_period_end: `COALESCE((o->>'cancel_at_period_end')::boolean, false)`,
    },
    // Stripe leaves canceled subscriptions out unless asked for all of them.
    list: (stripe, params) => stripe.subscriptions.list({ ...params, status: 'all' }),
    retrieve: (stripe, id) => stripe.subscriptions.retrieve(id),
  },
  invoices: {
    type: 'invoices',
    stripeObject: 'invoice',
    table: 'stripe_invoices',
    columns: {
      customer_id: ref('customer'),
      subscription_id: `COALESCE(${ref('subscription')}, o->'parent'->'subscription_details'->>'subscription')`,
      status: text('status'),
      currency: text('currency'),
      amount_due: bigint('amount_due'),
      amount_paid: bigint('amount_paid'),
    },
    list: (stripe, params) => stripe.invoices.list(params),
    retrieve: (stripe, id) => stripe.invoices.retrieve(id),
  },
  payment_intents: {
    type: 'payment_intents',
    stripeObject: 'payment_intent',
    table: 'stripe_payment_intents',
    columns: { customer_id: ref('customer'), status: text('status'), currency: text('currency'), amount: bigint('amount') },
    list: (stripe, params) => stripe.paymentIntents.list(params),
    retrieve: (stripe, id) => stripe.paymentIntents.retrieve(id),
  },
  charges: {
    type: 'charges',
    stripeObject: 'charge',
    table: 'stripe_charges',
    columns: {
      customer_id: ref('customer'),
      payment_intent_id: ref('payment_intent'),
      status: text('status'),
      currency: text('currency'),
      amount: bigint('amount'),
      amount_refunded: bigint('amount_refunded'),
    },
    list: (stripe, params) => stripe.charges.list(params),
    retrieve: (stripe, id) => stripe.charges.retrieve(id),
  },
  refunds: {
    type: 'refunds',
    stripeObject: 'refund',
    table: 'stripe_refunds',
    columns: {
      charge_id: ref('charge'),
      payment_intent_id: ref('payment_intent'),
      status: text('status'),
      currency: text('currency'),
      amount: bigint('amount'),
    },
    list: (stripe, params) => stripe.refunds.list(params),
    retrieve: (stripe, id) => stripe.refunds.retrieve(id),
  },
};

const BY_STRIPE_OBJECT = new Map(Object.values(OBJECT_TYPES).map((spec) => [spec.stripeObject, spec]));

/** The spec for an object Stripe sent (by its `object` field), when Coffer has a table for it. */
export const specForStripeObject = (stripeObject: string): ObjectTypeSpec | undefined => BY_STRIPE_OBJECT.get(stripeObject);

export const isSyncObjectType = (value: string): value is SyncObjectType => (SYNC_OBJECT_TYPES as readonly string[]).includes(value);

/** Every table holding a project environment's mirrored Stripe data (cleared when the account changes). */
export const MIRROR_TABLES = [...Object.values(OBJECT_TYPES).map((spec) => spec.table), 'stripe_subscription_items', 'stripe_objects'];

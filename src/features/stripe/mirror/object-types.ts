import type Stripe from 'stripe';

/**
 * The Stripe object types Coffer mirrors, each declared once below: its table, the typed columns
 * extracted from the object, how to list and retrieve it, the webhook events that change it, the
 * inline lists Stripe truncates, and the query that lists it. The sync, the webhooks, the
 * verification, the managed endpoint's events and the GraphQL queries all follow from the entry.
 * Typed columns are extracted in SQL from the object's JSON (`o`), so a page of 100 objects is one
 * statement, for the sync and for webhooks alike.
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
  'checkout_sessions',
  'setup_intents',
  'payment_methods',
  'disputes',
  'credit_notes',
  'coupons',
  'promotion_codes',
  'tax_ids',
  'subscription_schedules',
  'balance_transactions',
] as const;
export type SyncObjectType = (typeof SYNC_OBJECT_TYPES)[number];

/** A reference that Stripe sends as an id, or as the object when expanded. */
const refAt = (path: string) =>
  `(CASE jsonb_typeof(o${path}) WHEN 'object' THEN o${path}->>'id' ELSE o${path.replace(/->'([^']+)'$/, "->>'$1'")} END)`;
const ref = (field: string) => refAt(`->'${field}'`);
const text = (field: string) => `(o->>'${field}')`;
const bigint = (field: string) => `(o->>'${field}')::bigint`;
const flag = (field: string) => `COALESCE((o->>'${field}')::boolean, false)`;
const unixTime = (expression: string) => `to_timestamp((${expression})::double precision)`;

export type WebhookEvent = Stripe.WebhookEndpointCreateParams.EnabledEvent;

/** An inline list Stripe cuts at 10 (`has_more`); the rest is fetched so the mirror stores it complete. */
export interface InlineList {
  /** The object's field holding the list (`items`, `lines`, `refunds`). */
  field: string;
  /** The rest of the list after `startingAfter`, in Stripe's order. */
  rest(stripe: Stripe, parentId: string, params: { limit: number; starting_after?: string }): AsyncIterable<{ id: string }>;
}

/** How a typed column reads in GraphQL; `filter` makes it a filter of the type's query ('in' takes a list). */
export interface QueryColumn {
  kind: 'String' | 'Int' | 'Float' | 'Boolean';
  filter?: 'eq' | 'in';
}

export interface ObjectTypeSpec {
  type: SyncObjectType;
  /** The `object` field Stripe sends (`customer`, `payment_intent`...). */
  stripeObject: string;
  table: string;
  /** The Prisma model's delegate on the client (`stripeCharge`). */
  model: string;
  /** Column name to SQL expression over `o`, the object's JSON. */
  columns: Record<string, string>;
  list(stripe: Stripe, params: { limit: number; starting_after?: string }): Promise<ListPage>;
  /** Listed by walking the customers (`perCustomer`): pages follow the customers, cursors are customer ids. */
  walksCustomers?: true;
  /** One object by id (verification confirms a deletion with it: Stripe answers `resource_missing`). */
  retrieve(stripe: Stripe, id: string): Promise<{ id: string; deleted?: unknown }>;
  /** One cheap call that needs the same permission as `list` (restricted keys are checked with it); default: list with limit 1. */
  probe?(stripe: Stripe): Promise<unknown>;
  /** Every event that changes an object of this type: the managed endpoint subscribes to them all. */
  events: readonly WebhookEvent[];
  /** Inline lists completed in the sync and in webhooks alike. */
  inlineLists?: readonly InlineList[];
  /**
   * The root query listing this type (a Relay connection with `totalCount`), when it is built from
   * this entry; `columns` says how each typed column reads in GraphQL (camelCased).
   */
  query?: { field: string; typeName: string; noun: string; columns: Record<string, QueryColumn> };
}

/** A page of a list; `nextCursor` when the next page does not start after the last object (walks over customers). */
export type ListPage = Stripe.ApiList<{ id: string }> & { nextCursor?: string };

/** Where the page after `page` starts, or null when `page` was the last. */
export function nextCursorOf(page: ListPage): string | null {
  const cursor = page.nextCursor ?? page.data.at(-1)?.id;
  return page.has_more && cursor ? cursor : null;
}

/** Customers whose objects are fetched at once while walking a page of them. */
const CUSTOMERS_IN_FLIGHT = 8;

async function eachConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Stripe lists payment methods and tax ids per customer only (the account-wide list holds the
 * detached or the account's own). Their listing walks the customers, a page of them at a time:
 * one page of this type is what a page of 100 customers has (the first page adds the account-wide
 * ones), and its cursor is the last customer's id, so a resumed run goes on after the last page
 * stored. A page's customers are asked `CUSTOMERS_IN_FLIGHT` at a time: against Stripe's latency
 * one request after the other would take a call's round trip per customer.
 */
async function perCustomer<T extends { id: string }>(
  stripe: Stripe,
  { starting_after }: { limit: number; starting_after?: string },
  walk: {
    accountWide: () => AsyncIterable<T>;
    customerParams?: Stripe.CustomerListParams;
    ofCustomer: (customer: Stripe.Customer) => AsyncIterable<T> | Iterable<T>;
  },
): Promise<ListPage> {
  const byId = new Map<string, T>();
  if (!starting_after) for await (const object of walk.accountWide()) byId.set(object.id, object);
  // Customers 100 a page, Stripe's maximum, whatever the sync's page size: fewer calls.
  const customers = await stripe.customers.list({ ...walk.customerParams, limit: 100, ...(starting_after ? { starting_after } : {}) });
  const ofEach = new Map<string, T[]>();
  await eachConcurrently(customers.data, CUSTOMERS_IN_FLIGHT, async (customer) => {
    const objects: T[] = [];
    for await (const object of walk.ofCustomer(customer)) objects.push(object);
    ofEach.set(customer.id, objects);
  });
  // In the customers' order, whatever order the answers came in.
  for (const customer of customers.data) for (const object of ofEach.get(customer.id) ?? []) byId.set(object.id, object);
  const lastCustomer = customers.data.at(-1)?.id;
  return {
    object: 'list',
    data: [...byId.values()],
    has_more: customers.has_more,
    url: '',
    ...(lastCustomer ? { nextCursor: lastCustomer } : {}),
  };
}

/** A customer's tax ids from its expanded `tax_ids` (Stripe's first 10), the rest asked for only when it has more. */
async function* taxIdsOf(stripe: Stripe, customer: Stripe.Customer, limit: number): AsyncIterable<Stripe.TaxId> {
  const inline = customer.tax_ids;
  if (!inline) {
    yield* stripe.taxIds.list({ limit, owner: { type: 'customer', customer: customer.id } });
    return;
  }
  yield* inline.data;
  const last = inline.data.at(-1)?.id;
  if (inline.has_more) yield* stripe.customers.listTaxIds(customer.id, { limit, ...(last ? { starting_after: last } : {}) });
}

const deleted = (stripeObject: string) =>
  [`${stripeObject}.created`, `${stripeObject}.updated`, `${stripeObject}.deleted`] as WebhookEvent[];

export const OBJECT_TYPES: Record<SyncObjectType, ObjectTypeSpec> = {
  products: {
    type: 'products',
    stripeObject: 'product',
    table: 'stripe_products',
    model: 'stripeProduct',
    columns: { active: flag('active'), name: text('name') },
    list: (stripe, params) => stripe.products.list(params),
    retrieve: (stripe, id) => stripe.products.retrieve(id),
    events: deleted('product'),
  },
  prices: {
    type: 'prices',
    stripeObject: 'price',
    table: 'stripe_prices',
    model: 'stripePrice',
    columns: {
      active: flag('active'),
      product_id: ref('product'),
      currency: text('currency'),
      unit_amount: bigint('unit_amount'),
      type: text('type'),
      recurring_interval: `(o->'recurring'->>'interval')`,
    },
    list: (stripe, params) => stripe.prices.list(params),
    retrieve: (stripe, id) => stripe.prices.retrieve(id),
    events: deleted('price'),
  },
  customers: {
    type: 'customers',
    stripeObject: 'customer',
    table: 'stripe_customers',
    model: 'stripeCustomer',
    columns: { email: text('email'), name: text('name') },
    list: (stripe, params) => stripe.customers.list(params),
    retrieve: (stripe, id) => stripe.customers.retrieve(id),
    events: deleted('customer'),
  },
  subscriptions: {
    type: 'subscriptions',
    stripeObject: 'subscription',
    table: 'stripe_subscriptions',
    model: 'stripeSubscription',
    columns: {
      customer_id: ref('customer'),
      status: text('status'),
      // Since 2025 the period lives on the items; the subscription's is the earliest of theirs.
      current_period_end: unixTime(
        `COALESCE(o->>'current_period_end', ` +
          `(SELECT min((i->>'current_period_end')::double precision) FROM jsonb_array_elements(o->'items'->'data') AS i)::text)`,
      ),
      cancel_at_period_end: flag('cancel_at_period_end'),
    },
    // Stripe leaves canceled subscriptions out unless asked for all of them.
    list: (stripe, params) => stripe.subscriptions.list({ ...params, status: 'all' }),
    retrieve: (stripe, id) => stripe.subscriptions.retrieve(id),
    events: [
      'customer.subscription.created',
      'customer.subscription.updated',
      'customer.subscription.deleted',
      'customer.subscription.paused',
      'customer.subscription.resumed',
      'customer.subscription.pending_update_applied',
      'customer.subscription.pending_update_expired',
      'customer.subscription.trial_will_end',
    ],
    inlineLists: [
      {
        field: 'items',
        rest: (stripe, subscription, params) => stripe.subscriptionItems.list({ ...params, subscription }),
      },
    ],
  },
  invoices: {
    type: 'invoices',
    stripeObject: 'invoice',
    table: 'stripe_invoices',
    model: 'stripeInvoice',
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
    events: [
      'invoice.created',
      'invoice.updated',
      'invoice.deleted',
      'invoice.finalized',
      'invoice.finalization_failed',
      'invoice.paid',
      'invoice.payment_succeeded',
      'invoice.payment_failed',
      'invoice.payment_action_required',
      'invoice.voided',
      'invoice.marked_uncollectible',
      'invoice.overdue',
      'invoice.overpaid',
      'invoice.sent',
      'invoice.will_be_due',
    ],
    // The invoice's line items are kept complete in its data (the `lines` field of StripeInvoice).
    inlineLists: [{ field: 'lines', rest: (stripe, invoice, params) => stripe.invoices.listLineItems(invoice, params) }],
  },
  payment_intents: {
    type: 'payment_intents',
    stripeObject: 'payment_intent',
    table: 'stripe_payment_intents',
    model: 'stripePaymentIntent',
    columns: { customer_id: ref('customer'), status: text('status'), currency: text('currency'), amount: bigint('amount') },
    list: (stripe, params) => stripe.paymentIntents.list(params),
    retrieve: (stripe, id) => stripe.paymentIntents.retrieve(id),
    events: [
      'payment_intent.created',
      'payment_intent.processing',
      'payment_intent.requires_action',
      'payment_intent.amount_capturable_updated',
      'payment_intent.partially_funded',
      'payment_intent.succeeded',
      'payment_intent.payment_failed',
      'payment_intent.canceled',
    ],
  },
  charges: {
    type: 'charges',
    stripeObject: 'charge',
    table: 'stripe_charges',
    model: 'stripeCharge',
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
    events: [
      'charge.succeeded',
      'charge.failed',
      'charge.pending',
      'charge.captured',
      'charge.expired',
      'charge.refunded',
      'charge.updated',
    ],
    // Present when expanded (`charge.refunds`), newest first like /v1/refunds?charge=.
    inlineLists: [{ field: 'refunds', rest: (stripe, charge, params) => stripe.refunds.list({ ...params, charge }) }],
    query: {
      field: 'stripeCharges',
      typeName: 'StripeCharge',
      noun: 'charges',
      columns: {
        customer_id: { kind: 'String', filter: 'eq' },
        payment_intent_id: { kind: 'String', filter: 'eq' },
        status: { kind: 'String', filter: 'in' },
        currency: { kind: 'String' },
        amount: { kind: 'Int' },
        amount_refunded: { kind: 'Int' },
      },
    },
  },
  refunds: {
    type: 'refunds',
    stripeObject: 'refund',
    table: 'stripe_refunds',
    model: 'stripeRefund',
    columns: {
      charge_id: ref('charge'),
      payment_intent_id: ref('payment_intent'),
      status: text('status'),
      currency: text('currency'),
      amount: bigint('amount'),
    },
    list: (stripe, params) => stripe.refunds.list(params),
    retrieve: (stripe, id) => stripe.refunds.retrieve(id),
    events: ['refund.created', 'refund.updated', 'refund.failed', 'charge.refund.updated'],
    query: {
      field: 'stripeRefunds',
      typeName: 'StripeRefund',
      noun: 'refunds',
      columns: {
        charge_id: { kind: 'String', filter: 'eq' },
        payment_intent_id: { kind: 'String', filter: 'eq' },
        status: { kind: 'String', filter: 'in' },
        currency: { kind: 'String' },
        amount: { kind: 'Int' },
      },
    },
  },
  checkout_sessions: {
    type: 'checkout_sessions',
    stripeObject: 'checkout.session',
    table: 'stripe_checkout_sessions',
    model: 'stripeCheckoutSession',
    columns: {
      customer_id: ref('customer'),
      status: text('status'),
      mode: text('mode'),
      payment_status: text('payment_status'),
      currency: text('currency'),
      amount_total: bigint('amount_total'),
    },
    list: (stripe, params) => stripe.checkout.sessions.list(params),
    retrieve: (stripe, id) => stripe.checkout.sessions.retrieve(id),
    events: [
      'checkout.session.completed',
      'checkout.session.expired',
      'checkout.session.async_payment_succeeded',
      'checkout.session.async_payment_failed',
    ],
    query: {
      field: 'stripeCheckoutSessions',
      typeName: 'StripeCheckoutSession',
      noun: 'checkout sessions',
      columns: {
        customer_id: { kind: 'String', filter: 'eq' },
        status: { kind: 'String', filter: 'in' },
        mode: { kind: 'String', filter: 'eq' },
        payment_status: { kind: 'String', filter: 'in' },
        currency: { kind: 'String' },
        amount_total: { kind: 'Int' },
      },
    },
  },
  setup_intents: {
    type: 'setup_intents',
    stripeObject: 'setup_intent',
    table: 'stripe_setup_intents',
    model: 'stripeSetupIntent',
    columns: { customer_id: ref('customer'), status: text('status'), payment_method_id: ref('payment_method') },
    list: (stripe, params) => stripe.setupIntents.list(params),
    retrieve: (stripe, id) => stripe.setupIntents.retrieve(id),
    events: [
      'setup_intent.created',
      'setup_intent.requires_action',
      'setup_intent.setup_failed',
      'setup_intent.succeeded',
      'setup_intent.canceled',
    ],
    query: {
      field: 'stripeSetupIntents',
      typeName: 'StripeSetupIntent',
      noun: 'setup intents',
      columns: {
        customer_id: { kind: 'String', filter: 'eq' },
        status: { kind: 'String', filter: 'in' },
        payment_method_id: { kind: 'String', filter: 'eq' },
      },
    },
  },
  payment_methods: {
    type: 'payment_methods',
    stripeObject: 'payment_method',
    table: 'stripe_payment_methods',
    model: 'stripePaymentMethod',
    columns: {
      customer_id: ref('customer'),
      type: text('type'),
      card_brand: `(o->'card'->>'brand')`,
      card_last4: `(o->'card'->>'last4')`,
    },
    walksCustomers: true,
    list: (stripe, params) =>
      perCustomer(stripe, params, {
        accountWide: () => stripe.paymentMethods.list({ limit: params.limit }),
        ofCustomer: (customer) => stripe.customers.listPaymentMethods(customer.id, { limit: params.limit }),
      }),
    probe: (stripe) => stripe.paymentMethods.list({ limit: 1 }),
    retrieve: (stripe, id) => stripe.paymentMethods.retrieve(id),
    events: ['payment_method.attached', 'payment_method.detached', 'payment_method.updated', 'payment_method.automatically_updated'],
    query: {
      field: 'stripePaymentMethods',
      typeName: 'StripePaymentMethod',
      noun: 'payment methods',
      columns: {
        customer_id: { kind: 'String', filter: 'eq' },
        type: { kind: 'String', filter: 'in' },
        card_brand: { kind: 'String' },
        card_last4: { kind: 'String' },
      },
    },
  },
  disputes: {
    type: 'disputes',
    stripeObject: 'dispute',
    table: 'stripe_disputes',
    model: 'stripeDispute',
    columns: {
      charge_id: ref('charge'),
      payment_intent_id: ref('payment_intent'),
      status: text('status'),
      reason: text('reason'),
      currency: text('currency'),
      amount: bigint('amount'),
    },
    list: (stripe, params) => stripe.disputes.list(params),
    retrieve: (stripe, id) => stripe.disputes.retrieve(id),
    events: [
      'charge.dispute.created',
      'charge.dispute.updated',
      'charge.dispute.closed',
      'charge.dispute.funds_reinstated',
      'charge.dispute.funds_withdrawn',
    ],
    query: {
      field: 'stripeDisputes',
      typeName: 'StripeDispute',
      noun: 'disputes',
      columns: {
        charge_id: { kind: 'String', filter: 'eq' },
        payment_intent_id: { kind: 'String', filter: 'eq' },
        status: { kind: 'String', filter: 'in' },
        reason: { kind: 'String', filter: 'in' },
        currency: { kind: 'String' },
        amount: { kind: 'Int' },
      },
    },
  },
  credit_notes: {
    type: 'credit_notes',
    stripeObject: 'credit_note',
    table: 'stripe_credit_notes',
    model: 'stripeCreditNote',
    columns: {
      customer_id: ref('customer'),
      invoice_id: ref('invoice'),
      status: text('status'),
      currency: text('currency'),
      total: bigint('total'),
    },
    list: (stripe, params) => stripe.creditNotes.list(params),
    retrieve: (stripe, id) => stripe.creditNotes.retrieve(id),
    events: ['credit_note.created', 'credit_note.updated', 'credit_note.voided'],
    inlineLists: [{ field: 'lines', rest: (stripe, creditNote, params) => stripe.creditNotes.listLineItems(creditNote, params) }],
    query: {
      field: 'stripeCreditNotes',
      typeName: 'StripeCreditNote',
      noun: 'credit notes',
      columns: {
        customer_id: { kind: 'String', filter: 'eq' },
        invoice_id: { kind: 'String', filter: 'eq' },
        status: { kind: 'String', filter: 'in' },
        currency: { kind: 'String' },
        total: { kind: 'Int' },
      },
    },
  },
  coupons: {
    type: 'coupons',
    stripeObject: 'coupon',
    table: 'stripe_coupons',
    model: 'stripeCoupon',
    columns: {
      name: text('name'),
      valid: flag('valid'),
      duration: text('duration'),
      currency: text('currency'),
      amount_off: bigint('amount_off'),
      percent_off: `(o->>'percent_off')::double precision`,
    },
    list: (stripe, params) => stripe.coupons.list(params),
    retrieve: (stripe, id) => stripe.coupons.retrieve(id),
    events: deleted('coupon'),
    query: {
      field: 'stripeCoupons',
      typeName: 'StripeCoupon',
      noun: 'coupons',
      columns: {
        name: { kind: 'String' },
        valid: { kind: 'Boolean', filter: 'eq' },
        duration: { kind: 'String', filter: 'in' },
        currency: { kind: 'String' },
        amount_off: { kind: 'Int' },
        percent_off: { kind: 'Float' },
      },
    },
  },
  promotion_codes: {
    type: 'promotion_codes',
    stripeObject: 'promotion_code',
    table: 'stripe_promotion_codes',
    model: 'stripePromotionCode',
    columns: {
      code: text('code'),
      active: flag('active'),
      // Since 2025-09 the coupon is under `promotion`; before, at the top level.
      coupon_id: `COALESCE(${refAt(`->'promotion'->'coupon'`)}, ${ref('coupon')})`,
      customer_id: ref('customer'),
    },
    list: (stripe, params) => stripe.promotionCodes.list(params),
    retrieve: (stripe, id) => stripe.promotionCodes.retrieve(id),
    events: ['promotion_code.created', 'promotion_code.updated'],
    query: {
      field: 'stripePromotionCodes',
      typeName: 'StripePromotionCode',
      noun: 'promotion codes',
      columns: {
        code: { kind: 'String', filter: 'eq' },
        active: { kind: 'Boolean', filter: 'eq' },
        coupon_id: { kind: 'String', filter: 'eq' },
        customer_id: { kind: 'String', filter: 'eq' },
      },
    },
  },
  tax_ids: {
    type: 'tax_ids',
    stripeObject: 'tax_id',
    table: 'stripe_tax_ids',
    model: 'stripeTaxId',
    columns: {
      customer_id: `COALESCE(${refAt(`->'owner'->'customer'`)}, ${ref('customer')})`,
      type: text('type'),
      value: text('value'),
      country: text('country'),
    },
    walksCustomers: true,
    // A customer's tax ids come expanded with the customers: a call per customer only past 10 of them.
    list: (stripe, params) =>
      perCustomer(stripe, params, {
        accountWide: () => stripe.taxIds.list({ limit: params.limit }),
        customerParams: { expand: ['data.tax_ids'] },
        ofCustomer: (customer) => taxIdsOf(stripe, customer, params.limit),
      }),
    probe: (stripe) => stripe.taxIds.list({ limit: 1 }),
    retrieve: (stripe, id) => stripe.taxIds.retrieve(id),
    events: ['customer.tax_id.created', 'customer.tax_id.updated', 'customer.tax_id.deleted'],
    query: {
      field: 'stripeTaxIds',
      typeName: 'StripeTaxId',
      noun: 'tax ids',
      columns: {
        customer_id: { kind: 'String', filter: 'eq' },
        type: { kind: 'String', filter: 'in' },
        value: { kind: 'String' },
        country: { kind: 'String' },
      },
    },
  },
  subscription_schedules: {
    type: 'subscription_schedules',
    stripeObject: 'subscription_schedule',
    table: 'stripe_subscription_schedules',
    model: 'stripeSubscriptionSchedule',
    columns: { customer_id: ref('customer'), subscription_id: ref('subscription'), status: text('status') },
    list: (stripe, params) => stripe.subscriptionSchedules.list(params),
    retrieve: (stripe, id) => stripe.subscriptionSchedules.retrieve(id),
    events: [
      'subscription_schedule.created',
      'subscription_schedule.updated',
      'subscription_schedule.aborted',
      'subscription_schedule.canceled',
      'subscription_schedule.completed',
      'subscription_schedule.expiring',
      'subscription_schedule.released',
    ],
    query: {
      field: 'stripeSubscriptionSchedules',
      typeName: 'StripeSubscriptionSchedule',
      noun: 'subscription schedules',
      columns: {
        customer_id: { kind: 'String', filter: 'eq' },
        subscription_id: { kind: 'String', filter: 'eq' },
        status: { kind: 'String', filter: 'in' },
      },
    },
  },
  balance_transactions: {
    type: 'balance_transactions',
    stripeObject: 'balance_transaction',
    table: 'stripe_balance_transactions',
    model: 'stripeBalanceTransaction',
    columns: {
      source_id: ref('source'),
      type: text('type'),
      status: text('status'),
      reporting_category: text('reporting_category'),
      currency: text('currency'),
      amount: bigint('amount'),
      fee: bigint('fee'),
      net: bigint('net'),
    },
    list: (stripe, params) => stripe.balanceTransactions.list(params),
    retrieve: (stripe, id) => stripe.balanceTransactions.retrieve(id),
    // Stripe sends no event for a balance transaction: the sync and the events catch-up's verification keep them.
    events: [],
    query: {
      field: 'stripeBalanceTransactions',
      typeName: 'StripeBalanceTransaction',
      noun: 'balance transactions',
      columns: {
        source_id: { kind: 'String', filter: 'eq' },
        type: { kind: 'String', filter: 'in' },
        status: { kind: 'String', filter: 'in' },
        reporting_category: { kind: 'String', filter: 'in' },
        currency: { kind: 'String' },
        amount: { kind: 'Int' },
        fee: { kind: 'Int' },
        net: { kind: 'Int' },
      },
    },
  },
};

const BY_STRIPE_OBJECT = new Map(Object.values(OBJECT_TYPES).map((spec) => [spec.stripeObject, spec]));

/** The spec for an object Stripe sent (by its `object` field), when Coffer has a table for it. */
export const specForStripeObject = (stripeObject: string): ObjectTypeSpec | undefined => BY_STRIPE_OBJECT.get(stripeObject);

/** Every event that changes a mirrored object, once each. */
export const MIRRORED_EVENTS: readonly WebhookEvent[] = [...new Set(Object.values(OBJECT_TYPES).flatMap((spec) => spec.events))];

/** Whether one of the object's inline lists is cut short (`has_more`): it is then completed, or never replaces a stored one. */
export const hasTruncatedList = (spec: ObjectTypeSpec, object: object): boolean =>
  (spec.inlineLists ?? []).some((list) => (object as Record<string, { has_more?: unknown } | undefined>)[list.field]?.has_more === true);

export const isSyncObjectType = (value: string): value is SyncObjectType => (SYNC_OBJECT_TYPES as readonly string[]).includes(value);

/** Every table holding a project environment's mirrored Stripe data (cleared when the account changes). */
export const MIRROR_TABLES = [...Object.values(OBJECT_TYPES).map((spec) => spec.table), 'stripe_subscription_items', 'stripe_objects'];

/** Whether a key may read one object type, as found by its probe when the key was saved. */
export interface ObjectPermission {
  objectType: SyncObjectType;
  readable: boolean;
  /** Why not (Stripe's refusal, in words that name no key); null when readable. */
  reason: string | null;
}

/**
 * List filters of each collection, with Stripe's semantics: `/v1/subscriptions` leaves canceled
 * subscriptions out unless `status` says otherwise, `/v1/tax_ids` lists the account's own tax ids
 * unless `owner` names a customer, `/v1/payment_methods` without `customer` lists only detached
 * ones (Treasury flows) and never `custom` ones unless asked.
 */
import { booleanParam, invalidRequest, stringArrayParam, stringParam, type FormObject, type StripeObject } from './http.js';
import { rangeBounds } from './lists.js';
import type { CollectionName } from './objects/context.js';
import { subscriptionOf } from './objects/invoices.js';

type Predicate = (object: StripeObject) => boolean;
/** Builds a predicate from a param's value, or null when the param does not filter (absent). */
type FilterParam = (query: FormObject, param: string) => Predicate | null;

const idOf = (value: unknown): string | null =>
  typeof value === 'string' ? value : value && typeof value === 'object' && 'id' in value ? String((value as { id: unknown }).id) : null;

/** `field` (an id, or the object when expanded) equals the param. */
const refEquals =
  (field: string = ''): FilterParam =>
  (query, param) => {
    const wanted = stringParam(query, param);
    return wanted === undefined ? null : (o) => idOf(o[field || param]) === wanted;
  };
const boolEquals =
  (field: string = ''): FilterParam =>
  (query, param) => {
    const wanted = booleanParam(query, param);
    return wanted === undefined ? null : (o) => o[field || param] === wanted;
  };
/** A range on a unix-time field, `field[gte]=...` or `field=...`. */
const timeWithin =
  (read: (o: StripeObject) => unknown = () => undefined): FilterParam =>
  (query, param) => {
    const bounds = rangeBounds(query[param], param);
    if (!bounds) return null;
    return (o) => {
      const t = read(o) ?? o[param];
      return typeof t === 'number' && t >= bounds.min && t <= bounds.max;
    };
  };
const oneOf =
  (field: string): FilterParam =>
  (query, param) => {
    const wanted = stringArrayParam(query, param);
    return wanted === undefined ? null : (o) => wanted.includes(String(o[field]));
  };
/** Accepted and valid at Stripe, but without effect on the fake's data. */
const accepted: FilterParam = () => null;

const items = (o: StripeObject) => (o.items as { data?: Array<Record<string, unknown>> } | undefined)?.data ?? [];

const SUBSCRIPTION_STATUSES = [
  'active',
  'all',
  'canceled',
  'ended',
  'incomplete',
  'incomplete_expired',
  'past_due',
  'paused',
  'trialing',
  'unpaid',
];

const subscriptionStatus: FilterParam = (query, param) => {
  const status = stringParam(query, param);
  if (status !== undefined && !SUBSCRIPTION_STATUSES.includes(status)) {
    throw invalidRequest(`Invalid status: must be one of ${SUBSCRIPTION_STATUSES.join(', ')}`, { param });
  }
  if (status === 'all') return null;
  if (status === 'ended') return (o) => o.status === 'canceled' || o.status === 'incomplete_expired';
  // Stripe's default: every subscription that has not been canceled.
  if (status === undefined) return (o) => o.status !== 'canceled';
  return (o) => o.status === status;
};

const ownerFilter: FilterParam = (query, param) => {
  const raw = query[param];
  if (raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) throw invalidRequest('Invalid hash', { param });
  const owner = (raw ?? { type: 'self' }) as FormObject;
  const type = stringParam(owner, 'type');
  if (!type) throw invalidRequest('Missing required param: owner[type].', { param: 'owner[type]' });
  const customer = stringParam(owner, 'customer');
  if (type === 'customer' && !customer) throw invalidRequest('Missing required param: owner[customer].', { param: 'owner[customer]' });
  return (o) => {
    const of = o.owner as { type?: string; customer?: unknown } | null;
    return of?.type === type && (type !== 'customer' || idOf(of.customer) === customer);
  };
};

const paymentMethodCustomer: FilterParam = (query, param) => {
  const customer = stringParam(query, param);
  return customer === undefined ? (o) => o.customer === null : (o) => idOf(o.customer) === customer;
};
const paymentMethodType: FilterParam = (query, param) => {
  const type = stringParam(query, param);
  return type === undefined ? (o) => o.type !== 'custom' : (o) => o.type === type;
};

const FILTERS: Record<CollectionName, Record<string, FilterParam>> = {
  products: {
    active: boolEquals(),
    ids: (q, p) => (stringArrayParam(q, p) ? (o) => stringArrayParam(q, p)!.includes(o.id) : null),
    shippable: boolEquals(),
    url: refEquals(),
    type: refEquals(),
  },
  prices: {
    active: boolEquals(),
    currency: refEquals(),
    product: refEquals(),
    type: refEquals(),
    lookup_keys: oneOf('lookup_key'),
    recurring: accepted,
  },
  customers: { email: refEquals(), test_clock: refEquals(), customer_account: accepted },
  subscriptions: {
    customer: refEquals(),
    status: subscriptionStatus,
    collection_method: refEquals(),
    test_clock: refEquals(),
    price: (q, p) => {
      const wanted = stringParam(q, p);
      return wanted === undefined ? null : (o) => items(o).some((item) => idOf(item.price) === wanted);
    },
    plan: accepted,
    automatic_tax: accepted,
    customer_account: accepted,
    current_period_end: timeWithin((o) => items(o)[0]?.current_period_end),
    current_period_start: timeWithin((o) => items(o)[0]?.current_period_start),
  },
  invoices: {
    customer: refEquals(),
    status: refEquals(),
    collection_method: refEquals(),
    due_date: timeWithin(),
    customer_account: accepted,
    subscription: (q, p) => {
      const wanted = stringParam(q, p);
      return wanted === undefined ? null : (o) => subscriptionOf(o) === wanted;
    },
  },
  payment_intents: { customer: refEquals(), customer_account: accepted },
  charges: { customer: refEquals(), payment_intent: refEquals(), transfer_group: refEquals() },
  refunds: { charge: refEquals(), payment_intent: refEquals() },
  checkout_sessions: {
    customer: refEquals(),
    payment_intent: refEquals(),
    payment_link: refEquals(),
    status: refEquals(),
    subscription: refEquals(),
    customer_account: accepted,
    customer_details: (q, p) => {
      const email = q[p] && typeof q[p] === 'object' && !Array.isArray(q[p]) ? stringParam(q[p] as FormObject, 'email') : undefined;
      return email === undefined ? null : (o) => (o.customer_details as { email?: string } | null)?.email === email;
    },
  },
  setup_intents: { customer: refEquals(), payment_method: refEquals(), attach_to_self: accepted, customer_account: accepted },
  payment_methods: { customer: paymentMethodCustomer, type: paymentMethodType, allow_redisplay: refEquals(), customer_account: accepted },
  disputes: { charge: refEquals(), payment_intent: refEquals() },
  credit_notes: { customer: refEquals(), invoice: refEquals(), customer_account: accepted },
  coupons: {},
  promotion_codes: {
    active: boolEquals(),
    code: refEquals(),
    customer: refEquals(),
    customer_account: accepted,
    coupon: (q, p) => {
      const wanted = stringParam(q, p);
      return wanted === undefined ? null : (o) => idOf((o.promotion as { coupon?: unknown } | null)?.coupon) === wanted;
    },
  },
  tax_ids: { owner: ownerFilter },
  subscription_schedules: {
    customer: refEquals(),
    canceled_at: timeWithin(),
    completed_at: timeWithin(),
    released_at: timeWithin(),
    customer_account: accepted,
    scheduled: (q, p) => {
      const wanted = booleanParam(q, p);
      return wanted === undefined ? null : (o) => (o.status === 'not_started') === wanted;
    },
  },
  balance_transactions: { type: refEquals(), source: refEquals(), currency: refEquals(), payout: accepted },
};

/** The params a list of `collection` accepts besides pagination and `created`. */
export const filterParams = (collection: CollectionName) => Object.keys(FILTERS[collection]);

/**
 * The predicate for a list request, or null when nothing filters (the fast path). Filters whose
 * param is absent may still apply (Stripe's defaults: subscriptions, tax ids, payment methods).
 */
export function listPredicate(collection: CollectionName, query: FormObject): Predicate | null {
  const predicates = Object.entries(FILTERS[collection])
    .map(([param, filter]) => filter(query, param))
    .filter((predicate): predicate is Predicate => predicate !== null);
  if (predicates.length === 0) return null;
  return (o) => predicates.every((predicate) => predicate(o));
}

/**
 * The read API over an account's data: `GET /v1/<collection>[/:id]` for every collection, the child
 * lists (`/v1/subscription_items?subscription=`, `/v1/invoices/:id/lines`, `/v1/credit_notes/:id/lines`,
 * `/v1/charges/:id/refunds`, `/v1/customers/:id/payment_methods`, `/v1/customers/:id/tax_ids`; a customer's
 * `tax_ids` when expanded) and `/v1/events[/:id]`.
 */
import { EVENT_RETENTION_SECONDS, typeMatcher, type FakeEvent } from './events.js';
import { listPredicate, filterParams } from './filters.js';
import {
  invalidRequest,
  notFound,
  rejectUnknownParams,
  stringArrayParam,
  stringParam,
  type FormObject,
  type StripeObject,
} from './http.js';
import { paginate, paginateArray, positionsWithin, rangeBounds, type ApiList } from './lists.js';
import type { CollectionName } from './objects/context.js';
import { COLLECTIONS } from './objects/index.js';
import type { AccountStore } from './store.js';

const LIST_PARAMS = ['limit', 'starting_after', 'ending_before', 'expand'];

/** A list source over objects already in order, oldest first. */
const arraySource = (noun: string, objects: StripeObject[]) => ({
  noun,
  count: objects.length,
  live: (i: number) => objects[i],
  indexOf: (id: string) => objects.findIndex((o) => o.id === id),
});

export function listCollection(store: AccountStore, name: CollectionName, query: FormObject): ApiList {
  rejectUnknownParams(query, [...LIST_PARAMS, 'created', ...filterParams(name)]);
  const collection = store.collection(name);
  const range = positionsWithin(collection.count, collection.createdAt, rangeBounds(query.created, 'created'));
  const list = paginate(collection, query, `/v1/${COLLECTIONS[name].path}`, { range, match: listPredicate(name, query) });
  const includable = INCLUDABLE[name];
  if (!includable || !stringArrayParam(query, 'expand')?.includes(`data.${includable.field}`)) return list;
  return {
    ...list,
    data: list.data.map((object) => ({ ...object, [includable.field]: includable.list(store, object.id, { limit: '10' }) })),
  };
}

/** A customer's tax ids, newest first (`/v1/customers/:id/tax_ids`, and `tax_ids` when expanded). */
export function listCustomerTaxIds(store: AccountStore, customerId: string, query: FormObject): ApiList {
  rejectUnknownParams(query, LIST_PARAMS);
  if (!store.retrieve('customers', customerId)) throw notFound('customer', customerId);
  const list = listCollection(store, 'tax_ids', { ...query, owner: { type: 'customer', customer: customerId } });
  return { ...list, url: `/v1/customers/${customerId}/tax_ids` };
}

/** Lists Stripe leaves out of an object unless expanded (`expand[]=tax_ids`, `expand[]=data.tax_ids` in lists): 10 at most, `has_more`. */
const INCLUDABLE: Partial<
  Record<CollectionName, { field: string; list: (store: AccountStore, id: string, query: FormObject) => ApiList }>
> = {
  customers: { field: 'tax_ids', list: listCustomerTaxIds },
};

export function retrieveObject(store: AccountStore, name: CollectionName, id: string, query: FormObject): StripeObject | object {
  rejectUnknownParams(query, ['expand']);
  const object = store.retrieve(name, id);
  const includable = INCLUDABLE[name];
  if (object && includable && stringArrayParam(query, 'expand')?.includes(includable.field))
    return { ...object, [includable.field]: includable.list(store, id, { limit: '10' }) };
  if (object) return object;
  // Stripe keeps a deleted customer retrievable as a stub; every other deleted object is gone.
  if (name === 'customers' && store.wasDeleted(name, id)) return { id, object: 'customer', deleted: true };
  throw notFound(COLLECTIONS[name].object, id);
}

export function listSubscriptionItems(store: AccountStore, query: FormObject): ApiList {
  rejectUnknownParams(query, [...LIST_PARAMS, 'subscription']);
  const id = stringParam(query, 'subscription');
  if (!id) throw invalidRequest('Missing required param: subscription.', { param: 'subscription', code: 'parameter_missing' });
  if (!store.retrieve('subscriptions', id)) throw notFound('subscription', id, 'subscription');
  return paginateArray(store.subscriptionItems(id), query, '/v1/subscription_items', 'subscription_item');
}

export function listLines(store: AccountStore, name: 'invoices' | 'credit_notes', id: string, query: FormObject): ApiList {
  rejectUnknownParams(query, LIST_PARAMS);
  if (!store.retrieve(name, id)) throw notFound(COLLECTIONS[name].object, id);
  const noun = name === 'invoices' ? 'line_item' : 'credit_note_line_item';
  return paginateArray(store.lines(name, id), query, `/v1/${name}/${id}/lines`, noun);
}

/** A charge's refunds, newest first: the list behind `charge.refunds`. */
export function listChargeRefunds(store: AccountStore, chargeId: string, query: FormObject): ApiList {
  rejectUnknownParams(query, LIST_PARAMS);
  if (!store.retrieve('charges', chargeId)) throw notFound('charge', chargeId);
  const refunds = store.refundsOf(chargeId).toReversed();
  const source = arraySource('refund', refunds);
  return paginate(source, query, `/v1/charges/${chargeId}/refunds`);
}

export function listCustomerPaymentMethods(store: AccountStore, customerId: string, query: FormObject): ApiList {
  rejectUnknownParams(query, [...LIST_PARAMS, 'type', 'allow_redisplay']);
  if (!store.retrieve('customers', customerId)) throw notFound('customer', customerId);
  const list = listCollection(store, 'payment_methods', { ...query, customer: customerId });
  return { ...list, url: `/v1/customers/${customerId}/payment_methods` };
}

/** Events sorted as Stripe lists them: by `created`, then in the order they happened. */
function eventsInOrder(store: AccountStore, now: number): FakeEvent[] {
  const oldest = now - EVENT_RETENTION_SECONDS;
  return store.events
    .map((event, seq) => ({ event, seq }))
    .filter(({ event }) => event.created >= oldest)
    .sort((a, b) => a.event.created - b.event.created || a.seq - b.seq)
    .map(({ event }) => event);
}

export function listEvents(store: AccountStore, query: FormObject, now: number): ApiList {
  rejectUnknownParams(query, [...LIST_PARAMS, 'created', 'type', 'types', 'delivery_success']);
  const type = stringParam(query, 'type');
  const types = stringArrayParam(query, 'types');
  if (type !== undefined && types !== undefined) throw invalidRequest('You may only specify one of these parameters: type, types.');
  if (types && types.length > 20) throw invalidRequest('You may pass at most 20 types.', { param: 'types' });
  if (types?.some((t) => t.includes('*'))) {
    throw invalidRequest('Wildcards are not allowed in types; use type instead.', { param: 'types' });
  }
  const matches = type !== undefined ? typeMatcher(type) : types ? (t: string) => types.includes(t) : null;
  const events = eventsInOrder(store, now) as unknown as StripeObject[];
  const range = positionsWithin(events.length, (i) => events[i]!.created, rangeBounds(query.created, 'created'));
  const source = arraySource('event', events);
  return paginate(source, query, '/v1/events', { range, match: matches ? (event) => matches(String(event.type)) : null });
}

export function retrieveEvent(store: AccountStore, id: string, query: FormObject, now: number): FakeEvent {
  rejectUnknownParams(query, ['expand']);
  const event = store.findEvent(id);
  if (!event || event.created < now - EVENT_RETENTION_SECONDS) throw notFound('event', id);
  return event;
}

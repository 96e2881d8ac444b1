/**
 * Which events Stripe sends for a change, and the event objects themselves. Only event types that
 * exist at the pinned API version are produced (`Stripe.Event.Type`): there is no
 * `payment_intent.updated` nor `checkout.session.created` at Stripe, so the fake sends none either.
 */
import type Stripe from 'stripe';
import { randomAlnum, type StripeObject } from './http.js';
import type { CollectionName } from './objects/context.js';

export type EventType = Stripe.Event.Type;
export const EVENT_API_VERSION = '2026-10-28.endive';
/** Stripe lists (and lets you retrieve) the events of the last 30 days only. */
export const EVENT_RETENTION_SECONDS = 30 * 86_400;

export interface FakeEvent {
  id: string;
  object: 'event';
  api_version: string | null;
  created: number;
  data: { object: StripeObject; previous_attributes?: Record<string, unknown> };
  livemode: boolean;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null } | null;
  type: EventType;
}

type Lifecycle = { created?: EventType[]; updated?: EventType[]; deleted?: EventType[] };

const LIFECYCLE: Record<CollectionName, Lifecycle> = {
  products: { created: ['product.created'], updated: ['product.updated'], deleted: ['product.deleted'] },
  prices: { created: ['price.created'], updated: ['price.updated'], deleted: ['price.deleted'] },
  customers: { created: ['customer.created'], updated: ['customer.updated'], deleted: ['customer.deleted'] },
  subscriptions: {
    created: ['customer.subscription.created'],
    updated: ['customer.subscription.updated'],
    deleted: ['customer.subscription.deleted'],
  },
  invoices: { created: ['invoice.created'], updated: ['invoice.updated'], deleted: ['invoice.deleted'] },
  payment_intents: { created: ['payment_intent.created'] },
  charges: { updated: ['charge.updated'] },
  refunds: { created: ['refund.created'], updated: ['refund.updated', 'charge.refund.updated'] },
  checkout_sessions: {},
  setup_intents: { created: ['setup_intent.created'] },
  payment_methods: { updated: ['payment_method.updated'] },
  disputes: { created: ['charge.dispute.created'], updated: ['charge.dispute.updated'] },
  credit_notes: { created: ['credit_note.created'], updated: ['credit_note.updated'] },
  coupons: { created: ['coupon.created'], updated: ['coupon.updated'], deleted: ['coupon.deleted'] },
  promotion_codes: { created: ['promotion_code.created'], updated: ['promotion_code.updated'] },
  tax_ids: { created: ['customer.tax_id.created'], updated: ['customer.tax_id.updated'], deleted: ['customer.tax_id.deleted'] },
  subscription_schedules: { created: ['subscription_schedule.created'], updated: ['subscription_schedule.updated'] },
  balance_transactions: {},
};

/**
 * Events for reaching a status. `replacesUpdated`: Stripe sends only the status event (payment
 * intents have no `.updated` event at all); otherwise the status event comes with `.updated`.
 */
const STATUS_EVENTS: Partial<Record<CollectionName, { replacesUpdated: boolean; statuses: Record<string, EventType[]> }>> = {
  payment_intents: {
    replacesUpdated: true,
    statuses: {
      processing: ['payment_intent.processing'],
      requires_action: ['payment_intent.requires_action'],
      requires_capture: ['payment_intent.amount_capturable_updated'],
      succeeded: ['payment_intent.succeeded'],
      canceled: ['payment_intent.canceled'],
      requires_payment_method: ['payment_intent.payment_failed'],
    },
  },
  charges: { replacesUpdated: true, statuses: { succeeded: ['charge.succeeded'], pending: ['charge.pending'], failed: ['charge.failed'] } },
  refunds: { replacesUpdated: false, statuses: { failed: ['refund.failed'] } },
  invoices: {
    replacesUpdated: false,
    statuses: {
      open: ['invoice.finalized'],
      paid: ['invoice.paid', 'invoice.payment_succeeded'],
      void: ['invoice.voided'],
      uncollectible: ['invoice.marked_uncollectible'],
    },
  },
  // A canceled subscription is what Stripe calls deleted (it stays retrievable).
  subscriptions: { replacesUpdated: false, statuses: { paused: ['customer.subscription.paused'] } },
  setup_intents: {
    replacesUpdated: true,
    statuses: {
      requires_action: ['setup_intent.requires_action'],
      succeeded: ['setup_intent.succeeded'],
      canceled: ['setup_intent.canceled'],
      requires_payment_method: ['setup_intent.setup_failed'],
    },
  },
  checkout_sessions: {
    replacesUpdated: true,
    statuses: { complete: ['checkout.session.completed'], expired: ['checkout.session.expired'] },
  },
  disputes: {
    replacesUpdated: false,
    statuses: { won: ['charge.dispute.closed'], lost: ['charge.dispute.closed'], warning_closed: ['charge.dispute.closed'] },
  },
  credit_notes: { replacesUpdated: false, statuses: { void: ['credit_note.voided'] } },
  subscription_schedules: {
    replacesUpdated: false,
    statuses: {
      canceled: ['subscription_schedule.canceled'],
      released: ['subscription_schedule.released'],
      completed: ['subscription_schedule.completed'],
    },
  },
};

/** The events of a new object: its `.created`, or what its status says (a charge is `charge.succeeded`). */
export function createdEvents(collection: CollectionName, object: StripeObject): EventType[] {
  if (collection === 'charges') return STATUS_EVENTS.charges!.statuses[String(object.status)] ?? [];
  if (collection === 'payment_methods') return object.customer ? ['payment_method.attached'] : [];
  if (collection === 'checkout_sessions') return STATUS_EVENTS.checkout_sessions!.statuses[String(object.status)] ?? [];
  return LIFECYCLE[collection].created ?? [];
}

export function deletedEvents(collection: CollectionName): EventType[] {
  return LIFECYCLE[collection].deleted ?? [];
}

/** The events for a change from `before` to `after` (both as sent), in the order Stripe sends them. */
export function updatedEvents(collection: CollectionName, before: StripeObject, after: StripeObject): EventType[] {
  const rules = STATUS_EVENTS[collection];
  const statusChanged = before.status !== after.status;
  const statusEvents = statusChanged ? (rules?.statuses[String(after.status)] ?? []) : [];
  const special: EventType[] = [];
  if (collection === 'subscriptions' && statusChanged && before.status === 'paused' && after.status !== 'canceled') {
    special.push('customer.subscription.resumed');
  }
  if (collection === 'subscriptions' && statusChanged && after.status === 'canceled') return ['customer.subscription.deleted'];
  if (collection === 'charges') {
    if (before.captured === false && after.captured === true) special.push('charge.captured');
    if (Number(after.amount_refunded) > Number(before.amount_refunded)) special.push('charge.refunded');
  }
  const capturable = after.status === 'requires_capture' && before.amount_capturable !== after.amount_capturable;
  if (collection === 'payment_intents' && !statusChanged && capturable) {
    special.push('payment_intent.amount_capturable_updated');
  }
  if (collection === 'payment_methods' && (before.customer ?? null) !== (after.customer ?? null)) {
    return [after.customer ? 'payment_method.attached' : 'payment_method.detached'];
  }
  const updated = statusEvents.length > 0 && rules?.replacesUpdated ? [] : (LIFECYCLE[collection].updated ?? []);
  if (collection === 'charges' && special.length > 0) return [...statusEvents, ...special];
  return [...statusEvents, ...special, ...updated];
}

/** Top-level fields that changed, with their values before: Stripe's `previous_attributes`. */
export function previousAttributes(before: StripeObject, after: StripeObject): Record<string, unknown> {
  const changed: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) changed[key] = before[key] ?? null;
  }
  return changed;
}

export function makeEvent(
  type: EventType,
  object: StripeObject,
  options: {
    created: number;
    livemode: boolean;
    pendingWebhooks: number;
    previous?: Record<string, unknown>;
  },
): FakeEvent {
  return {
    id: `evt_${randomAlnum(24)}`,
    object: 'event',
    api_version: EVENT_API_VERSION,
    created: options.created,
    data: { object: structuredClone(object), ...(options.previous ? { previous_attributes: structuredClone(options.previous) } : {}) },
    livemode: options.livemode,
    pending_webhooks: options.pendingWebhooks,
    // Changes made by the test, not by an API request: Stripe sends `request.id: null` for automatic events.
    request: { id: null, idempotency_key: null },
    type,
  };
}

/** Whether an endpoint's `enabled_events` (`*`, exact types) covers `type`. */
export const endpointWants = (enabled: string[], type: string) => enabled.includes('*') || enabled.includes(type);

/** The `type` filter of `GET /v1/events` allows one `*` wildcard: `charge.*`, `*.succeeded`. */
export function typeMatcher(pattern: string): (type: string) => boolean {
  if (!pattern.includes('*')) return (type) => type === pattern;
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.]/g, '\\.'))
      .join('[a-z0-9_.]*')}$`,
  );
  return (type) => regex.test(type);
}

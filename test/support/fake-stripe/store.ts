/**
 * The data of one account in one mode: collections, webhook endpoints and events. Tests change it
 * with `create`, `update`, `delete` and `transition` (also while a sync is paging); each change
 * records the events Stripe would send, with `data.object` as Stripe sends it (inline lists cut at
 * 10) and `previous_attributes`.
 */
import { checkFields, SeedCollection, type CollectionHost, type SeedFactory } from './collection.js';
import {
  createdEvents,
  deletedEvents,
  endpointWants,
  makeEvent,
  previousAttributes,
  updatedEvents,
  type EventType,
  type FakeEvent,
} from './events.js';
import type { Mode, StripeObject } from './http.js';
import { inlineList } from './lists.js';
import type { CollectionName } from './objects/context.js';
import { COLLECTIONS } from './objects/index.js';
import type { WebhookEndpoint } from './webhooks.js';

export interface ChangeOptions {
  /** `created` of the events recorded (default: the fake's clock); two changes may share a second. */
  eventCreated?: number;
  /** Record these events instead of the ones Stripe would send for the change ([] for none). */
  events?: EventType[];
}
export interface CreateOptions extends ChangeOptions {
  /** `created` of the object (default: the fake's clock); not older than the newest object of its collection. */
  created?: number;
}

/** Named transitions that no plain field change describes. */
const TRANSITIONS = {
  'charges:captured': { events: ['charge.captured'], changes: (o: StripeObject) => ({ captured: true, amount_captured: o.amount }) },
  'charges:expired': { events: ['charge.expired'], changes: (o: StripeObject) => ({ refunded: true, amount_refunded: o.amount }) },
  'invoices:overdue': { events: ['invoice.overdue'], changes: () => ({}) },
  'subscriptions:pending_update_applied': {
    events: ['customer.subscription.pending_update_applied'],
    changes: () => ({ pending_update: null }),
  },
  'subscriptions:pending_update_expired': {
    events: ['customer.subscription.pending_update_expired'],
    changes: () => ({ pending_update: null }),
  },
} satisfies Record<string, { events: EventType[]; changes: (o: StripeObject) => Record<string, unknown> }>;
export type TransitionName = keyof typeof TRANSITIONS;

type ChildList = { data?: unknown[] } | unknown[] | undefined;
const childData = (value: unknown): StripeObject[] => {
  const list = value as ChildList;
  return ((Array.isArray(list) ? list : list?.data) ?? []) as StripeObject[];
};

export class AccountStore implements CollectionHost {
  readonly endpoints: WebhookEndpoint[] = [];
  /** Every event recorded, in the order recorded. */
  readonly events: FakeEvent[] = [];
  readonly livemode: boolean;
  private readonly collections = new Map<CollectionName, SeedCollection>();
  private refundIndex: { version: number; byCharge: Map<string, number[]> } | null = null;

  constructor(
    readonly accountId: string,
    readonly mode: Mode,
    readonly epoch: number,
    readonly startedAt: number,
    private readonly clock: () => number,
  ) {
    this.livemode = mode === 'live';
  }

  collection(name: CollectionName): SeedCollection {
    let collection = this.collections.get(name);
    if (!collection) this.collections.set(name, (collection = new SeedCollection(name, this)));
    return collection;
  }

  /** Appends `count` generated objects (see FakeStripe.seed). Seeding records no events: the data was already there. */
  seed(name: CollectionName, count: number, factory?: SeedFactory): SeedCollection {
    if (!Number.isInteger(count) || count < 0) throw new Error(`fake stripe: cannot seed ${count} objects`);
    const collection = this.collection(name);
    collection.add(count, factory);
    return collection;
  }

  /** An object as Stripe sends it, or undefined when unknown or deleted. */
  retrieve(name: CollectionName, id: string): StripeObject | undefined {
    const collection = this.collection(name);
    const index = collection.indexOf(id);
    return index < 0 ? undefined : collection.live(index);
  }

  /** Whether `id` was an object of `name` that has been deleted. */
  wasDeleted(name: CollectionName, id: string): boolean {
    const collection = this.collection(name);
    const index = collection.indexOf(id);
    return index >= 0 && collection.isRemoved(index);
  }

  /** Creates an object from the generator's defaults and `fields`; records its events. */
  create(name: CollectionName, fields: Record<string, unknown> = {}, options: CreateOptions = {}): StripeObject {
    checkFields(name, fields);
    const collection = this.collection(name);
    const created = options.created ?? this.clock();
    const chargeBefore = name === 'refunds' && typeof fields.charge === 'string' ? this.retrieve('charges', fields.charge) : undefined;
    const raw = collection.append((id, index) => {
      const base = collection.generate(index, id, created);
      const fixed = { id, object: base.object, created, ...('livemode' in base ? { livemode: this.livemode } : {}) };
      return this.normalize(name, { ...base, ...fields, ...fixed });
    });
    const object = this.present(name, raw);
    this.record(options.events ?? createdEvents(name, object), object, options);
    if (chargeBefore) {
      const chargeAfter = this.retrieve('charges', chargeBefore.id)!;
      this.record(['charge.refunded'], chargeAfter, options, previousAttributes(chargeBefore, chargeAfter));
    }
    return object;
  }

  /** Changes top-level fields (`items`/`lines` may be given as arrays); records the events of the change. */
  update(name: CollectionName, id: string, changes: Record<string, unknown>, options: ChangeOptions = {}): StripeObject {
    checkFields(name, changes);
    const { collection, index } = this.locate(name, id);
    const before = collection.at(index);
    const fixed = { id, object: before.object, created: before.created };
    collection.replace(index, this.normalize(name, { ...structuredClone(collection.raw(index)), ...changes, ...fixed }));
    const after = collection.at(index);
    const previous = previousAttributes(before, after);
    this.record(options.events ?? updatedEvents(name, before, after), after, options, previous);
    return after;
  }

  /**
   * Deletes an object: gone from lists, `resource_missing` on retrieve (a deleted customer is still
   * retrieved, as `{ id, object, deleted: true }`). A subscription is canceled instead, as at Stripe.
   */
  delete(name: CollectionName, id: string, options: ChangeOptions = {}): StripeObject {
    if (name === 'subscriptions') {
      const now = options.eventCreated ?? this.clock();
      return this.update(name, id, { status: 'canceled', canceled_at: now, ended_at: now, cancel_at_period_end: false }, options);
    }
    const { collection, index } = this.locate(name, id);
    const last = collection.at(index);
    collection.remove(index);
    this.record(options.events ?? deletedEvents(name), last, options);
    return last;
  }

  /** A named status change with the events Stripe sends for it (`charges:captured`, `invoices:overdue`...). */
  transition(transition: TransitionName, id: string, options: ChangeOptions = {}): StripeObject {
    const name = transition.split(':')[0] as CollectionName;
    const rule = TRANSITIONS[transition];
    const { collection, index } = this.locate(name, id);
    return this.update(name, id, rule.changes(collection.at(index)), { ...options, events: options.events ?? rule.events });
  }

  /** Records an event as given (for events no change of the fake's data describes). */
  emit(type: EventType, object: StripeObject, options: { created?: number; previousAttributes?: Record<string, unknown> } = {}): FakeEvent {
    return this.record([type], object, { eventCreated: options.created }, options.previousAttributes)[0]!;
  }

  findEvent(id: string): FakeEvent | undefined {
    return this.events.find((event) => event.id === id);
  }

  /** Every item of a subscription, in Stripe's order (the first 10 are the inline ones). */
  subscriptionItems(subscriptionId: string): StripeObject[] {
    const { collection, index } = this.locate('subscriptions', subscriptionId);
    return childData(collection.raw(index).items).map((item) => structuredClone(item));
  }

  /** Every line of an invoice or credit note, in order. */
  lines(name: 'invoices' | 'credit_notes', id: string): StripeObject[] {
    const { collection, index } = this.locate(name, id);
    if (collection.isRemoved(index)) throw new Error(`fake stripe: ${name} ${id} was deleted`);
    return childData(collection.raw(index).lines).map((line) => structuredClone(line));
  }

  /** The live refunds of a charge, newest first (what `charge.refunds` and `/v1/refunds?charge=` show). */
  refundsOf(chargeId: string): StripeObject[] {
    const refunds = this.collection('refunds');
    if (this.refundIndex?.version !== refunds.version) {
      const byCharge = new Map<string, number[]>();
      for (let i = 0; i < refunds.count; i++) {
        const charge = refunds.raw(i).charge;
        const key = typeof charge === 'string' ? charge : (charge as { id?: string } | null)?.id;
        if (key) byCharge.set(key, [...(byCharge.get(key) ?? []), i]);
      }
      this.refundIndex = { version: refunds.version, byCharge };
    }
    const positions = this.refundIndex.byCharge.get(chargeId) ?? [];
    return positions
      .toReversed()
      .map((i) => refunds.live(i))
      .filter((refund): refund is StripeObject => refund !== undefined);
  }

  /** What Stripe sends for a stored object: inline lists cut at 10 with `has_more`, charge refunds filled in. */
  present(name: CollectionName, raw: StripeObject): StripeObject {
    if (name === 'subscriptions') {
      return { ...raw, items: inlineList(childData(raw.items), `/v1/subscription_items?subscription=${raw.id}`) };
    }
    if (name === 'invoices') return { ...raw, lines: inlineList(childData(raw.lines), `/v1/invoices/${raw.id}/lines`) };
    if (name === 'credit_notes') return { ...raw, lines: inlineList(childData(raw.lines), `/v1/credit_notes/${raw.id}/lines`) };
    if (name === 'charges') {
      const refunds = this.refundsOf(raw.id);
      const sent = { ...raw, refunds: inlineList(refunds, `/v1/charges/${raw.id}/refunds`) };
      if (refunds.length === 0) return sent;
      const counted = refunds.filter((r) => r.status === 'succeeded' || r.status === 'pending');
      const refunded = counted.reduce((sum, r) => sum + Number(r.amount), 0);
      return { ...sent, amount_refunded: refunded, refunded: refunded >= Number(raw.amount) };
    }
    return raw;
  }

  private locate(name: CollectionName, id: string): { collection: SeedCollection; index: number } {
    const collection = this.collection(name);
    const index = collection.indexOf(id);
    if (index < 0) throw new Error(`fake stripe: no ${COLLECTIONS[name].object} ${id} in ${this.accountId} (${this.mode})`);
    if (collection.isRemoved(index)) throw new Error(`fake stripe: ${COLLECTIONS[name].object} ${id} was deleted`);
    return { collection, index };
  }

  /** Child lists given as arrays become lists; subscription items must carry their period (Stripe's 2025 shape). */
  private normalize(name: CollectionName, object: StripeObject): StripeObject {
    if (name === 'subscriptions') {
      const items = childData(object.items);
      for (const item of items) {
        if (typeof item.current_period_start !== 'number' || typeof item.current_period_end !== 'number') {
          const why = 'they moved from the subscription to its items';
          throw new Error(`fake stripe: subscription item ${item.id} needs current_period_start/end (${why})`);
        }
      }
      const url = `/v1/subscription_items?subscription=${object.id}`;
      return { ...object, items: { object: 'list', data: items, has_more: false, url } };
    }
    if (name === 'invoices' || name === 'credit_notes') {
      const lines = childData(object.lines);
      if (name === 'invoices') for (const line of lines) checkFields('invoice_line_items', line);
      const url = `/v1/${COLLECTIONS[name].path}/${object.id}/lines`;
      return { ...object, lines: { object: 'list', data: lines, has_more: false, url } };
    }
    return object;
  }

  private record(types: EventType[], object: StripeObject, options: ChangeOptions, previous?: Record<string, unknown>): FakeEvent[] {
    const created = options.eventCreated ?? this.clock();
    return types.map((type) => {
      const pendingWebhooks = this.endpoints.filter((e) => e.status === 'enabled' && endpointWants(e.enabled_events, type)).length;
      const withPrevious = previous && Object.keys(previous).length > 0 && !type.endsWith('.created') && !type.endsWith('.deleted');
      const event = makeEvent(type, object, {
        created,
        livemode: this.livemode,
        pendingWebhooks,
        previous: withPrevious ? previous : undefined,
      });
      this.events.push(event);
      return event;
    });
  }
}

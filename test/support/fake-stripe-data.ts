/**
 * Pure helpers for the fake Stripe server (test/support/fake-stripe.ts): form decoding, Stripe's
 * error shape, ids and keys, list pagination, and the lazily generated seed collections.
 */
import { createHmac, randomInt } from 'node:crypto';
import { isIP } from 'node:net';

export type Mode = 'test' | 'live';
export type KeyKind = 'secret' | 'restricted' | 'publishable';
/** 'read' is an extension: GETs allowed, writes refused with 403. */
export type KeyPermissions = 'all' | 'read' | 'none';
export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };
export type StripeObject = { id: string; object: string; created: number; livemode: boolean; [key: string]: unknown };
export interface StripeErrorBody { type: string; message: string; code?: string; param?: string; doc_url?: string }

/** Thrown by handlers; the server turns it into `{ error }` with `status`. */
export class StripeHttpError extends Error {
  constructor(readonly status: number, readonly body: StripeErrorBody, readonly headers: Record<string, string> = {}) {
    super(body.message);
  }
}

export const invalidRequest = (message: string, extra: { param?: string; code?: string } = {}, status = 400) =>
  new StripeHttpError(status, { type: 'invalid_request_error', message, ...extra });

export const notFound = (noun: string, id: string, param = 'id') =>
  invalidRequest(`No such ${noun}: '${id}'`, { code: 'resource_missing', param }, param === 'id' ? 404 : 400);

const ALPHANUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const randomAlnum = (n: number) => Array.from({ length: n }, () => ALPHANUM[randomInt(ALPHANUM.length)]).join('');

const KEY_PREFIX = { secret: 'sk', restricted: 'rk', publishable: 'pk' } as const;
export const makeKey = (kind: KeyKind, mode: Mode) => `${KEY_PREFIX[kind]}_${mode}_51${randomAlnum(30)}`;

/** Masks a key the way Stripe echoes it: its prefix, stars, and the last `visible` characters. */
export function maskKey(key: string, visible = 4): string {
  const prefix = /^(?:sk|rk|pk)_(?:test|live)_/.exec(key)?.[0] ?? '';
  const tail = key.length - prefix.length > visible * 3 ? key.slice(-visible) : '';
  return `${prefix}${'*'.repeat(Math.max(4, key.length - prefix.length - tail.length))}${tail}`;
}

export const signPayload = (payload: string, secret: string, timestamp: number) =>
  `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex')}`;

// ---------------------------------------------------------------------------------------------
// Form decoding: `a=1&list[]=x&list[1]=y&metadata[k]=v` (the SDK sends indexed arrays).

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const INDEX = /^\d*$/;

export function parseForm(encoded: string): FormObject {
  const root: FormObject = {};
  for (const [rawKey, value] of new URLSearchParams(encoded)) {
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(rawKey);
    const segments = m ? [m[1]!, ...[...m[2]!.matchAll(/\[([^[\]]*)\]/g)].map((s) => s[1]!)] : [rawKey];
    assign(root, segments, value);
  }
  return compact(root) as FormObject;
}

function assign(root: FormObject, segments: string[], value: string): void {
  let node: FormObject | FormValue[] = root;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (UNSAFE_KEYS.has(seg)) return;
    const last = i === segments.length - 1;
    const fresh = (): FormValue => (last ? value : INDEX.test(segments[i + 1]!) ? [] : {});
    if (Array.isArray(node)) {
      if (!INDEX.test(seg)) return;
      const idx = seg === '' ? node.length : Number(seg);
      const existing: FormValue | undefined = node[idx];
      if (last || existing === undefined || typeof existing === 'string') node[idx] = fresh();
      if (last) return;
      node = node[idx] as FormObject | FormValue[];
    } else {
      const existing = Object.hasOwn(node, seg) ? node[seg] : undefined;
      if (last || existing === undefined || typeof existing === 'string') node[seg] = fresh();
      if (last) return;
      node = node[seg] as FormObject | FormValue[];
    }
  }
}

function compact(value: FormValue): FormValue {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map(compact);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, compact(v)]));
}

// ---------------------------------------------------------------------------------------------
// Param validation helpers, with Stripe's wording.

export function rejectUnknownParams(params: FormObject, allowed: readonly string[]): void {
  const unknown = Object.keys(params).find((k) => !allowed.includes(k));
  if (unknown) throw invalidRequest(`Received unknown parameter: ${unknown}`, { param: unknown });
}

export function stringParam(params: FormObject, name: string): string | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalidRequest(`Invalid string: ${JSON.stringify(v)}`, { param: name });
  return v;
}

export function booleanParam(params: FormObject, name: string): boolean | undefined {
  const v = stringParam(params, name);
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw invalidRequest(`Invalid boolean: ${v}`, { param: name });
  return v === 'true';
}

export function stringArrayParam(params: FormObject, name: string): string[] | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw invalidRequest('Invalid array', { param: name });
  return v.map((item, i) => {
    if (typeof item !== 'string') throw invalidRequest(`Invalid string: ${JSON.stringify(item)}`, { param: `${name}[${i}]` });
    return item;
  });
}

/** Applies a `metadata` param onto `current`: '' unsets a key, `metadata=` clears all. */
export function applyMetadata(current: Record<string, string>, raw: FormValue | undefined): Record<string, string> {
  if (raw === undefined) return current;
  if (raw === '') return {};
  if (typeof raw === 'string') throw invalidRequest('Invalid object', { param: 'metadata' });
  const next = { ...current };
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') throw invalidRequest('Invalid string: metadata values must be strings', { param: `metadata[${k}]` });
    if (k.length > 40) throw invalidRequest('Metadata keys can have a maximum length of 40 characters.', { param: `metadata[${k}]` });
    if (v.length > 500) throw invalidRequest('Metadata values can have a maximum length of 500 characters.', { param: `metadata[${k}]` });
    if (v === '') delete next[k];
    else next[k] = v;
  }
  if (Object.keys(next).length > 50) throw invalidRequest('You can have at most 50 metadata keys.', { param: 'metadata' });
  return next;
}

export const API_VERSION_PATTERN = /^\d{4}-\d{2}-\d{2}(?:\.[a-z]+)?$/;

/** Stripe refuses webhook URLs it cannot reach from the internet; `null` when the URL is fine. */
export function webhookUrlProblem(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `Invalid URL: ${raw}. An explicit scheme (such as https) must be provided.`;
  }
  if (url.protocol !== 'https:') return `Invalid URL: ${raw}. Webhook URLs must use the https scheme.`;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const privateV4 = isIP(host) === 4 && /^(?:127\.|10\.|0\.|169\.254\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.)/.test(host);
  const privateV6 = isIP(host) === 6 && /^(?:::1?|f[cd]|fe80:|::ffff:(?:127|10)\.)/.test(host);
  if (host === 'localhost' || host.endsWith('.localhost') || privateV4 || privateV6) {
    return 'Invalid URL: URL must be publicly accessible. Consider using a tool like the Stripe CLI to test webhooks locally: https://github.com/stripe/stripe-cli';
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Lists: newest first, cursors by id, like Stripe.

/** Index 0 is the oldest object. */
export interface ListSource { count: number; at(index: number): StripeObject; indexOf(id: string): number; noun: string }

export const LIST_PARAMS = ['limit', 'starting_after', 'ending_before', 'expand'] as const;

export function paginate(source: ListSource, query: FormObject, url: string, range: [number, number] = [0, source.count]) {
  const rawLimit = stringParam(query, 'limit') ?? '10';
  if (!/^-?\d+$/.test(rawLimit)) throw invalidRequest(`Invalid integer: ${rawLimit}`, { param: 'limit' });
  const limit = Number(rawLimit);
  if (limit < 1) throw invalidRequest('This value must be greater than or equal to 1.', { param: 'limit' });
  if (limit > 100) throw invalidRequest('This value must be less than or equal to 100.', { param: 'limit' });
  const after = stringParam(query, 'starting_after');
  const before = stringParam(query, 'ending_before');
  if (after && before) throw invalidRequest('You may only specify one of these parameters: starting_after, ending_before.');
  const cursor = (id: string, param: string) => {
    const i = source.indexOf(id);
    if (i < 0) throw notFound(source.noun, id, param);
    return i;
  };
  let [lo, hi] = range; // candidate indexes [lo, hi)
  let data: StripeObject[];
  let hasMore: boolean;
  if (before) {
    lo = Math.max(lo, cursor(before, 'ending_before') + 1);
    const end = Math.min(hi, lo + limit);
    data = indexesDescending(end, lo).map((i) => source.at(i));
    hasMore = end < hi;
  } else {
    if (after) hi = Math.min(hi, cursor(after, 'starting_after'));
    const start = Math.max(lo, hi - limit);
    data = indexesDescending(hi, start).map((i) => source.at(i));
    hasMore = start > lo;
  }
  return { object: 'list' as const, data, has_more: hasMore, url };
}

const indexesDescending = (from: number, downTo: number) => Array.from({ length: Math.max(0, from - downTo) }, (_, k) => from - 1 - k);

// ---------------------------------------------------------------------------------------------
// Seed collections: objects are generated from their index on demand, so 100,000 cost nothing.

export type CollectionName = 'products' | 'prices' | 'customers' | 'subscriptions' | 'invoices' | 'payment_intents' | 'charges' | 'refunds';
export type SeedFactory = (index: number, base: StripeObject) => Record<string, unknown>;
interface BuildContext { index: number; ref: (collection: CollectionName, index: number) => string }
type Builder = (ctx: BuildContext) => Record<string, unknown>;

const amount = (i: number) => 500 + ((i * 7919) % 100) * 100;
const money = (i: number) => ({ amount: amount(i), currency: 'usd' });

export const COLLECTIONS: Record<CollectionName, { prefix: string; object: string; filters: string[]; build: Builder }> = {
  products: { prefix: 'prod', object: 'product', filters: ['active', 'ids', 'shippable', 'url', 'type'],
    build: ({ index }) => ({ active: true, name: `Product ${index + 1}`, description: null, default_price: null, type: 'service' }) },
  prices: { prefix: 'price', object: 'price', filters: ['active', 'currency', 'lookup_keys', 'product', 'recurring', 'type'],
    build: ({ index, ref }) => ({ active: true, currency: 'usd', unit_amount: amount(index), product: ref('products', index), type: 'recurring', recurring: { interval: 'month', interval_count: 1 } }) },
  customers: { prefix: 'cus', object: 'customer', filters: ['email', 'test_clock'],
    build: ({ index }) => ({ email: `customer${index + 1}@example.com`, name: `Customer ${index + 1}`, currency: 'usd', delinquent: false }) },
  subscriptions: { prefix: 'sub', object: 'subscription', filters: ['customer', 'price', 'status', 'collection_method', 'current_period_end', 'current_period_start', 'test_clock', 'automatic_tax'],
    build: ({ index, ref }) => {
      const id = ref('subscriptions', index);
      const item = { id: `si_${id.slice(4)}`, object: 'subscription_item', quantity: 1 + (index % 3), price: { id: ref('prices', index), object: 'price', product: ref('products', index) } };
      return { customer: ref('customers', index), status: 'active', currency: 'usd', cancel_at_period_end: false, canceled_at: null,
        items: { object: 'list', data: [item], has_more: false, url: `/v1/subscription_items?subscription=${id}` } };
    } },
  invoices: { prefix: 'in', object: 'invoice', filters: ['customer', 'status', 'subscription', 'collection_method', 'due_date'],
    build: ({ index, ref }) => ({ customer: ref('customers', index), subscription: ref('subscriptions', index), status: 'paid', currency: 'usd', amount_due: amount(index), amount_paid: amount(index) }) },
  payment_intents: { prefix: 'pi', object: 'payment_intent', filters: ['customer'],
    build: ({ index, ref }) => ({ ...money(index), customer: ref('customers', index), status: 'succeeded' }) },
  charges: { prefix: 'ch', object: 'charge', filters: ['customer', 'payment_intent', 'transfer_group'],
    build: ({ index, ref }) => ({ ...money(index), amount_refunded: 0, customer: ref('customers', index), payment_intent: ref('payment_intents', index), status: 'succeeded', paid: true, refunded: false }) },
  refunds: { prefix: 're', object: 'refund', filters: ['charge', 'payment_intent'],
    build: ({ index, ref }) => ({ ...money(index), charge: ref('charges', index), status: 'succeeded' }) },
};

export const isCollectionName = (name: string): name is CollectionName => Object.hasOwn(COLLECTIONS, name);

const encodeIndex = (i: number) => {
  let s = '';
  for (let n = i; n > 0; n = Math.floor(n / 62)) s = ALPHANUM[n % 62] + s;
  return s.padStart(8, ALPHANUM[0]);
};
const decodeIndex = (s: string) => [...s].reduce((n, c) => (n < 0 || !ALPHANUM.includes(c) ? -1 : n * 62 + ALPHANUM.indexOf(c)), 0);

export class SeedCollection implements ListSource {
  readonly noun: string;
  count = 0;
  private readonly tag = randomAlnum(6);
  private readonly segments: { start: number; factory?: SeedFactory }[] = [];

  constructor(
    readonly name: CollectionName,
    private readonly livemode: boolean,
    /** `created` of index 0, in unix seconds; each next object is one second newer. */
    private readonly epoch: number,
    private readonly ref: (collection: CollectionName, index: number) => string,
  ) {
    this.noun = COLLECTIONS[name].object;
  }

  add(count: number, factory?: SeedFactory) {
    this.segments.push({ start: this.count, factory });
    this.count += count;
  }

  idAt = (index: number) => `${COLLECTIONS[this.name].prefix}_${this.tag}${encodeIndex(index)}`;
  createdAt = (index: number) => this.epoch + index;

  indexOf(id: string): number {
    const head = `${COLLECTIONS[this.name].prefix}_${this.tag}`;
    if (!id.startsWith(head) || id.length !== head.length + 8) return -1;
    const index = decodeIndex(id.slice(head.length));
    return index >= 0 && index < this.count ? index : -1;
  }

  at(index: number): StripeObject {
    const { object, build } = COLLECTIONS[this.name];
    const fixed = { id: this.idAt(index), object, created: this.createdAt(index), livemode: this.livemode };
    const base: StripeObject = { ...fixed, ...build({ index, ref: this.ref }), metadata: {} };
    const factory = this.segments.findLast((s) => s.start <= index)?.factory;
    return factory ? { ...base, ...factory(index, base), ...fixed } : base;
  }

  /** Index range [lo, hi) whose `created` satisfies a `created` filter (`created=N` or `created[gt]=N`...). */
  createdRange(filter: FormValue | undefined): [number, number] {
    if (filter === undefined) return [0, this.count];
    const ops: FormObject = typeof filter === 'string' ? { gte: filter, lte: filter } : Array.isArray(filter) ? {} : filter;
    let [lo, hi] = [0, this.count];
    for (const [op, raw] of Object.entries(ops)) {
      const t = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) - this.epoch : NaN;
      if (Number.isNaN(t) || !['gt', 'gte', 'lt', 'lte'].includes(op)) throw invalidRequest(`Invalid created[${op}]`, { param: `created[${op}]` });
      if (op === 'gt') lo = Math.max(lo, t + 1);
      if (op === 'gte') lo = Math.max(lo, t);
      if (op === 'lt') hi = Math.min(hi, t);
      if (op === 'lte') hi = Math.min(hi, t + 1);
    }
    return [Math.max(0, lo), Math.max(Math.max(0, lo), Math.min(this.count, hi))];
  }
}

// ---------------------------------------------------------------------------------------------
// Subscriptions with many items: Stripe sends the first 10 inline (`has_more`), the rest are
// listed with GET /v1/subscription_items?subscription=<id>.

const INLINE_ITEMS = 10;

/** Item `k` (0-based) of a subscription with generated items. */
export function generatedItem(subscriptionId: string, k: number) {
  const tag = `${subscriptionId.slice(4)}x${String(k).padStart(3, '0')}`;
  return { id: `si_${tag}`, object: 'subscription_item', quantity: 1 + (k % 4), created: 1_700_000_000 + k, price: { id: `price_${tag}`, object: 'price', product: `prod_${tag}` } };
}

/** A subscription's `items` with `count` generated items, as Stripe embeds them (first 10 inline). */
export function generatedItems(subscriptionId: string, count: number) {
  const data = Array.from({ length: Math.min(count, INLINE_ITEMS) }, (_, k) => generatedItem(subscriptionId, k));
  return { object: 'list', data, has_more: count > INLINE_ITEMS, total_count: count, url: `/v1/subscription_items?subscription=${subscriptionId}` };
}

/** Every item of a subscription, as a list source in Stripe's item order (oldest first, so index 0 is the last). */
export function subscriptionItemsSource(subscription: StripeObject): ListSource {
  const items = subscription.items as { data?: Array<{ id: string }>; total_count?: number } | undefined;
  const inline = items?.data ?? [];
  const count = items?.total_count ?? inline.length;
  const all = inline.length >= count ? inline.map((item) => item as unknown as StripeObject) : Array.from({ length: count }, (_, k) => generatedItem(subscription.id, k) as unknown as StripeObject);
  return {
    count: all.length,
    noun: 'subscription_item',
    at: (index) => all[all.length - 1 - index]!,
    indexOf: (id) => {
      const k = all.findIndex((item) => item.id === id);
      return k < 0 ? -1 : all.length - 1 - k;
    },
  };
}

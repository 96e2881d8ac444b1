/**
 * What an object generator is given. Generators are pure functions of it, so a seeded collection of
 * 100,000 objects is generated page by page, on demand, and always the same.
 */
import type Stripe from 'stripe';

export type CollectionName =
  | 'products'
  | 'prices'
  | 'customers'
  | 'subscriptions'
  | 'invoices'
  | 'payment_intents'
  | 'charges'
  | 'refunds'
  | 'checkout_sessions'
  | 'setup_intents'
  | 'payment_methods'
  | 'disputes'
  | 'credit_notes'
  | 'coupons'
  | 'promotion_codes'
  | 'tax_ids'
  | 'subscription_schedules'
  | 'balance_transactions';

export interface BuildContext {
  index: number;
  id: string;
  created: number;
  livemode: boolean;
  /** Fixed for the life of the fake (its start): current periods, expiries... are relative to it. */
  now: number;
  /** The id of a related object: `index` modulo the size of that collection (or its would-be id). */
  ref(collection: CollectionName, index: number): string;
  /** A related object as stored (first-level fields complete), for the few objects Stripe embeds. */
  object<T>(collection: CollectionName, index: number): T;
}

export type Builder<T> = (ctx: BuildContext) => T;

export const DAY = 86_400;
/** Stripe bills monthly; a fixed 30 days is close enough for periods here. */
export const MONTH = 30 * DAY;

/** Amounts vary with the index but stay plausible: 5.00 to 104.00. */
export const amountOf = (index: number) => 500 + ((index * 7919) % 100) * 100;

/** A deterministic alphanumeric tail derived from an id, for secrets and fingerprints. */
export function tailOf(id: string, length: number): string {
  let h = 2166136261;
  let out = '';
  for (let i = 0; out.length < length; i++) {
    h = Math.imul(h ^ id.charCodeAt(i % id.length) ^ i, 16777619) >>> 0;
    out += 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[h % 62];
  }
  return out;
}

/** The billing period `[start, end)` that contains `now`, for a cycle anchored at `anchor`. */
export function currentPeriod(anchor: number, now: number): { start: number; end: number } {
  const cycles = Math.max(0, Math.floor((now - anchor) / MONTH));
  const start = anchor + cycles * MONTH;
  return { start, end: start + MONTH };
}

export const emptyAddress = (): Stripe.Address => ({ city: null, country: null, line1: null, line2: null, postal_code: null, state: null });

export const address = (index: number): Stripe.Address => ({
  city: 'London',
  country: 'GB',
  line1: `${(index % 200) + 1} Fake Street`,
  line2: null,
  postal_code: 'EC1A 1BB',
  state: null,
});

/** `automatic_tax` as Stripe sends it when Stripe Tax is off (shared by subscriptions, invoices, sessions). */
export const noAutomaticTax = () => ({ disabled_reason: null, enabled: false, liability: null, provider: null, status: null }) as const;

/**
 * An object as it travels as JSON: decimal fields are strings on the wire (the SDK turns them into
 * `Stripe.Decimal` when it parses a response), everything else as typed.
 */
export type Wire<T> = T extends Stripe.Decimal
  ? string
  : T extends
        string | number | boolean | bigint | null | undefined // before objects: OtherString is `string & {}`
    ? T
    : T extends Array<infer U>
      ? Array<Wire<U>>
      : { [K in keyof T]: Wire<T[K]> };

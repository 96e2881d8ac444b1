/**
 * Generators for subscriptions, their items and subscription schedules, typed against the `stripe`
 * package at the pinned API version. Since 2025-03-31 the billing period lives on each item
 * (`current_period_start/end`), not on the subscription.
 */
import type Stripe from 'stripe';
import { price as priceOf } from './catalog.js';
import { currentPeriod, MONTH, type BuildContext, type Wire } from './context.js';

type WirePrice = Wire<Stripe.Price>;
export type WireSubscriptionItem = Wire<Stripe.SubscriptionItem>;

/** The legacy `plan` Stripe still embeds next to an item's `price`. */
export const planOf = (price: WirePrice) =>
  ({
    id: price.id,
    object: 'plan',
    created: price.created,
    livemode: price.livemode,
    active: price.active,
    amount: price.unit_amount,
    amount_decimal: price.unit_amount_decimal,
    billing_scheme: price.billing_scheme,
    currency: price.currency,
    interval: price.recurring?.interval ?? 'month',
    interval_count: price.recurring?.interval_count ?? 1,
    metadata: {},
    meter: null,
    nickname: price.nickname,
    product: typeof price.product === 'string' ? price.product : price.product.id,
    tiers_mode: null,
    transform_usage: null,
    trial_period_days: null,
    usage_type: 'licensed',
  }) satisfies Wire<Stripe.Plan>;

export interface ItemInput {
  id: string;
  subscription: string;
  created: number;
  price: WirePrice;
  quantity: number;
  period: { start: number; end: number };
}

/** Items carry no `livemode` of their own (their price does). */
export const subscriptionItem = ({ id, subscription, created, price, quantity, period }: ItemInput) =>
  ({
    id,
    object: 'subscription_item',
    created,
    billing_thresholds: null,
    current_period_start: period.start,
    current_period_end: period.end,
    current_trial: null,
    discounts: [],
    metadata: {},
    plan: planOf(price),
    price,
    quantity,
    subscription,
    tax_rates: [],
  }) satisfies WireSubscriptionItem;

/** Fixed for the process: standalone items get the period that contains the day it started. */
const TODAY = Math.floor(Date.now() / 1000 / 86_400) * 86_400;

/**
 * Item `k` (0-based) of a subscription, with its own price and product: for subscriptions with
 * many items (`generatedItems`). Its period is the month that contains today.
 */
export function generatedItem(subscriptionId: string, k: number, livemode = false): WireSubscriptionItem {
  const tag = `${subscriptionId.slice(4)}x${String(k).padStart(3, '0')}`;
  const price = priceOf({
    index: k,
    id: `price_${tag}`,
    created: 1_700_000_000,
    livemode,
    now: TODAY,
    ref: () => `prod_${tag}`,
    object: () => ({}) as never,
  });
  const period = currentPeriod(TODAY - MONTH / 2, TODAY);
  const created = 1_700_000_000 + k;
  return subscriptionItem({ id: `si_${tag}`, subscription: subscriptionId, created, price, quantity: 1 + (k % 4), period });
}

/**
 * A subscription's `items` holding `count` generated items. The fake keeps every item; what it
 * sends (lists, retrieve, events) carries the first 10 with `has_more`, like Stripe.
 */
export function generatedItems(subscriptionId: string, count: number, livemode = false) {
  const data = Array.from({ length: count }, (_, k) => generatedItem(subscriptionId, k, livemode));
  return { object: 'list' as const, data, has_more: false, url: `/v1/subscription_items?subscription=${subscriptionId}` };
}

export const subscription = (ctx: BuildContext) => {
  const { index, id, created, livemode, ref, now } = ctx;
  const period = currentPeriod(created, now);
  const price = ctx.object<WirePrice>('prices', index);
  const item = subscriptionItem({ id: `si_${id.slice(4, 18)}`, subscription: id, created, price, quantity: 1 + (index % 3), period });
  return {
    id,
    object: 'subscription',
    created,
    livemode,
    application: null,
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: created,
    billing_cycle_anchor_config: null,
    billing_mode: { flexible: { proration_discounts: 'included' }, type: 'flexible', updated_at: created },
    billing_schedules: [],
    billing_thresholds: null,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: null,
    collection_method: 'charge_automatically',
    currency: 'usd',
    customer: ref('customers', index),
    customer_account: null,
    days_until_due: null,
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    ended_at: null,
    invoice_settings: { account_tax_ids: null, custom_fields: null, description: null, footer: null, issuer: { type: 'self' } },
    items: { object: 'list', data: [item], has_more: false, url: `/v1/subscription_items?subscription=${id}` },
    latest_invoice: null,
    managed_payments: null,
    metadata: {},
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: { payment_method_options: null, payment_method_types: null, save_default_payment_method: 'off' },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: created,
    status: 'active',
    test_clock: null,
    transfer_data: null,
    trial_end: null,
    trial_settings: { end_behavior: { billing_cycle_anchor: null, missing_payment_method: 'create_invoice' } },
    trial_start: null,
  } satisfies Wire<Stripe.Subscription>;
};

export const subscriptionSchedule = ({ index, id, created, livemode, ref }: BuildContext) => {
  const start = created;
  const price = ref('prices', index);
  const phase = (from: number, months: number) => ({
    add_invoice_items: [],
    application_fee_percent: null,
    billing_cycle_anchor: null,
    billing_thresholds: null,
    collection_method: null,
    currency: 'usd',
    default_payment_method: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    end_date: from + months * MONTH,
    invoice_settings: null,
    items: [{ billing_thresholds: null, discounts: [], metadata: {}, plan: price, price, quantity: 1 + (index % 2), tax_rates: [] }],
    metadata: {},
    on_behalf_of: null,
    proration_behavior: 'create_prorations',
    start_date: from,
    transfer_data: null,
    trial_end: null,
  });
  return {
    id,
    object: 'subscription_schedule',
    created,
    livemode,
    application: null,
    billing_mode: { flexible: null, type: 'classic' },
    canceled_at: null,
    completed_at: null,
    current_phase: { start_date: start, end_date: start + 3 * MONTH },
    customer: ref('customers', index),
    customer_account: null,
    default_settings: {
      application_fee_percent: null,
      automatic_tax: { disabled_reason: null, enabled: false, liability: null },
      billing_cycle_anchor: 'automatic',
      billing_thresholds: null,
      collection_method: 'charge_automatically',
      default_payment_method: null,
      description: null,
      invoice_settings: {
        account_tax_ids: null,
        custom_fields: null,
        days_until_due: null,
        description: null,
        footer: null,
        issuer: { type: 'self' },
      },
      on_behalf_of: null,
      transfer_data: null,
    },
    end_behavior: 'release',
    metadata: {},
    pause_schedules: [],
    phases: [phase(start, 3), phase(start + 3 * MONTH, 12)],
    released_at: null,
    released_subscription: null,
    status: 'not_started',
    subscription: null,
    test_clock: null,
  } satisfies Wire<Stripe.SubscriptionSchedule>;
};

/**
 * Every collection the fake serves: its URL, id format and generator. Ids look like Stripe's
 * (`prod_` + 14 characters, `in_` + 24, `cs_test_` + 58, coupons without a prefix...).
 */
import { balanceTransaction, charge, dispute, paymentIntent, paymentMethod, refund } from './payments.js';
import { coupon, customer, price, product, promotionCode, taxId } from './catalog.js';
import { checkoutSession, setupIntent } from './checkout.js';
import { subscription, subscriptionSchedule } from './billing.js';
import { creditNote, invoice } from './invoices.js';
import type { Builder, CollectionName } from './context.js';

export interface CollectionSpec {
  /** The `object` field, also the noun of `No such <noun>: '<id>'`. */
  object: string;
  /** Under /v1/. */
  path: string;
  /** Before the `_` of an id; '' for coupons, whose ids are codes. */
  prefix: string;
  /** Characters after the prefix (and after `test_`/`live_` for `modePrefix` ids). */
  idLength: number;
  /** Checkout session ids say their mode: `cs_test_…`. */
  modePrefix?: boolean;
  build: Builder<object>;
}

export const COLLECTIONS: Record<CollectionName, CollectionSpec> = {
  products: { object: 'product', path: 'products', prefix: 'prod', idLength: 14, build: product },
  prices: { object: 'price', path: 'prices', prefix: 'price', idLength: 24, build: price },
  customers: { object: 'customer', path: 'customers', prefix: 'cus', idLength: 14, build: customer },
  subscriptions: { object: 'subscription', path: 'subscriptions', prefix: 'sub', idLength: 24, build: subscription },
  invoices: { object: 'invoice', path: 'invoices', prefix: 'in', idLength: 24, build: invoice },
  payment_intents: { object: 'payment_intent', path: 'payment_intents', prefix: 'pi', idLength: 24, build: paymentIntent },
  charges: { object: 'charge', path: 'charges', prefix: 'ch', idLength: 24, build: charge },
  refunds: { object: 'refund', path: 'refunds', prefix: 're', idLength: 24, build: refund },
  checkout_sessions: {
    object: 'checkout.session',
    path: 'checkout/sessions',
    prefix: 'cs',
    idLength: 58,
    modePrefix: true,
    build: checkoutSession,
  },
  setup_intents: { object: 'setup_intent', path: 'setup_intents', prefix: 'seti', idLength: 24, build: setupIntent },
  payment_methods: { object: 'payment_method', path: 'payment_methods', prefix: 'pm', idLength: 24, build: paymentMethod },
  disputes: { object: 'dispute', path: 'disputes', prefix: 'dp', idLength: 24, build: dispute },
  credit_notes: { object: 'credit_note', path: 'credit_notes', prefix: 'cn', idLength: 24, build: creditNote },
  coupons: { object: 'coupon', path: 'coupons', prefix: '', idLength: 8, build: coupon },
  promotion_codes: { object: 'promotion_code', path: 'promotion_codes', prefix: 'promo', idLength: 24, build: promotionCode },
  tax_ids: { object: 'tax_id', path: 'tax_ids', prefix: 'txi', idLength: 24, build: taxId },
  subscription_schedules: {
    object: 'subscription_schedule',
    path: 'subscription_schedules',
    prefix: 'sub_sched',
    idLength: 24,
    build: subscriptionSchedule,
  },
  balance_transactions: {
    object: 'balance_transaction',
    path: 'balance_transactions',
    prefix: 'txn',
    idLength: 24,
    build: balanceTransaction,
  },
};

export const COLLECTION_NAMES = Object.keys(COLLECTIONS) as CollectionName[];

export const isCollectionName = (name: string): name is CollectionName => Object.hasOwn(COLLECTIONS, name);

/**
 * Fields these objects no longer have at the pinned API version; setting one (from a seed factory
 * or an update) is a test bug, reported with where the data went.
 */
export const REMOVED_FIELDS: Record<string, Record<string, string>> = {
  invoices: {
    subscription: 'parent.subscription_details.subscription',
    subscription_details: 'parent.subscription_details',
    paid: "status === 'paid'",
    charge: 'payments (InvoicePayment objects)',
    payment_intent: 'payments (InvoicePayment objects)',
    tax: 'total_taxes',
    total_tax_amounts: 'total_taxes',
    subscription_proration_date: 'parent.subscription_details.subscription_proration_date',
  },
  subscriptions: {
    current_period_start: 'items.data[].current_period_start',
    current_period_end: 'items.data[].current_period_end',
  },
  invoice_line_items: { type: 'parent.type', proration: 'parent.subscription_item_details.proration', price: 'pricing.price_details' },
};

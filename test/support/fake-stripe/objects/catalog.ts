/**
 * Generators for products, prices, customers, coupons, promotion codes and tax ids, typed against
 * the `stripe` package's own types at the pinned API version (a missing or renamed field fails
 * `npm run typecheck` and test/support/fake-stripe-shapes.test.ts).
 */
import type Stripe from 'stripe';
import { address, amountOf, tailOf, type BuildContext, type Wire } from './context.js';

export const product = ({ index, id, created, livemode }: BuildContext) =>
  ({
    id,
    object: 'product',
    created,
    livemode,
    updated: created,
    active: true,
    name: `Product ${index + 1}`,
    description: null,
    default_price: null,
    type: 'service',
    images: [],
    marketing_features: [],
    metadata: {},
    package_dimensions: null,
    shippable: null,
    statement_descriptor: null,
    tax_code: null,
    tax_details: null,
    unit_label: null,
    url: null,
  }) satisfies Wire<Stripe.Product>;

export const price = ({ index, id, created, livemode, ref }: BuildContext) =>
  ({
    id,
    object: 'price',
    created,
    livemode,
    active: true,
    billing_scheme: 'per_unit',
    currency: 'usd',
    custom_unit_amount: null,
    lookup_key: null,
    metadata: {},
    nickname: null,
    product: ref('products', index),
    recurring: { interval: 'month', interval_count: 1, meter: null, trial_period_days: null, usage_type: 'licensed' },
    tax_behavior: 'unspecified',
    tiers_mode: null,
    transform_quantity: null,
    type: 'recurring',
    unit_amount: amountOf(index),
    unit_amount_decimal: String(amountOf(index)),
  }) satisfies Wire<Stripe.Price>;

export const customer = ({ index, id, created, livemode }: BuildContext) =>
  ({
    id,
    object: 'customer',
    created,
    livemode,
    address: address(index),
    balance: 0,
    currency: 'usd',
    default_source: null,
    delinquent: false,
    description: null,
    discount: null,
    email: `customer${index + 1}@example.com`,
    invoice_prefix: tailOf(id, 8).toUpperCase(),
    invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
    metadata: {},
    name: `Customer ${index + 1}`,
    next_invoice_sequence: 1,
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  }) satisfies Wire<Stripe.Customer>;

/** Coupons have no id prefix at Stripe: an 8-character code, or whatever id the merchant chose. */
export const coupon = ({ index, id, created, livemode }: BuildContext) =>
  ({
    id,
    object: 'coupon',
    created,
    livemode,
    amount_off: index % 2 === 0 ? null : 500,
    currency: index % 2 === 0 ? null : 'usd',
    percent_off: index % 2 === 0 ? 10 + (index % 4) * 5 : null,
    duration: index % 3 === 0 ? 'forever' : index % 3 === 1 ? 'once' : 'repeating',
    duration_in_months: index % 3 === 2 ? 3 : null,
    max_redemptions: null,
    metadata: {},
    name: `Coupon ${index + 1}`,
    redeem_by: null,
    times_redeemed: index % 7,
    valid: true,
  }) satisfies Wire<Stripe.Coupon>;

export const promotionCode = ({ index, id, created, livemode, ref }: BuildContext) =>
  ({
    id,
    object: 'promotion_code',
    created,
    livemode,
    active: true,
    code: `SAVE${tailOf(id, 6).toUpperCase()}`,
    customer: null,
    customer_account: null,
    expires_at: null,
    max_redemptions: null,
    metadata: {},
    promotion: { coupon: ref('coupons', index), type: 'coupon' },
    restrictions: { first_time_transaction: false, minimum_amount: null, minimum_amount_currency: null },
    times_redeemed: 0,
  }) satisfies Wire<Stripe.PromotionCode>;

/** A customer's VAT number; `owner.type` says whose it is (`/v1/tax_ids` lists the account's own by default). */
export const taxId = ({ index, id, created, livemode, ref }: BuildContext) => {
  const customerId = ref('customers', index);
  return {
    id,
    object: 'tax_id',
    created,
    livemode,
    country: 'GB',
    customer: customerId,
    customer_account: null,
    owner: { customer: customerId, customer_account: null, type: 'customer' },
    type: 'gb_vat',
    value: `GB${String(100_000_000 + ((index * 7919) % 899_999_999)).padStart(9, '0')}`,
    verification: { status: 'verified', verified_address: null, verified_name: `Customer ${index + 1}` },
  } satisfies Wire<Stripe.TaxId>;
};

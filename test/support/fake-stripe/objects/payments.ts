/**
 * Generators for payment intents, charges, refunds, disputes, balance transactions and payment
 * methods, typed against the `stripe` package at the pinned API version.
 */
import type Stripe from 'stripe';
import { address, amountOf, tailOf, type BuildContext, type Wire } from './context.js';

const BRANDS = ['visa', 'mastercard', 'amex'] as const;
const brandOf = (index: number) => BRANDS[index % 3]!;
const last4Of = (index: number) =>
  String(4242 + ((index * 37) % 5000))
    .padStart(4, '0')
    .slice(-4);
const billingDetails = (index: number) => ({
  address: address(index),
  email: `customer${index + 1}@example.com`,
  name: `Customer ${index + 1}`,
  phone: null,
  tax_id: null,
});

export const paymentIntent = ({ index, id, created, livemode, ref }: BuildContext) =>
  ({
    id,
    object: 'payment_intent',
    created,
    livemode,
    allowed_payment_method_types: null,
    amount: amountOf(index),
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: amountOf(index),
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: { allow_redirects: 'always', enabled: true },
    canceled_at: null,
    cancellation_reason: null,
    capture_method: 'automatic_async',
    client_secret: `${id}_secret_${tailOf(id, 25)}`,
    confirmation_method: 'automatic',
    currency: 'usd',
    customer: ref('customers', index),
    customer_account: null,
    description: null,
    excluded_payment_method_types: null,
    last_payment_error: null,
    latest_charge: ref('charges', index),
    managed_payments: null,
    metadata: {},
    next_action: null,
    on_behalf_of: null,
    payment_method: ref('payment_methods', index),
    payment_method_configuration_details: null,
    payment_method_options: null,
    payment_method_types: ['card'],
    payment_record: null,
    processing: null,
    receipt_email: null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: 'succeeded',
    transfer_data: null,
    transfer_group: null,
  }) satisfies Wire<Stripe.PaymentIntent>;

/**
 * `refunds` is filled in when the charge is sent: it lists the refunds whose `charge` is this one
 * (and `amount_refunded`/`refunded` follow them).
 */
export const charge = ({ index, id, created, livemode, ref }: BuildContext) =>
  ({
    id,
    object: 'charge',
    created,
    livemode,
    amount: amountOf(index),
    amount_captured: amountOf(index),
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: ref('balance_transactions', index),
    billing_details: billingDetails(index),
    calculated_statement_descriptor: 'FAKE STRIPE',
    captured: true,
    currency: 'usd',
    customer: ref('customers', index),
    description: null,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: null,
    failure_message: null,
    fraud_details: {},
    metadata: {},
    on_behalf_of: null,
    outcome: {
      advice_code: null,
      network_advice_code: null,
      network_decline_code: null,
      network_status: 'approved_by_network',
      reason: null,
      risk_level: 'normal',
      risk_score: (index * 13) % 64,
      seller_message: 'Payment complete.',
      type: 'authorized',
    },
    paid: true,
    payment_intent: ref('payment_intents', index),
    payment_method: ref('payment_methods', index),
    payment_method_details: {
      card: {
        amount_authorized: amountOf(index),
        authorization_code: String(100_000 + index).slice(-6),
        brand: brandOf(index),
        checks: { address_line1_check: null, address_postal_code_check: 'pass', cvc_check: 'pass' },
        country: 'US',
        electronic_commerce_indicator: null,
        exp_month: (index % 12) + 1,
        exp_year: 2030 + (index % 5),
        funding: 'credit',
        installments: null,
        last4: last4Of(index),
        mandate: null,
        network: brandOf(index),
        network_transaction_id: String(10 ** 14 + index),
        regulated_status: 'unregulated',
        three_d_secure: null,
        transaction_link_id: null,
        wallet: null,
      },
      type: 'card',
    },
    radar_options: {},
    receipt_email: null,
    receipt_number: null,
    receipt_url: `https://pay.stripe.com/receipts/payment/${tailOf(id, 60)}`,
    refunded: false,
    refunds: { object: 'list', data: [], has_more: false, url: `/v1/charges/${id}/refunds` },
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: 'succeeded',
    transfer_data: null,
    transfer_group: null,
  }) satisfies Wire<Stripe.Charge>;

/** Refunds carry no `livemode`. */
export const refund = ({ index, id, created, ref }: BuildContext) =>
  ({
    id,
    object: 'refund',
    created,
    amount: amountOf(index),
    balance_transaction: null,
    charge: ref('charges', index),
    currency: 'usd',
    customer: null,
    customer_account: null,
    destination_details: {
      card: { reference_status: 'available', reference_type: 'acquirer_reference_number', type: 'refund' },
      type: 'card',
    },
    metadata: {},
    payment_intent: ref('payment_intents', index),
    payment_method: ref('payment_methods', index),
    reason: 'requested_by_customer',
    receipt_number: null,
    source_transfer_reversal: null,
    status: 'succeeded',
    transfer_reversal: null,
  }) satisfies Wire<Stripe.Refund>;

export const dispute = ({ index, id, created, livemode, ref }: BuildContext) =>
  ({
    id,
    object: 'dispute',
    created,
    livemode,
    amount: amountOf(index),
    balance_transactions: [],
    charge: ref('charges', index),
    currency: 'usd',
    enhanced_eligibility_types: [],
    evidence: {
      access_activity_log: null,
      billing_address: null,
      cancellation_policy: null,
      cancellation_policy_disclosure: null,
      cancellation_rebuttal: null,
      customer_communication: null,
      customer_email_address: null,
      customer_name: null,
      customer_purchase_ip: null,
      customer_signature: null,
      duplicate_charge_documentation: null,
      duplicate_charge_explanation: null,
      duplicate_charge_id: null,
      enhanced_evidence: {},
      product_description: null,
      receipt: null,
      refund_policy: null,
      refund_policy_disclosure: null,
      refund_refusal_explanation: null,
      service_date: null,
      service_documentation: null,
      shipping_address: null,
      shipping_carrier: null,
      shipping_date: null,
      shipping_documentation: null,
      shipping_tracking_number: null,
      uncategorized_file: null,
      uncategorized_text: null,
    },
    evidence_details: {
      due_by: created + 21 * 86_400,
      enhanced_eligibility: {},
      has_evidence: false,
      past_due: false,
      submission_count: 0,
      submission_method: 'not_submitted',
    },
    intended_submission_method: null,
    is_charge_refundable: false,
    metadata: {},
    payment_intent: ref('payment_intents', index),
    payment_method_details: {
      card: { brand: brandOf(index), case_type: 'chargeback', network: brandOf(index), network_reason_code: '10.4' },
      type: 'card',
    },
    reason: 'fraudulent',
    status: 'needs_response',
  }) satisfies Wire<Stripe.Dispute>;

/** Stripe's fee for a card charge: 2.9% + 30 cents. */
const feeOf = (amount: number) => Math.round(amount * 0.029) + 30;

/** Balance transactions carry no `livemode`. */
export const balanceTransaction = ({ index, id, created, ref }: BuildContext) => {
  const amount = amountOf(index);
  const fee = feeOf(amount);
  return {
    id,
    object: 'balance_transaction',
    created,
    amount,
    available_on: created + 2 * 86_400,
    balance_type: 'payments',
    currency: 'usd',
    description: null,
    exchange_rate: null,
    fee,
    fee_details: [{ amount: fee, application: null, currency: 'usd', description: 'Stripe processing fees', type: 'stripe_fee' }],
    net: amount - fee,
    reporting_category: 'charge',
    source: ref('charges', index),
    status: 'available',
    type: 'charge',
  } satisfies Wire<Stripe.BalanceTransaction>;
};

export const paymentMethod = ({ index, id, created, livemode, ref }: BuildContext) =>
  ({
    id,
    object: 'payment_method',
    created,
    livemode,
    allow_redisplay: 'unspecified',
    billing_details: billingDetails(index),
    card: {
      brand: brandOf(index),
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
      country: 'US',
      display_brand: brandOf(index),
      exp_month: (index % 12) + 1,
      exp_year: 2030 + (index % 5),
      fingerprint: tailOf(id, 16),
      funding: 'credit',
      generated_from: null,
      last4: last4Of(index),
      networks: { available: [brandOf(index)], preferred: null },
      regulated_status: 'unregulated',
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    customer: ref('customers', index),
    customer_account: null,
    metadata: {},
    type: 'card',
  }) satisfies Wire<Stripe.PaymentMethod>;

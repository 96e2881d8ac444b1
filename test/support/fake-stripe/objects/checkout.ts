/**
 * Generators for Checkout sessions and setup intents, typed against the `stripe` package at the
 * pinned API version.
 */
import type Stripe from 'stripe';
import { address, amountOf, DAY, tailOf, type BuildContext, type Wire } from './context.js';

/**
 * A completed subscription-mode session (every third one is a one-off payment instead). Session ids
 * carry the mode: `cs_test_…` / `cs_live_…`.
 */
export const checkoutSession = ({ index, id, created, livemode, ref }: BuildContext) => {
  const subscriptionMode = index % 3 !== 2;
  const amount = amountOf(index);
  return {
    id, object: 'checkout.session', created, livemode,
    adaptive_pricing: { enabled: false }, after_expiration: null, allow_promotion_codes: null, allowed_payment_method_types: null,
    amount_subtotal: amount, amount_total: amount,
    automatic_tax: { enabled: false, liability: null, provider: null, status: null }, billing_address_collection: null,
    cancel_url: 'https://shop.example.com/cancel', client_reference_id: null, client_secret: null, collected_information: null,
    consent: null, consent_collection: null, currency: 'usd', currency_conversion: null, custom_fields: [],
    custom_text: { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null },
    customer: ref('customers', index), customer_account: null, customer_creation: null,
    customer_details: {
      address: address(index), business_name: null, email: `customer${index + 1}@example.com`, individual_name: null,
      name: `Customer ${index + 1}`, phone: null, tax_exempt: 'none', tax_ids: [],
    },
    customer_email: null, discounts: [], expires_at: created + DAY, integration_identifier: null, invoice: null, invoice_creation: null,
    locale: null, managed_payments: null, metadata: {},
    mode: subscriptionMode ? 'subscription' : 'payment', origin_context: null,
    payment_intent: subscriptionMode ? null : ref('payment_intents', index), payment_link: null,
    payment_method_collection: subscriptionMode ? 'always' : null, payment_method_configuration_details: null,
    payment_method_options: {}, payment_method_types: ['card'], payment_status: 'paid', permissions: null,
    phone_number_collection: { enabled: false }, recovered_from: null, saved_payment_method_options: null,
    setup_intent: null, shipping_address_collection: null, shipping_cost: null, shipping_options: [], status: 'complete',
    submit_type: null, subscription: subscriptionMode ? ref('subscriptions', index) : null,
    success_url: 'https://shop.example.com/success?session_id={CHECKOUT_SESSION_ID}',
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 }, ui_mode: 'hosted_page',
    url: null, wallet_options: null,
  } satisfies Wire<Stripe.Checkout.Session>;
};

export const setupIntent = ({ index, id, created, livemode, ref }: BuildContext) => ({
  id, object: 'setup_intent', created, livemode,
  allowed_payment_method_types: null, application: null, automatic_payment_methods: { allow_redirects: 'always', enabled: true },
  cancellation_reason: null, client_secret: `${id}_secret_${tailOf(id, 25)}`, customer: ref('customers', index), customer_account: null,
  description: null, excluded_payment_method_types: null, flow_directions: null, last_setup_error: null,
  latest_attempt: `setatt_${tailOf(id, 24)}`, mandate: null, metadata: {}, next_action: null, on_behalf_of: null,
  payment_method: ref('payment_methods', index), payment_method_configuration_details: null,
  payment_method_options: { card: { mandate_options: null, network: null, request_three_d_secure: 'automatic' } },
  payment_method_types: ['card'], single_use_mandate: null, status: 'succeeded', usage: 'off_session',
}) satisfies Wire<Stripe.SetupIntent>;

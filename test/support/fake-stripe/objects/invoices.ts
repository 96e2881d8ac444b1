/**
 * Generators for invoices, their line items and credit notes, typed against the `stripe` package at
 * the pinned API version. Since 2025-03-31 an invoice names its subscription under
 * `parent.subscription_details.subscription`; there is no top-level `invoice.subscription`.
 */
import type Stripe from 'stripe';
import type { WireSubscriptionItem } from './billing.js';
import { noAutomaticTax, tailOf, type BuildContext, type Wire } from './context.js';

export type WireInvoiceLineItem = Wire<Stripe.InvoiceLineItem>;
type WireSubscription = Wire<Stripe.Subscription>;

/** `parent` of an invoice billed for a subscription. */
export const subscriptionParent = (subscriptionId: string) =>
  ({
    quote_details: null,
    subscription_details: { metadata: {}, subscription: subscriptionId },
    type: 'subscription_details',
  }) satisfies Wire<Stripe.Invoice.Parent>;

/** The subscription an invoice was billed for, whatever the shape: `parent` now, top-level `subscription` before 2025. */
export function subscriptionOf(invoice: { [field: string]: unknown }): string | null {
  const details = (invoice.parent as { subscription_details?: { subscription?: string | { id: string } } } | null)?.subscription_details;
  const value = details?.subscription ?? invoice.subscription;
  return typeof value === 'string' ? value : ((value as { id?: string } | null | undefined)?.id ?? null);
}

/** Line ids share the invoice's tail, so they are unique without being stored. */
export const lineId = (invoiceId: string, k: number) => `il_${invoiceId.slice(3, 23)}${String(k).padStart(4, '0')}`;

/** The line an invoice carries for one subscription item. */
export function subscriptionLine(invoiceId: string, k: number, item: WireSubscriptionItem, livemode: boolean): WireInvoiceLineItem {
  const quantity = item.quantity ?? 1;
  const unit = item.price.unit_amount ?? 0;
  const product = typeof item.price.product === 'string' ? item.price.product : item.price.product.id;
  return {
    id: lineId(invoiceId, k),
    object: 'line_item',
    livemode,
    amount: unit * quantity,
    currency: item.price.currency,
    description: `${quantity} × ${product} (at $${(unit / 100).toFixed(2)} / month)`,
    discount_amounts: [],
    discountable: true,
    discounts: [],
    invoice: invoiceId,
    metadata: {},
    parent: {
      invoice_item_details: null,
      type: 'subscription_item_details',
      subscription_item_details: {
        invoice_item: null,
        proration: false,
        proration_details: { credited_items: null },
        subscription: item.subscription,
        subscription_item: item.id,
      },
    },
    period: { start: item.current_period_start, end: item.current_period_end },
    pretax_credit_amounts: [],
    pricing: { price_details: { price: item.price.id, product }, type: 'price_details', unit_amount_decimal: String(unit) },
    quantity,
    quantity_decimal: String(quantity),
    subscription: item.subscription,
    subtotal: unit * quantity,
    taxes: [],
  } satisfies WireInvoiceLineItem;
}

/** Totals of an invoice from its lines (no tax, no discounts). */
export function invoiceTotals(lines: Array<{ amount: number }>, paid: boolean) {
  const total = lines.reduce((sum, line) => sum + line.amount, 0);
  return {
    subtotal: total,
    subtotal_excluding_tax: total,
    total,
    total_excluding_tax: total,
    amount_due: total,
    amount_paid: paid ? total : 0,
    amount_remaining: paid ? 0 : total,
  };
}

export const invoice = (ctx: BuildContext) => {
  const { index, id, created, livemode, ref } = ctx;
  const subscription = ctx.object<WireSubscription>('subscriptions', index);
  const lines = subscription.items.data.map((item, k) => subscriptionLine(id, k, item, livemode));
  const periodStart = lines[0]?.period.start ?? created;
  const periodEnd = lines[0]?.period.end ?? created;
  return {
    id,
    object: 'invoice',
    created,
    livemode,
    account_country: 'US',
    account_name: 'Fake Stripe Account',
    account_tax_ids: null,
    amount_overpaid: 0,
    amount_shipping: 0,
    application: null,
    attempt_count: 1,
    attempted: true,
    auto_advance: false,
    automatic_tax: noAutomaticTax(),
    automatically_finalizes_at: null,
    billing_reason: 'subscription_cycle',
    collection_method: 'charge_automatically',
    currency: 'usd',
    custom_fields: null,
    customer: ref('customers', index),
    customer_account: null,
    customer_address: null,
    customer_email: `customer${index + 1}@example.com`,
    customer_name: `Customer ${index + 1}`,
    customer_phone: null,
    customer_shipping: null,
    customer_tax_exempt: 'none',
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    due_date: null,
    effective_at: created,
    ending_balance: 0,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: `https://invoice.stripe.com/i/acct_fake/${livemode ? 'live' : 'test'}_${tailOf(id, 40)}`,
    invoice_pdf: `https://pay.stripe.com/invoice/acct_fake/${livemode ? 'live' : 'test'}_${tailOf(id, 40)}/pdf`,
    issuer: { type: 'self' },
    last_finalization_error: null,
    latest_revision: null,
    lines: { object: 'list', data: lines, has_more: false, url: `/v1/invoices/${id}/lines` },
    metadata: {},
    next_payment_attempt: null,
    number: `${tailOf(id, 8).toUpperCase()}-${String(index + 1).padStart(4, '0')}`,
    on_behalf_of: null,
    parent: subscriptionParent(subscription.id),
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: periodEnd,
    period_start: periodStart,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: 'paid',
    status_transitions: { finalized_at: created, marked_uncollectible_at: null, paid_at: created, voided_at: null },
    test_clock: null,
    total_discount_amounts: [],
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: created,
    ...invoiceTotals(lines, true),
  } satisfies Wire<Stripe.Invoice>;
};

export const creditNote = (ctx: BuildContext) => {
  const { index, id, created, livemode, ref } = ctx;
  const billed = ctx.object<Wire<Stripe.Invoice>>('invoices', index);
  const line = billed.lines.data[0];
  const amount = Math.min(line?.amount ?? 500, 500);
  const lineItem = {
    id: `cnli_${id.slice(3, 27)}`,
    object: 'credit_note_line_item',
    livemode,
    amount,
    description: line?.description ?? 'Credit',
    discount_amount: 0,
    discount_amounts: [],
    ...(line ? { invoice_line_item: line.id } : {}),
    metadata: {},
    pretax_credit_amounts: [],
    quantity: 1,
    tax_rates: [],
    taxes: [],
    type: line ? 'invoice_line_item' : 'custom_line_item',
    unit_amount: line ? null : amount,
    unit_amount_decimal: line ? null : String(amount),
  } satisfies Wire<Stripe.CreditNoteLineItem>;
  return {
    id,
    object: 'credit_note',
    created,
    livemode,
    amount,
    amount_shipping: 0,
    currency: 'usd',
    customer: ref('customers', index),
    customer_account: null,
    customer_balance_transaction: null,
    discount_amount: 0,
    discount_amounts: [],
    effective_at: created,
    invoice: billed.id,
    lines: { object: 'list', data: [lineItem], has_more: false, url: `/v1/credit_notes/${id}/lines` },
    memo: null,
    metadata: {},
    number: `${billed.number ?? 'CN'}-CN-${String((index % 99) + 1).padStart(2, '0')}`,
    out_of_band_amount: null,
    pdf: `https://pay.stripe.com/credit_notes/acct_fake/${livemode ? 'live' : 'test'}_${tailOf(id, 40)}/pdf`,
    post_payment_amount: amount,
    pre_payment_amount: 0,
    pretax_credit_amounts: [],
    reason: 'product_unsatisfactory',
    refunds: [],
    shipping_cost: null,
    status: 'issued',
    subtotal: amount,
    subtotal_excluding_tax: amount,
    total: amount,
    total_excluding_tax: amount,
    total_taxes: [],
    type: 'post_payment',
    voided_at: null,
  } satisfies Wire<Stripe.CreditNote>;
};

-- The mirrored object is stored as Stripe sent it (json: text, validated), not parsed into jsonb:
-- building jsonb was a fifth of the database's work in a sync page's upsert (sorting every
-- object's keys, converting every number), and only the typed columns are ever queried. Those
-- are extracted from a small jsonb of the fields they read, sent beside the page.
-- AlterTable
ALTER TABLE "stripe_balance_transactions" ALTER COLUMN "data" SET DATA TYPE JSON;

-- AlterTable
ALTER TABLE "stripe_charges" ALTER COLUMN "data" SET DATA TYPE JSON;

-- AlterTable
ALTER TABLE "stripe_checkout_sessions" ALTER COLUMN "data" SET DATA TYPE JSON;

-- AlterTable
ALTER TABLE "stripe_coupons" ALTER COLUMN "data" SET DATA TYPE JSON;

-- AlterTable
ALTER TABLE "stripe_credit_notes" ALTER COLUMN "data" SET DATA TYPE JSON;

-- AlterTable
ALTER TABLE "stripe_customers" ALTER COLUMN "data" SET DATA TYPE JSON;

-- AlterTable
ALTER TABLE "stripe_disputes" ALTER COLUMN "data" SET DATA TYPE JSON;

-- AlterTable
ALTER TABLE "stripe_invoices" ALTER COLUMN "data" SET DATA TYPE JSON;

-- AlterTable
ALTER TABLE "stripe_payment_intents" ALTER COLUMN "data" SET DATA TYPE JSON;

-- AlterTable
ALTER TABLE "stripe_payment_methods" ALTER COLUMN "data" SET DATA TYPE JSON;

-- AlterTable
ALTER TABLE "stripe_prices" ALTER COLUMN "data" SET DATA TYPE JSON;

-- AlterTable
ALTER TABLE "stripe_products" ALTER COLUMN "data" SET DATA TYPE JSON;

-- AlterTable
ALTER TABLE "stripe_promotion_codes" ALTER COLUMN "data" SET DATA TYPE JSON;

-- AlterTable
ALTER TABLE "stripe_refunds" ALTER COLUMN "data" SET DATA TYPE JSON;

-- AlterTable
ALTER TABLE "stripe_setup_intents" ALTER COLUMN "data" SET DATA TYPE JSON;

-- AlterTable
ALTER TABLE "stripe_subscription_items" ALTER COLUMN "data" SET DATA TYPE JSON;

-- AlterTable
ALTER TABLE "stripe_subscription_schedules" ALTER COLUMN "data" SET DATA TYPE JSON;

-- AlterTable
ALTER TABLE "stripe_subscriptions" ALTER COLUMN "data" SET DATA TYPE JSON;

-- AlterTable
ALTER TABLE "stripe_tax_ids" ALTER COLUMN "data" SET DATA TYPE JSON;

-- lz4 where the server has it, as 20261203110000_mirror_lz4 set it for the jsonb columns (idempotent).
DO $$
BEGIN
  IF 'lz4' = ANY ((SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression')::text[]) THEN
    EXECUTE (
      SELECT string_agg(format('ALTER TABLE %I ALTER COLUMN data SET COMPRESSION lz4', table_name), '; ')
      FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name LIKE 'stripe\_%' AND column_name = 'data' AND data_type = 'json'
    );
  END IF;
END
$$;

-- AlterTable
ALTER TABLE "stripe_charges" ADD COLUMN     "api_version" TEXT;

-- AlterTable
ALTER TABLE "stripe_customers" ADD COLUMN     "api_version" TEXT;

-- AlterTable
ALTER TABLE "stripe_invoices" ADD COLUMN     "api_version" TEXT;

-- AlterTable
ALTER TABLE "stripe_payment_intents" ADD COLUMN     "api_version" TEXT;

-- AlterTable
ALTER TABLE "stripe_prices" ADD COLUMN     "api_version" TEXT;

-- AlterTable
ALTER TABLE "stripe_products" ADD COLUMN     "api_version" TEXT;

-- AlterTable
ALTER TABLE "stripe_refunds" ADD COLUMN     "api_version" TEXT;

-- AlterTable
ALTER TABLE "stripe_subscription_items" ADD COLUMN     "api_version" TEXT;

-- AlterTable
ALTER TABLE "stripe_subscriptions" ADD COLUMN     "api_version" TEXT;

-- Every row written so far was written under the version Coffer has pinned since its first
-- release: recorded, so upgrading does not re-sync everything.
UPDATE "stripe_charges" SET "api_version" = '2026-10-28.endive';
UPDATE "stripe_customers" SET "api_version" = '2026-10-28.endive';
UPDATE "stripe_invoices" SET "api_version" = '2026-10-28.endive';
UPDATE "stripe_payment_intents" SET "api_version" = '2026-10-28.endive';
UPDATE "stripe_prices" SET "api_version" = '2026-10-28.endive';
UPDATE "stripe_products" SET "api_version" = '2026-10-28.endive';
UPDATE "stripe_refunds" SET "api_version" = '2026-10-28.endive';
UPDATE "stripe_subscription_items" SET "api_version" = '2026-10-28.endive';
UPDATE "stripe_subscriptions" SET "api_version" = '2026-10-28.endive';

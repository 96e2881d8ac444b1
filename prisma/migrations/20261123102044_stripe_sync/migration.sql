-- CreateEnum
CREATE TYPE "StripeSyncStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED');

-- CreateEnum
CREATE TYPE "StripeSyncTrigger" AS ENUM ('CONFIGURE', 'API', 'CLI');

-- CreateEnum
CREATE TYPE "StripeSyncObjectStatus" AS ENUM ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED');

-- CreateTable
CREATE TABLE "stripe_products" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "active" BOOLEAN NOT NULL,
    "name" TEXT,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "data" JSONB NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_products_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateTable
CREATE TABLE "stripe_prices" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "active" BOOLEAN NOT NULL,
    "product_id" TEXT,
    "currency" TEXT,
    "unit_amount" BIGINT,
    "type" TEXT,
    "recurring_interval" TEXT,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "data" JSONB NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_prices_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateTable
CREATE TABLE "stripe_customers" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "email" TEXT,
    "name" TEXT,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "data" JSONB NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_customers_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateTable
CREATE TABLE "stripe_subscriptions" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "customer_id" TEXT,
    "status" TEXT,
    "current_period_end" TIMESTAMPTZ(3),
    "cancel_at_period_end" BOOLEAN NOT NULL DEFAULT false,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "data" JSONB NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_subscriptions_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateTable
CREATE TABLE "stripe_subscription_items" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "subscription_id" TEXT NOT NULL,
    "price_id" TEXT,
    "product_id" TEXT,
    "quantity" INTEGER,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "data" JSONB NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_subscription_items_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateTable
CREATE TABLE "stripe_invoices" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "customer_id" TEXT,
    "subscription_id" TEXT,
    "status" TEXT,
    "currency" TEXT,
    "amount_due" BIGINT,
    "amount_paid" BIGINT,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "data" JSONB NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_invoices_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateTable
CREATE TABLE "stripe_payment_intents" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "customer_id" TEXT,
    "status" TEXT,
    "currency" TEXT,
    "amount" BIGINT,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "data" JSONB NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_payment_intents_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateTable
CREATE TABLE "stripe_charges" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "customer_id" TEXT,
    "payment_intent_id" TEXT,
    "status" TEXT,
    "currency" TEXT,
    "amount" BIGINT,
    "amount_refunded" BIGINT,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "data" JSONB NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_charges_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateTable
CREATE TABLE "stripe_refunds" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "charge_id" TEXT,
    "payment_intent_id" TEXT,
    "status" TEXT,
    "currency" TEXT,
    "amount" BIGINT,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "data" JSONB NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_refunds_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateTable
CREATE TABLE "stripe_sync_runs" (
    "id" UUID NOT NULL,
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "account_id" TEXT,
    "status" "StripeSyncStatus" NOT NULL DEFAULT 'QUEUED',
    "trigger" "StripeSyncTrigger" NOT NULL,
    "objects" TEXT[],
    "active_slot" TEXT DEFAULT 'active',
    "requested_by_id" UUID,
    "lease_owner" TEXT,
    "lease_expires_at" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "cancel_requested_at" TIMESTAMPTZ(3),
    "error" TEXT,
    "summary" JSONB,
    "last_sequence" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "stripe_sync_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stripe_sync_object_states" (
    "run_id" UUID NOT NULL,
    "object_type" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "status" "StripeSyncObjectStatus" NOT NULL DEFAULT 'PENDING',
    "cursor" TEXT,
    "pages" INTEGER NOT NULL DEFAULT 0,
    "objects" INTEGER NOT NULL DEFAULT 0,
    "total" INTEGER,
    "retries" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "stripe_sync_object_states_pkey" PRIMARY KEY ("run_id","object_type")
);

-- CreateTable
CREATE TABLE "stripe_sync_events" (
    "run_id" UUID NOT NULL,
    "sequence" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "object_type" TEXT,
    "payload" JSONB NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_sync_events_pkey" PRIMARY KEY ("run_id","sequence")
);

-- CreateIndex
CREATE INDEX "stripe_products_project_id_environment_created_stripe_id_idx" ON "stripe_products"("project_id", "environment", "created", "stripe_id");

-- CreateIndex
CREATE INDEX "stripe_products_project_id_environment_active_created_idx" ON "stripe_products"("project_id", "environment", "active", "created");

-- CreateIndex
CREATE INDEX "stripe_prices_project_id_environment_created_stripe_id_idx" ON "stripe_prices"("project_id", "environment", "created", "stripe_id");

-- CreateIndex
CREATE INDEX "stripe_prices_project_id_environment_product_id_created_idx" ON "stripe_prices"("project_id", "environment", "product_id", "created");

-- CreateIndex
CREATE INDEX "stripe_customers_project_id_environment_created_stripe_id_idx" ON "stripe_customers"("project_id", "environment", "created", "stripe_id");

-- CreateIndex
CREATE INDEX "stripe_customers_project_id_environment_email_created_idx" ON "stripe_customers"("project_id", "environment", "email", "created");

-- CreateIndex
CREATE INDEX "stripe_subscriptions_project_id_environment_created_stripe__idx" ON "stripe_subscriptions"("project_id", "environment", "created", "stripe_id");

-- CreateIndex
CREATE INDEX "stripe_subscriptions_project_id_environment_customer_id_cre_idx" ON "stripe_subscriptions"("project_id", "environment", "customer_id", "created");

-- CreateIndex
CREATE INDEX "stripe_subscriptions_project_id_environment_status_created_idx" ON "stripe_subscriptions"("project_id", "environment", "status", "created");

-- CreateIndex
CREATE INDEX "stripe_subscription_items_project_id_environment_created_st_idx" ON "stripe_subscription_items"("project_id", "environment", "created", "stripe_id");

-- CreateIndex
CREATE INDEX "stripe_subscription_items_project_id_environment_subscripti_idx" ON "stripe_subscription_items"("project_id", "environment", "subscription_id", "created");

-- CreateIndex
CREATE INDEX "stripe_invoices_project_id_environment_created_stripe_id_idx" ON "stripe_invoices"("project_id", "environment", "created", "stripe_id");

-- CreateIndex
CREATE INDEX "stripe_invoices_project_id_environment_customer_id_created_idx" ON "stripe_invoices"("project_id", "environment", "customer_id", "created");

-- CreateIndex
CREATE INDEX "stripe_invoices_project_id_environment_status_created_idx" ON "stripe_invoices"("project_id", "environment", "status", "created");

-- CreateIndex
CREATE INDEX "stripe_payment_intents_project_id_environment_created_strip_idx" ON "stripe_payment_intents"("project_id", "environment", "created", "stripe_id");

-- CreateIndex
CREATE INDEX "stripe_payment_intents_project_id_environment_customer_id_c_idx" ON "stripe_payment_intents"("project_id", "environment", "customer_id", "created");

-- CreateIndex
CREATE INDEX "stripe_payment_intents_project_id_environment_status_create_idx" ON "stripe_payment_intents"("project_id", "environment", "status", "created");

-- CreateIndex
CREATE INDEX "stripe_charges_project_id_environment_created_stripe_id_idx" ON "stripe_charges"("project_id", "environment", "created", "stripe_id");

-- CreateIndex
CREATE INDEX "stripe_charges_project_id_environment_customer_id_created_idx" ON "stripe_charges"("project_id", "environment", "customer_id", "created");

-- CreateIndex
CREATE INDEX "stripe_refunds_project_id_environment_created_stripe_id_idx" ON "stripe_refunds"("project_id", "environment", "created", "stripe_id");

-- CreateIndex
CREATE INDEX "stripe_refunds_project_id_environment_charge_id_created_idx" ON "stripe_refunds"("project_id", "environment", "charge_id", "created");

-- CreateIndex
CREATE INDEX "stripe_sync_runs_project_id_environment_created_at_id_idx" ON "stripe_sync_runs"("project_id", "environment", "created_at", "id");

-- CreateIndex
CREATE INDEX "stripe_sync_runs_status_lease_expires_at_idx" ON "stripe_sync_runs"("status", "lease_expires_at");

-- CreateIndex
CREATE UNIQUE INDEX "stripe_sync_runs_project_id_environment_active_slot_key" ON "stripe_sync_runs"("project_id", "environment", "active_slot");

-- AddForeignKey
ALTER TABLE "stripe_sync_runs" ADD CONSTRAINT "stripe_sync_runs_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "stripe_sync_object_states" ADD CONSTRAINT "stripe_sync_object_states_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "stripe_sync_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "stripe_sync_events" ADD CONSTRAINT "stripe_sync_events_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "stripe_sync_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

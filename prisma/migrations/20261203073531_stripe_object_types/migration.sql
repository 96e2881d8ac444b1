-- AlterEnum
ALTER TYPE "StripeSyncObjectStatus" ADD VALUE 'SKIPPED';

-- AlterTable
ALTER TABLE "stripe_environments" ADD COLUMN     "key_permissions" JSONB;

-- CreateTable
CREATE TABLE "stripe_checkout_sessions" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "customer_id" TEXT,
    "status" TEXT,
    "mode" TEXT,
    "payment_status" TEXT,
    "currency" TEXT,
    "amount_total" BIGINT,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "data" JSONB NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "api_version" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_checkout_sessions_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateTable
CREATE TABLE "stripe_setup_intents" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "customer_id" TEXT,
    "status" TEXT,
    "payment_method_id" TEXT,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "data" JSONB NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "api_version" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_setup_intents_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateTable
CREATE TABLE "stripe_payment_methods" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "customer_id" TEXT,
    "type" TEXT,
    "card_brand" TEXT,
    "card_last4" TEXT,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "data" JSONB NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "api_version" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_payment_methods_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateTable
CREATE TABLE "stripe_disputes" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "charge_id" TEXT,
    "payment_intent_id" TEXT,
    "status" TEXT,
    "reason" TEXT,
    "currency" TEXT,
    "amount" BIGINT,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "data" JSONB NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "api_version" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_disputes_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateTable
CREATE TABLE "stripe_credit_notes" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "customer_id" TEXT,
    "invoice_id" TEXT,
    "status" TEXT,
    "currency" TEXT,
    "total" BIGINT,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "data" JSONB NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "api_version" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_credit_notes_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateTable
CREATE TABLE "stripe_coupons" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "name" TEXT,
    "valid" BOOLEAN NOT NULL DEFAULT false,
    "duration" TEXT,
    "currency" TEXT,
    "amount_off" BIGINT,
    "percent_off" DOUBLE PRECISION,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "data" JSONB NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "api_version" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_coupons_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateTable
CREATE TABLE "stripe_promotion_codes" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "code" TEXT,
    "active" BOOLEAN NOT NULL DEFAULT false,
    "coupon_id" TEXT,
    "customer_id" TEXT,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "data" JSONB NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "api_version" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_promotion_codes_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateTable
CREATE TABLE "stripe_tax_ids" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "customer_id" TEXT,
    "type" TEXT,
    "value" TEXT,
    "country" TEXT,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "data" JSONB NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "api_version" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_tax_ids_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateTable
CREATE TABLE "stripe_subscription_schedules" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "customer_id" TEXT,
    "subscription_id" TEXT,
    "status" TEXT,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "data" JSONB NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "api_version" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_subscription_schedules_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateTable
CREATE TABLE "stripe_balance_transactions" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "source_id" TEXT,
    "type" TEXT,
    "status" TEXT,
    "reporting_category" TEXT,
    "currency" TEXT,
    "amount" BIGINT,
    "fee" BIGINT,
    "net" BIGINT,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "data" JSONB NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,
    "api_version" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_balance_transactions_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateIndex
CREATE INDEX "stripe_checkout_sessions_project_id_environment_created_str_idx" ON "stripe_checkout_sessions"("project_id", "environment", "created", "stripe_id");

-- CreateIndex
CREATE INDEX "stripe_checkout_sessions_project_id_environment_customer_id_idx" ON "stripe_checkout_sessions"("project_id", "environment", "customer_id", "created");

-- CreateIndex
CREATE INDEX "stripe_checkout_sessions_project_id_environment_status_crea_idx" ON "stripe_checkout_sessions"("project_id", "environment", "status", "created");

-- CreateIndex
CREATE INDEX "stripe_setup_intents_project_id_environment_created_stripe__idx" ON "stripe_setup_intents"("project_id", "environment", "created", "stripe_id");

-- CreateIndex
CREATE INDEX "stripe_setup_intents_project_id_environment_customer_id_cre_idx" ON "stripe_setup_intents"("project_id", "environment", "customer_id", "created");

-- CreateIndex
CREATE INDEX "stripe_setup_intents_project_id_environment_status_created_idx" ON "stripe_setup_intents"("project_id", "environment", "status", "created");

-- CreateIndex
CREATE INDEX "stripe_payment_methods_project_id_environment_created_strip_idx" ON "stripe_payment_methods"("project_id", "environment", "created", "stripe_id");

-- CreateIndex
CREATE INDEX "stripe_payment_methods_project_id_environment_customer_id_c_idx" ON "stripe_payment_methods"("project_id", "environment", "customer_id", "created");

-- CreateIndex
CREATE INDEX "stripe_disputes_project_id_environment_created_stripe_id_idx" ON "stripe_disputes"("project_id", "environment", "created", "stripe_id");

-- CreateIndex
CREATE INDEX "stripe_disputes_project_id_environment_charge_id_created_idx" ON "stripe_disputes"("project_id", "environment", "charge_id", "created");

-- CreateIndex
CREATE INDEX "stripe_disputes_project_id_environment_status_created_idx" ON "stripe_disputes"("project_id", "environment", "status", "created");

-- CreateIndex
CREATE INDEX "stripe_credit_notes_project_id_environment_created_stripe_i_idx" ON "stripe_credit_notes"("project_id", "environment", "created", "stripe_id");

-- CreateIndex
CREATE INDEX "stripe_credit_notes_project_id_environment_customer_id_crea_idx" ON "stripe_credit_notes"("project_id", "environment", "customer_id", "created");

-- CreateIndex
CREATE INDEX "stripe_credit_notes_project_id_environment_invoice_id_creat_idx" ON "stripe_credit_notes"("project_id", "environment", "invoice_id", "created");

-- CreateIndex
CREATE INDEX "stripe_coupons_project_id_environment_created_stripe_id_idx" ON "stripe_coupons"("project_id", "environment", "created", "stripe_id");

-- CreateIndex
CREATE INDEX "stripe_promotion_codes_project_id_environment_created_strip_idx" ON "stripe_promotion_codes"("project_id", "environment", "created", "stripe_id");

-- CreateIndex
CREATE INDEX "stripe_promotion_codes_project_id_environment_coupon_id_cre_idx" ON "stripe_promotion_codes"("project_id", "environment", "coupon_id", "created");

-- CreateIndex
CREATE INDEX "stripe_promotion_codes_project_id_environment_code_created_idx" ON "stripe_promotion_codes"("project_id", "environment", "code", "created");

-- CreateIndex
CREATE INDEX "stripe_tax_ids_project_id_environment_created_stripe_id_idx" ON "stripe_tax_ids"("project_id", "environment", "created", "stripe_id");

-- CreateIndex
CREATE INDEX "stripe_tax_ids_project_id_environment_customer_id_created_idx" ON "stripe_tax_ids"("project_id", "environment", "customer_id", "created");

-- CreateIndex
CREATE INDEX "stripe_subscription_schedules_project_id_environment_create_idx" ON "stripe_subscription_schedules"("project_id", "environment", "created", "stripe_id");

-- CreateIndex
CREATE INDEX "stripe_subscription_schedules_project_id_environment_custom_idx" ON "stripe_subscription_schedules"("project_id", "environment", "customer_id", "created");

-- CreateIndex
CREATE INDEX "stripe_subscription_schedules_project_id_environment_status_idx" ON "stripe_subscription_schedules"("project_id", "environment", "status", "created");

-- CreateIndex
CREATE INDEX "stripe_balance_transactions_project_id_environment_created__idx" ON "stripe_balance_transactions"("project_id", "environment", "created", "stripe_id");

-- CreateIndex
CREATE INDEX "stripe_balance_transactions_project_id_environment_source_i_idx" ON "stripe_balance_transactions"("project_id", "environment", "source_id", "created");

-- CreateIndex
CREATE INDEX "stripe_balance_transactions_project_id_environment_type_cre_idx" ON "stripe_balance_transactions"("project_id", "environment", "type", "created");

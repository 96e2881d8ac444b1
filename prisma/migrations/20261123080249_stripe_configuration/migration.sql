-- CreateEnum
CREATE TYPE "StripeEnvironment" AS ENUM ('TEST', 'LIVE');

-- CreateEnum
CREATE TYPE "StripeCredentialKind" AS ENUM ('SECRET_KEY', 'PUBLISHABLE_KEY', 'WEBHOOK_SECRET');

-- CreateEnum
CREATE TYPE "StripeWebhookMode" AS ENUM ('NONE', 'MANAGED', 'MANUAL');

-- CreateTable
CREATE TABLE "stripe_environments" (
    "id" UUID NOT NULL,
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "account_id" TEXT,
    "account_name" TEXT,
    "livemode" BOOLEAN NOT NULL,
    "configured_at" TIMESTAMPTZ(3),
    "webhook_mode" "StripeWebhookMode" NOT NULL DEFAULT 'NONE',
    "webhook_endpoint_id" TEXT,
    "webhook_url" TEXT,
    "webhook_enabled_events" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "webhook_last_error" TEXT,
    "sync_requested_at" TIMESTAMPTZ(3),
    "last_sync_summary" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_environments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stripe_credentials" (
    "environment_id" UUID NOT NULL,
    "kind" "StripeCredentialKind" NOT NULL,
    "masked" TEXT NOT NULL,
    "fingerprint" BYTEA NOT NULL,
    "key_id" TEXT NOT NULL,
    "wrapped_key" BYTEA NOT NULL,
    "iv" BYTEA NOT NULL,
    "tag" BYTEA NOT NULL,
    "ciphertext" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_credentials_pkey" PRIMARY KEY ("environment_id","kind")
);

-- CreateTable
CREATE TABLE "stripe_webhook_events" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "event_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "object_id" TEXT,
    "created" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_webhook_events_pkey" PRIMARY KEY ("project_id","environment","event_id")
);

-- CreateTable
CREATE TABLE "stripe_objects" (
    "project_id" UUID NOT NULL,
    "environment" "StripeEnvironment" NOT NULL,
    "object_type" TEXT NOT NULL,
    "stripe_id" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "event_created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_objects_pkey" PRIMARY KEY ("project_id","environment","stripe_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "stripe_environments_project_id_environment_key" ON "stripe_environments"("project_id", "environment");

-- CreateIndex
CREATE INDEX "stripe_credentials_key_id_idx" ON "stripe_credentials"("key_id");

-- CreateIndex
CREATE INDEX "stripe_objects_project_id_environment_object_type_idx" ON "stripe_objects"("project_id", "environment", "object_type");

-- AddForeignKey
ALTER TABLE "stripe_environments" ADD CONSTRAINT "stripe_environments_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "stripe_credentials" ADD CONSTRAINT "stripe_credentials_environment_id_fkey" FOREIGN KEY ("environment_id") REFERENCES "stripe_environments"("id") ON DELETE CASCADE ON UPDATE CASCADE;

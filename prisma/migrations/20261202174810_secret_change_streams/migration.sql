-- CreateEnum
CREATE TYPE "SecretChangeKind" AS ENUM ('CREATED', 'VERSION_CREATED', 'METADATA_UPDATED', 'DELETED', 'RESTORED', 'ROLLED_BACK', 'EXPIRING', 'EXPIRED', 'DESTROYED');

-- CreateEnum
CREATE TYPE "NotificationDeliveryStatus" AS ENUM ('PENDING', 'DELIVERED', 'FAILED');

-- CreateTable
CREATE TABLE "secret_change_counters" (
    "project_id" UUID NOT NULL,
    "last_sequence" INTEGER NOT NULL,

    CONSTRAINT "secret_change_counters_pkey" PRIMARY KEY ("project_id")
);

-- CreateTable
CREATE TABLE "secret_change_events" (
    "project_id" UUID NOT NULL,
    "sequence" INTEGER NOT NULL,
    "kind" "SecretChangeKind" NOT NULL,
    "secret_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "environment" TEXT,
    "version" INTEGER,
    "actor_id" UUID,
    "actor_via" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "secret_change_events_pkey" PRIMARY KEY ("project_id","sequence")
);

-- CreateTable
CREATE TABLE "secret_expiry_warnings" (
    "secret_id" UUID NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "secret_expiry_warnings_pkey" PRIMARY KEY ("secret_id","expires_at")
);

-- CreateTable
CREATE TABLE "notification_endpoints" (
    "id" UUID NOT NULL,
    "project_id" UUID NOT NULL,
    "url" TEXT NOT NULL,
    "description" TEXT,
    "disabled_at" TIMESTAMPTZ(3),
    "key_id" TEXT NOT NULL,
    "wrapped_key" BYTEA NOT NULL,
    "iv" BYTEA NOT NULL,
    "tag" BYTEA NOT NULL,
    "ciphertext" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by_id" UUID,

    CONSTRAINT "notification_endpoints_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "notification_deliveries" (
    "id" UUID NOT NULL,
    "endpoint_id" UUID NOT NULL,
    "project_id" UUID NOT NULL,
    "sequence" INTEGER NOT NULL,
    "status" "NotificationDeliveryStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL,
    "lease_until" TIMESTAMPTZ(3),
    "last_attempt_at" TIMESTAMPTZ(3),
    "last_status_code" INTEGER,
    "last_error" TEXT,
    "delivered_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notification_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "notification_endpoints_project_id_created_at_idx" ON "notification_endpoints"("project_id", "created_at");

-- CreateIndex
CREATE INDEX "notification_endpoints_key_id_idx" ON "notification_endpoints"("key_id");

-- CreateIndex
CREATE INDEX "notification_deliveries_status_next_attempt_at_idx" ON "notification_deliveries"("status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "notification_deliveries_endpoint_id_created_at_id_idx" ON "notification_deliveries"("endpoint_id", "created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "notification_deliveries_endpoint_id_project_id_sequence_key" ON "notification_deliveries"("endpoint_id", "project_id", "sequence");

-- AddForeignKey
ALTER TABLE "secret_change_counters" ADD CONSTRAINT "secret_change_counters_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "secret_change_events" ADD CONSTRAINT "secret_change_events_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "secret_expiry_warnings" ADD CONSTRAINT "secret_expiry_warnings_secret_id_fkey" FOREIGN KEY ("secret_id") REFERENCES "secrets"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "notification_endpoints" ADD CONSTRAINT "notification_endpoints_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "notification_endpoints"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_project_id_sequence_fkey" FOREIGN KEY ("project_id", "sequence") REFERENCES "secret_change_events"("project_id", "sequence") ON DELETE CASCADE ON UPDATE CASCADE;

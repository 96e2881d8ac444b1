-- CreateEnum
CREATE TYPE "MachineIdentityPermission" AS ENUM ('SECRETS_READ', 'SECRETS_WRITE', 'STRIPE_CONFIG_READ', 'STRIPE_SYNC_RUN', 'STRIPE_MIRROR_READ');

-- AlterTable
ALTER TABLE "api_keys" ADD COLUMN     "machine_identity_id" UUID,
ALTER COLUMN "user_id" DROP NOT NULL;

-- AlterTable
ALTER TABLE "audit_events" ADD COLUMN     "actor_machine_identity_id" UUID;

-- CreateTable
CREATE TABLE "machine_identities" (
    "id" UUID NOT NULL,
    "project_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "environments" TEXT[],
    "permissions" "MachineIdentityPermission"[],
    "allowed_cidrs" TEXT[],
    "expires_at" TIMESTAMPTZ(3),
    "disabled_at" TIMESTAMPTZ(3),
    "created_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "machine_identities_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "machine_identities_project_id_created_at_id_idx" ON "machine_identities"("project_id", "created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "machine_identities_project_id_name_key" ON "machine_identities"("project_id", "name");

-- CreateIndex
CREATE INDEX "audit_events_actor_machine_identity_id_at_idx" ON "audit_events"("actor_machine_identity_id", "at");

-- CreateIndex
CREATE INDEX "api_keys_machine_identity_id_created_at_idx" ON "api_keys"("machine_identity_id", "created_at");

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_machine_identity_id_fkey" FOREIGN KEY ("machine_identity_id") REFERENCES "machine_identities"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "machine_identities" ADD CONSTRAINT "machine_identities_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A key authenticates exactly one principal: a user or a machine identity.
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_one_principal" CHECK (("user_id" IS NULL) <> ("machine_identity_id" IS NULL));

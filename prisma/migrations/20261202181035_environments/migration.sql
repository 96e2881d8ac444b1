-- DropIndex
DROP INDEX "secrets_scope_owner_id_created_at_id_idx";

-- DropIndex
DROP INDEX "secrets_scope_owner_id_name_key";

-- AlterTable
ALTER TABLE "audit_events" ADD COLUMN     "environment" TEXT;

-- AlterTable
ALTER TABLE "secrets" ADD COLUMN     "environment_id" UUID NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000'::uuid;

-- CreateTable
CREATE TABLE "environments" (
    "id" UUID NOT NULL,
    "project_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "environments_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "environments_project_id_name_key" ON "environments"("project_id", "name");

-- CreateIndex
CREATE INDEX "secrets_scope_owner_id_environment_id_created_at_id_idx" ON "secrets"("scope", "owner_id", "environment_id", "created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "secrets_scope_owner_id_environment_id_name_key" ON "secrets"("scope", "owner_id", "environment_id", "name");

-- AddForeignKey
ALTER TABLE "environments" ADD CONSTRAINT "environments_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Data: every project gets development, staging and production; every existing project secret
-- (every version, its audit trail and metadata untouched) moves into production, which is also
-- where clients that name no environment keep reading and writing.
INSERT INTO "environments" ("id", "project_id", "name", "created_at", "updated_at")
SELECT gen_random_uuid(), p."id", e."name", CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
FROM "projects" p CROSS JOIN (VALUES ('development'), ('staging'), ('production')) AS e("name");

UPDATE "secrets" s SET "environment_id" = e."id"
FROM "environments" e
WHERE s."scope" = 'PROJECT' AND e."project_id" = s."owner_id" AND e."name" = 'production';

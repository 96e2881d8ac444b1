-- CreateTable
CREATE TABLE "keyring_terms" (
    "id" TEXT NOT NULL,
    "active_slot" TEXT,
    "root_key_id" TEXT NOT NULL,
    "sealed_key" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "activated_at" TIMESTAMPTZ(3),
    "retired_at" TIMESTAMPTZ(3),

    CONSTRAINT "keyring_terms_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "keyring_terms_active_slot_key" ON "keyring_terms"("active_slot");

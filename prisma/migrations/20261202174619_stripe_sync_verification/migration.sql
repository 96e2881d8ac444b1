-- AlterTable
ALTER TABLE "stripe_sync_object_states" ADD COLUMN     "verified_deleted" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "verified_inserted" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "verified_listed" INTEGER;

-- AlterEnum
ALTER TYPE "StripeCredentialKind" ADD VALUE 'PREVIOUS_WEBHOOK_SECRET';

-- AlterTable
ALTER TABLE "stripe_credentials" ADD COLUMN     "expires_at" TIMESTAMPTZ(3);

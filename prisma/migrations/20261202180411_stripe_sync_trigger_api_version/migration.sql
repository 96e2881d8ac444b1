-- AlterEnum
ALTER TYPE "StripeSyncTrigger" ADD VALUE 'API_VERSION';

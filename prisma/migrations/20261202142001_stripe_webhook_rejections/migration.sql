-- AlterTable
ALTER TABLE "stripe_webhook_events" ADD COLUMN     "rejected_reason" TEXT;

-- CreateIndex
CREATE INDEX "stripe_webhook_events_project_id_environment_received_at_ev_idx" ON "stripe_webhook_events"("project_id", "environment", "received_at", "event_id");

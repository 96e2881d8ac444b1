export { stripePermissions } from './stripe.rules.js';
import './stripe.schema.js';
import '../stripe-sync/sync.schema.js';
import '../stripe-sync/mirror.schema.js';
export { stripeCredentialRows } from './stripe-credentials.repository.js';
export { useStripeWebhooks } from './webhook-ingestion.js';
export { StripeSyncWorker } from '../stripe-sync/sync-worker.js';

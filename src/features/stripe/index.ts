/**
 * The Stripe feature's one door. Rooms: `client/` (the SDK and its errors), `config/` (credentials
 * and their checks), `webhooks/` (managed endpoints and ingestion), `sync/` (runs, workers,
 * progress), `mirror/` (the mirrored objects).
 */
import './config/config.schema.js';
import './sync/sync.schema.js';
import './mirror/mirror.schema.js';
import './webhooks/webhooks.schema.js';

export { stripePermissions } from './stripe.rules.js';
export { stripeCredentialRows } from './config/credentials.repository.js';
export { useStripeWebhooks } from './webhooks/webhook-ingestion.js';
export { StripeSyncWorker } from './sync/sync-worker.js';
export { isSyncObjectType, SYNC_OBJECT_TYPES } from './mirror/object-types.js';

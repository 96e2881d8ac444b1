import type { Plugin } from 'graphql-yoga';
import Stripe from 'stripe';
import type { KeyringStore } from '../../keyring/index.js';
import type { Database } from '../../db/database.js';
import type { StripeEnvironment } from '../../generated/prisma/enums.js';
import type { Logger } from '../../logger.js';
import { upsertObjects } from '../stripe-sync/mirror.repository.js';
import { specForStripeObject } from '../stripe-sync/object-types.js';
import { revealCredential } from './stripe-credentials.repository.js';

const PATH = /^\/webhooks\/stripe\/([0-9a-f-]{36})\/(test|live)$/;
const MAX_EVENT_BYTES = 512 * 1024;
/** Stripe's own default: signatures older than five minutes are replays. */
const TOLERANCE_SECONDS = 300;

interface Deps {
  db: Database;
  keyring: KeyringStore;
  logger: Logger;
  now: () => Date;
}

const reply = (status: number, body: Record<string, unknown>) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/**
 * `POST /webhooks/stripe/:projectId/:environment`. The signature is checked on the raw body with
 * the stored signing secret; each event id is applied once; the eight synced object types go to
 * their typed tables (others to `stripe_objects`); an event older than what is stored for its
 * object does not overwrite it. Any failure answers non-2xx so Stripe retries.
 */
export function useStripeWebhooks(deps: Deps): Plugin {
  return {
    async onRequest({ request, endResponse }) {
      const match = PATH.exec(new URL(request.url).pathname);
      if (!match) return;
      if (request.method !== 'POST') return endResponse(reply(405, { error: 'POST only' }));
      endResponse(await receive(deps, request, match[1] as string, (match[2] as string).toUpperCase() as StripeEnvironment));
    },
  };
}

async function receive(deps: Deps, request: Request, projectId: string, environment: StripeEnvironment): Promise<Response> {
  const log = deps.logger.child({ webhook: 'stripe', projectId, environment });
  try {
    if (Number(request.headers.get('content-length') ?? 0) > MAX_EVENT_BYTES) return reply(413, { error: 'event too large' });
    const signature = request.headers.get('stripe-signature');
    if (!signature) return reply(400, { error: 'missing Stripe-Signature header' });
    const state = await deps.db.prisma.stripeEnvironmentState.findUnique({
      where: { projectId_environment: { projectId, environment } },
      include: { credentials: { where: { kind: 'WEBHOOK_SECRET' } } },
    });
    const secretRow = state?.credentials[0];
    if (!state || !secretRow) return reply(404, { error: 'no webhook is configured for this project and environment' });

    const body = Buffer.from(await request.arrayBuffer());
    let event: Stripe.Event;
    // Outside the try below: an unreadable keyring is an outage (Stripe retries), not a bad signature.
    const secret = await revealCredential(deps.keyring, projectId, environment, secretRow);
    try {
      event = Stripe.webhooks.constructEvent(body, signature, secret, TOLERANCE_SECONDS, undefined, deps.now().getTime()); // receivedAt is in milliseconds
    } catch {
      log.warn('stripe webhook refused: signature verification failed');
      return reply(400, { error: 'signature verification failed' });
    }
    if (event.livemode !== (environment === 'LIVE')) {
      log.warn({ eventId: event.id }, 'stripe webhook refused: livemode does not match the environment');
      return reply(400, { error: `livemode ${event.livemode} does not match the ${environment.toLowerCase()} environment` });
    }

    const object = event.data.object as { id?: unknown; object?: unknown };
    const objectId = typeof object.id === 'string' ? object.id : null;
    const created = new Date(event.created * 1000);
    const applied = await deps.db.prisma.$transaction(async (tx) => {
      const inserted = await tx.$executeRaw`
        INSERT INTO stripe_webhook_events (project_id, environment, event_id, type, object_id, created, received_at)
        VALUES (${projectId}::uuid, ${environment}::"StripeEnvironment", ${event.id}, ${event.type}, ${objectId}, ${created}, ${deps.now()})
        ON CONFLICT DO NOTHING`;
      if (inserted === 0) return 'duplicate';
      if (!objectId || typeof object.object !== 'string') return 'recorded';
      const deleted = event.type.endsWith('.deleted') && object.object !== 'subscription'; // a deleted subscription is a canceled one
      const spec = specForStripeObject(object.object);
      if (spec) {
        const objects = [{ ...object, id: objectId, ...(deleted ? { deleted: true } : {}) }];
        const written = await upsertObjects(tx, spec, { projectId, environment, objects, changedAt: created, source: 'webhook', now: deps.now() });
        return written.length > 0 ? 'applied' : 'stale';
      }
      const data = JSON.stringify(deleted ? { ...object, deleted: true } : object);
      // The WHERE keeps newer data: an event older than the stored change is recorded, not applied.
      await tx.$executeRaw`
        INSERT INTO stripe_objects (project_id, environment, object_type, stripe_id, data, event_created_at, updated_at)
        VALUES (${projectId}::uuid, ${environment}::"StripeEnvironment", ${object.object}, ${objectId}, ${data}::jsonb, ${created}, ${deps.now()})
        ON CONFLICT (project_id, environment, stripe_id) DO UPDATE
          SET data = EXCLUDED.data, event_created_at = EXCLUDED.event_created_at, updated_at = EXCLUDED.updated_at
          WHERE stripe_objects.event_created_at <= EXCLUDED.event_created_at`;
      return 'applied';
    });
    log.info({ eventId: event.id, type: event.type, outcome: applied }, 'stripe webhook');
    return reply(200, { received: true, duplicate: applied === 'duplicate' });
  } catch (error) {
    log.error({ err: error instanceof Error ? { type: error.name, message: error.message } : String(error) }, 'stripe webhook failed');
    return reply(500, { error: 'could not process the event; Stripe will retry' });
  }
}

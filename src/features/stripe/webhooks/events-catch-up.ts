import type Stripe from 'stripe';
import type { StripeEnvironment } from '../../../generated/prisma/enums.js';
import type { Logger } from '../../../logger.js';
import { withBackoff } from '../client/backoff.js';
import { createStripeClient } from '../client/stripe-client.js';
import * as configRepository from '../config/config.repository.js';
import { revealCredential } from '../config/credentials.repository.js';
import { SYNC_OBJECT_TYPES } from '../mirror/object-types.js';
import { ActiveSyncConflict, createSyncRun } from '../sync/sync.service.js';
import type { EventBus } from '../../../events/event-bus.js';
import { MANAGED_WEBHOOK_EVENTS } from './managed-webhooks.js';
import { applyEvent, eventShape, type IngestionDeps } from './webhook-ingestion.js';
import * as webhooksRepository from './webhooks.repository.js';

/** Stripe keeps events for 30 days; an hour of margin for clocks and a slow catch-up. */
export const EVENT_RETENTION_SECONDS = 30 * 24 * 3600;
const MARGIN_SECONDS = 3600;
const WANTED = new Set<string>(MANAGED_WEBHOOK_EVENTS);

export type CatchUpDeps = IngestionDeps & { events: EventBus };

export type CatchUpOutcome = { kind: 'applied'; events: number } | { kind: 'full-sync-queued' } | { kind: 'nothing-to-catch-up' };

/**
 * Applies the events a webhook outage made Coffer miss: `/v1/events` from the last event applied
 * (or the start of the last complete sync), through the very path webhook deliveries take (each
 * event id once, older data never over newer, ties and other API versions settled by a
 * retrieve). When that point is older than Stripe keeps events, a full sync (with its
 * verification) is queued instead (trigger CATCH_UP).
 */
export async function catchUpEnvironment(deps: CatchUpDeps, projectId: string, environment: StripeEnvironment): Promise<CatchUpOutcome> {
  const { db } = deps;
  const lastEvent = await webhooksRepository.lastEventCreated(db.prisma, projectId, environment);
  const lastSync = await webhooksRepository.lastCompleteSyncStart(db.prisma, projectId, environment, SYNC_OBJECT_TYPES.length);
  const since = Math.max(lastEvent?.getTime() ?? 0, lastSync?.getTime() ?? 0);
  if (since === 0) return { kind: 'nothing-to-catch-up' }; // the first sync has not completed: it covers everything
  const now = deps.now();
  const sinceSeconds = Math.floor(since / 1000);
  if (Date.now() / 1000 - sinceSeconds > EVENT_RETENTION_SECONDS - MARGIN_SECONDS) {
    try {
      await createSyncRun(deps, { projectId, environment, trigger: 'CATCH_UP' });
    } catch (error) {
      if (!(error instanceof ActiveSyncConflict)) throw error;
    }
    return { kind: 'full-sync-queued' };
  }
  const state = await configRepository.environmentOf(db.prisma, projectId, environment);
  const keyRow = configRepository.credentialOf(state, 'SECRET_KEY');
  if (!keyRow) return { kind: 'nothing-to-catch-up' };
  const stripe = createStripeClient(await revealCredential(deps.keyring, projectId, environment, keyRow), deps.config, {
    maxNetworkRetries: 0,
    timeoutMs: 20_000,
  });
  const log = deps.logger.child({ catchUp: 'stripe-events', projectId, environment });
  let applied = 0;
  let cursor: string | undefined;
  // `gte`: an event of the last applied second may not have been applied yet; repeats are duplicates.
  for (;;) {
    const page: Stripe.ApiList<Stripe.Event> = await withBackoff(deps.config.stripeSync.retry, () =>
      stripe.events.list({ created: { gte: sinceSeconds }, limit: 100, ...(cursor ? { starting_after: cursor } : {}) }),
    );
    for (const raw of page.data) {
      if (!WANTED.has(raw.type)) continue;
      const event = eventShape(raw);
      if (!event || event.livemode !== (environment === 'LIVE')) continue;
      const outcome = await applyEvent(deps, { projectId, environment, event, now }, log);
      if (outcome !== 'duplicate') applied += 1;
    }
    const last = page.data.at(-1);
    if (!page.has_more || !last) break;
    cursor = last.id;
  }
  if (applied > 0) log.info({ events: applied }, 'stripe events catch-up: applied missed events');
  return { kind: 'applied', events: applied };
}

/** One round over every configured environment; a failure is logged and left for the next round. */
export async function catchUpEvents(deps: CatchUpDeps, logger: Logger): Promise<void> {
  for (const { projectId, environment } of await configRepository.configuredEnvironments(deps.db.prisma)) {
    try {
      await catchUpEnvironment(deps, projectId, environment);
    } catch (error) {
      logger.warn(
        { projectId, environment, err: { type: (error as Error).name } },
        'stripe events catch-up failed; it is tried again at the next interval',
      );
    }
  }
}

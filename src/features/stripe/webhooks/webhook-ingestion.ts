import type { Plugin } from 'graphql-yoga';
import Stripe from 'stripe';
import type { Config } from '../../../config.js';
import type { Database } from '../../../db/database.js';
import { isDatabaseOutage } from '../../../db/prisma-errors.js';
import { isUuid } from '../../../db/ids.js';
import { asCofferError } from '../../../graphql/errors.js';
import type { StripeEnvironment } from '../../../generated/prisma/enums.js';
import type { KeyringStore } from '../../../keyring/index.js';
import type { Logger } from '../../../logger.js';
import { isRetryable, withBackoff } from '../client/backoff.js';
import { createStripeClient, STRIPE_API_VERSION } from '../client/stripe-client.js';
import * as configRepository from '../config/config.repository.js';
import { revealCredential } from '../config/credentials.repository.js';
import * as mirrorRepository from '../mirror/mirror.repository.js';
import { hasTruncatedList, specForStripeObject } from '../mirror/object-types.js';
import { completeInlineLists } from '../sync/stripe-pages.js';
import * as webhooksRepository from './webhooks.repository.js';
import { webhookEvents } from '../../../metrics.js';

const PATH = /^\/webhooks\/stripe\/([^/]+)\/(test|live)$/;
/** Stripe's events are far smaller; the cap is counted as bytes arrive, chunked or not. */
export const MAX_EVENT_BYTES = 512 * 1024;
/** Stripe's own default: signatures older than five minutes are replays (and as far ahead, forgeries). */
const TOLERANCE_SECONDS = 300;

export interface IngestionDeps {
  db: Database;
  keyring: KeyringStore;
  config: Pick<Config, 'stripeApiBase' | 'stripeSync'>;
  logger: Logger;
  now: () => Date;
}

const reply = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** A failure on Coffer's side that will pass: Stripe retries a 503. */
/** Every answer is counted by outcome (README, Observability). */
const counted = (outcome: string, response: Response) => {
  webhookEvents.inc({ outcome });
  return response;
};
const unavailable = () => reply(503, { error: 'temporarily unavailable; Stripe will retry' }, { 'retry-after': '5' });

/**
 * `POST /webhooks/stripe/:projectId/:environment`. In this order, each step before any work of the
 * next: the route and the signature header, the environment's signing secret, the body (at most
 * MAX_EVENT_BYTES, counted as it arrives), the signature and its timestamp over the raw bytes, and
 * only then JSON. Each event id is applied once; the eight synced object types go to their typed
 * tables (others to `stripe_objects`); an event older than what is stored does not overwrite it.
 */
export function useStripeWebhooks(deps: IngestionDeps): Plugin {
  return {
    async onRequest(payload) {
      const { request, url } = payload;
      const match = PATH.exec(url.pathname);
      if (!match) return;
      if (request.method !== 'POST') return payload.endResponse(reply(405, { error: 'POST only' }, { allow: 'POST' }));
      const [, projectId = '', environment = 'test'] = match;
      payload.endResponse(await receive(deps, request, projectId, environment.toUpperCase() as StripeEnvironment));
    },
  };
}

type Body = { kind: 'ok'; bytes: Buffer } | { kind: 'too-large' };

/** Reads at most `limit` bytes and stops reading there: a flood is never held in memory. */
async function readBody(request: Request, limit: number): Promise<Body> {
  if (Number(request.headers.get('content-length') ?? 0) > limit) return { kind: 'too-large' };
  if (!request.body) return { kind: 'ok', bytes: Buffer.alloc(0) };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return { kind: 'too-large' };
    }
    chunks.push(value);
  }
  return { kind: 'ok', bytes: Buffer.concat(chunks, size) };
}

/** The signature's `t=` (seconds); Stripe's check refuses old ones only, so the future is checked here. */
const signedAt = (header: string) => Number(/(?:^|,)\s*t=(\d+)/.exec(header)?.[1] ?? NaN);

export interface EventShape {
  id: string;
  type: string;
  created: number;
  livemode: boolean;
  /** The API version Stripe rendered the object in (the endpoint's; null when absent). */
  apiVersion: string | null;
  object: { id?: unknown; object?: unknown } & Record<string, unknown>;
}

/** A validly signed event is still checked for shape before anything of it is used. */
export function eventShape(value: unknown): EventShape | null {
  const event = value as Partial<Stripe.Event> | null;
  const object = (event?.data as { object?: unknown } | undefined)?.object;
  if (typeof event?.id !== 'string' || event.id.length === 0 || event.id.length > 255) return null;
  if (typeof event.type !== 'string' || event.type.length === 0 || event.type.length > 255) return null;
  if (typeof event.created !== 'number' || !Number.isFinite(event.created) || typeof event.livemode !== 'boolean') return null;
  if (typeof object !== 'object' || object === null || Array.isArray(object)) return null;
  const apiVersion = typeof event.api_version === 'string' && event.api_version.length <= 64 ? event.api_version : null;
  return {
    id: event.id,
    type: event.type,
    created: event.created,
    livemode: event.livemode,
    apiVersion,
    object: object as EventShape['object'],
  };
}

async function receive(deps: IngestionDeps, request: Request, projectId: string, environment: StripeEnvironment): Promise<Response> {
  const log = deps.logger.child({ webhook: 'stripe', projectId: isUuid(projectId) ? projectId : '(invalid)', environment });
  try {
    const signature = request.headers.get('stripe-signature');
    if (!signature) return counted('missing_signature', reply(400, { error: 'missing Stripe-Signature header' }));
    const secretRow = isUuid(projectId) ? await configRepository.webhookSecretOf(deps.db.prisma, projectId, environment) : null;
    if (!secretRow) return counted('unknown_endpoint', reply(404, { error: 'no webhook is configured for this project and environment' }));

    const body = await readBody(request, MAX_EVENT_BYTES);
    if (body.kind === 'too-large') {
      log.warn({ limitBytes: MAX_EVENT_BYTES }, 'stripe webhook refused: body too large');
      return counted('too_large', reply(413, { error: `event larger than ${MAX_EVENT_BYTES} bytes` }));
    }
    const now = deps.now();
    const verifies = async (row: typeof secretRow) => {
      const secret = await revealCredential(deps.keyring, projectId, environment, row);
      try {
        Stripe.webhooks.signature!.verifyHeader(body.bytes, signature, secret, TOLERANCE_SECONDS, undefined, now.getTime());
        return true;
      } catch {
        return false;
      }
    };
    if (!(await verifies(secretRow))) {
      // During a secret roll the replaced secret is accepted too, until its overlap ends.
      const previous = await configRepository.previousWebhookSecretOf(deps.db.prisma, projectId, environment, now);
      if (!previous || !(await verifies(previous))) {
        log.warn('stripe webhook refused: signature verification failed');
        return counted('bad_signature', reply(400, { error: 'signature verification failed' }));
      }
    }
    if (signedAt(signature) - now.getTime() / 1000 > TOLERANCE_SECONDS) {
      log.warn('stripe webhook refused: signature timestamp in the future');
      return counted('bad_signature', reply(400, { error: 'signature timestamp outside the tolerance' }));
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.bytes.toString('utf8'));
    } catch {
      parsed = null;
    }
    const event = eventShape(parsed);
    if (!event) {
      // Signed by Stripe (or with its secret) but unusable: acknowledged, or Stripe retries it for days.
      log.warn('stripe webhook ignored: signed, but not a Stripe event');
      return counted('not_an_event', reply(200, { received: true, ignored: 'not a Stripe event' }));
    }
    if (event.livemode !== (environment === 'LIVE')) {
      log.warn({ eventId: event.id }, 'stripe webhook refused: livemode does not match the environment');
      return counted(
        'livemode_mismatch',
        reply(400, { error: `livemode ${event.livemode} does not match the ${environment.toLowerCase()} environment` }),
      );
    }
    const outcome = await applyEvent(deps, { projectId, environment, event, now }, log);
    log.info({ eventId: event.id, type: event.type, outcome }, 'stripe webhook');
    return counted(outcome, reply(200, { received: true, duplicate: outcome === 'duplicate' }));
  } catch (error) {
    const coded = asCofferError(error);
    if (error instanceof StripeUnreachable) {
      log.warn({ reason: error.message }, 'stripe webhook deferred: the rest of an inline list could not be read from Stripe');
      return counted('unavailable', unavailable());
    }
    if (coded?.code === 'SERVICE_UNAVAILABLE' || isDatabaseOutage(error)) {
      log.warn(
        { code: 'SERVICE_UNAVAILABLE', reason: coded?.details.reason ?? 'DATABASE_UNAVAILABLE' },
        'stripe webhook deferred: unavailable',
      );
      return counted('unavailable', unavailable());
    }
    log.error({ err: error instanceof Error ? { type: error.name, message: error.message } : String(error) }, 'stripe webhook failed');
    return counted('unavailable', unavailable());
  }
}

/**
 * Applies one event, whoever brought it (a webhook delivery or the events catch-up): settled
 * (retrieve, completed lists), then written once per event id. A poison event (data the mirror
 * cannot hold) is recorded as rejected, with why; a database outage or an unreachable Stripe is
 * thrown for a later retry.
 */
export async function applyEvent(deps: IngestionDeps, received: Received, log: Logger) {
  const { event } = received;
  return settle(deps, received)
    .then((settled) => apply(deps, settled))
    .catch(async (error: unknown) => {
      if (isDatabaseOutage(error) || error instanceof StripeUnreachable) throw error;
      const rejectedReason = rejectionOf(error);
      log.warn({ eventId: event.id, type: event.type, reason: rejectedReason }, 'stripe event rejected: it cannot be applied');
      await recordRejected(deps, received, rejectedReason);
      return 'rejected' as const;
    });
}

export interface Received {
  projectId: string;
  environment: StripeEnvironment;
  event: EventShape;
  now: Date;
}

/** What is written for an event: its object, or the object as Stripe returned it when retrieved. */
interface Settled extends Received {
  object: EventShape['object'];
  /** When `object` was current at Stripe: the event's time, or the second it was retrieved. */
  changedAt: Date;
  apiVersion: string;
}

const objectIdOf = (event: EventShape) => (typeof event.object.id === 'string' && event.object.id.length <= 255 ? event.object.id : null);

const receivedRow = ({ projectId, environment, event, now }: Received): webhooksRepository.ReceivedEvent => ({
  projectId,
  environment,
  eventId: event.id,
  type: event.type,
  objectId: objectIdOf(event),
  created: new Date(event.created * 1000),
  receivedAt: now,
});

/** The rest of a truncated list could not be fetched: the event waits for Stripe's retry rather than lose items. */
export class StripeUnreachable extends Error {}

/** An environment's Stripe client for the webhook path (retries are the caller's), or null without a key. */
async function stripeFor(deps: IngestionDeps, projectId: string, environment: StripeEnvironment): Promise<Stripe | null> {
  const state = await configRepository.environmentOf(deps.db.prisma, projectId, environment);
  const keyRow = configRepository.credentialOf(state, 'SECRET_KEY');
  if (!keyRow) return null;
  const secretKey = await revealCredential(deps.keyring, projectId, environment, keyRow);
  return createStripeClient(secretKey, deps.config, { maxNetworkRetries: 0, timeoutMs: 20_000 });
}

/** Runs a Stripe call under the sync's retry policy; a failure worth Stripe's retry of the event becomes StripeUnreachable. */
async function withStripeRetries<T>(deps: IngestionDeps, call: () => Promise<T>): Promise<T> {
  try {
    return await withBackoff(deps.config.stripeSync.retry, call);
  } catch (error) {
    if (isRetryable(error)) throw new StripeUnreachable(error instanceof Error ? error.name : 'unknown error');
    throw error;
  }
}

/**
 * Decides what an event writes, before anything is written:
 * - An event rendered in another API version than the pinned one, or one of the same second as
 *   the stored state (two changes in one second cannot be ordered by their timestamps), is settled
 *   by retrieving the object from Stripe (bounded by the sync's retry policy): the retrieved state
 *   is written, stamped with the second it was fetched, in the pinned version. An object Stripe no
 *   longer has (`resource_missing`) is written as deleted.
 * - Truncated inline lists (subscription items, invoice and credit note lines, a charge's refunds:
 *   Stripe sends at most 10) are completed from Stripe, exactly as the sync does; without a key
 *   they are left as they are (never replaced by a partial list).
 * When Stripe cannot be reached the event waits for Stripe's retry (503). Without a key (or when
 * Stripe refuses the key) the event's own object is written.
 */
async function settle(deps: IngestionDeps, received: Received): Promise<Settled> {
  const { projectId, environment, event } = received;
  const asSent: Settled = {
    ...received,
    object: event.object,
    changedAt: new Date(event.created * 1000),
    apiVersion: event.apiVersion ?? STRIPE_API_VERSION,
  };
  const spec = typeof event.object.object === 'string' ? specForStripeObject(event.object.object) : undefined;
  const objectId = objectIdOf(event);
  if (!spec || !objectId) return asSent;
  const otherVersion = event.apiVersion !== null && event.apiVersion !== STRIPE_API_VERSION;
  const stored = otherVersion ? null : await mirrorRepository.changedAtOf(deps.db.prisma, spec, { projectId, environment, id: objectId });
  const tie = stored !== null && Math.floor(stored.getTime() / 1000) === event.created;
  const truncated = hasTruncatedList(spec, event.object);
  if (!otherVersion && !tie && !truncated) return asSent;
  const stripe = await stripeFor(deps, projectId, environment);
  if (!stripe) return asSent;
  const { pageSize } = deps.config.stripeSync;
  try {
    if (otherVersion || tie) {
      // Stamped with the second it was fetched, rounded down: an event of that same second settles again.
      const fetchedAt = new Date(Math.max(event.created * 1000, Math.floor(Date.now() / 1000) * 1000));
      const retrieved = await withStripeRetries(deps, () => spec.retrieve(stripe, objectId)).catch((error: unknown) => {
        // Gone at Stripe: a deletion event's object is the last state; otherwise the stored one is kept.
        if ((error as { code?: unknown }).code === 'resource_missing')
          return event.type.endsWith('.deleted')
            ? { ...event.object, id: objectId, deleted: true }
            : { id: objectId, object: spec.stripeObject, deleted: true };
        throw error;
      });
      const object = { ...(retrieved as Record<string, unknown>) };
      delete object.lastResponse;
      if (hasTruncatedList(spec, object))
        await withStripeRetries(deps, () => completeInlineLists(stripe, spec, [object as { id: string }], pageSize));
      return { ...received, object, changedAt: fetchedAt, apiVersion: STRIPE_API_VERSION };
    }
    await withStripeRetries(deps, () => completeInlineLists(stripe, spec, [event.object as { id: string }], pageSize));
  } catch (error) {
    if (error instanceof StripeUnreachable) throw error;
    // A refusal that waiting will not fix (a rolled key): the event's own object is written.
  }
  return asSent;
}

async function apply(deps: IngestionDeps, received: Settled): Promise<'duplicate' | 'recorded' | 'applied' | 'stale'> {
  const { projectId, environment, event, now, object, changedAt, apiVersion } = received;
  const objectId = objectIdOf(event);
  return deps.db.prisma.$transaction(async (tx) => {
    if (!(await webhooksRepository.recordReceivedEvent(tx, receivedRow(received)))) return 'duplicate';
    if (!objectId || typeof object.object !== 'string') return 'recorded';
    const deleted = event.type.endsWith('.deleted') && object.object !== 'subscription'; // a deleted subscription is a canceled one
    const spec = specForStripeObject(object.object);
    if (spec) {
      const objects = [{ ...object, id: objectId, ...(deleted ? { deleted: true } : {}) }];
      const written = await mirrorRepository.upsertObjects(tx, spec, {
        projectId,
        environment,
        objects,
        changedAt,
        source: 'webhook',
        now,
        apiVersion,
      });
      return written.length > 0 ? 'applied' : 'stale';
    }
    const data = JSON.stringify(deleted ? { ...object, deleted: true } : object);
    await webhooksRepository.upsertOtherObject(tx, {
      projectId,
      environment,
      objectType: object.object,
      stripeId: objectId,
      data,
      changedAt,
      now,
    });
    return 'applied';
  });
}

/** Why the database refused the event's data, in words that name no value (the SQLSTATE, not the message). */
function rejectionOf(error: unknown): string {
  const meta = (error as { meta?: { code?: unknown; driverAdapterError?: { cause?: { originalCode?: unknown } } } }).meta;
  const sqlState = meta?.driverAdapterError?.cause?.originalCode ?? meta?.code;
  const state = typeof sqlState === 'string' && /^[0-9A-Z]{5}$/.test(sqlState) ? ` (SQLSTATE ${sqlState})` : '';
  return `the object cannot be stored in the mirror${state}`;
}

async function recordRejected(deps: IngestionDeps, received: Received, rejectedReason: string): Promise<void> {
  await deps.db.prisma.$transaction((tx) => webhooksRepository.recordReceivedEvent(tx, { ...receivedRow(received), rejectedReason }));
}

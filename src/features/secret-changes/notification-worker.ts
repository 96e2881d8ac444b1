import { createHmac } from 'node:crypto';
import { decryptValue, sealedOf } from '../../crypto/index.js';
import type { Database } from '../../db/database.js';
import type { NotificationEndpoint } from '../../generated/prisma/client.js';
import type { KeyringStore } from '../../keyring/index.js';
import type { Logger } from '../../logger.js';
import * as changesRepository from './secret-changes.repository.js';
import { toSecretChange, type SecretChange } from './secret-changes.service.js';
import { notificationDeliveries } from '../../metrics.js';

export interface DeliverySettings {
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  timeoutMs: number;
  pollMs: number;
}

const BATCH = 20;

/** The header a receiver checks: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the signing secret>`. */
export const SIGNATURE_HEADER = 'coffer-signature';

export function signatureHeader(secret: string, timestamp: number, body: string): string {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${signature}`;
}

/** What a notification's body holds: the change, never a value. */
export const notificationBody = (change: SecretChange) =>
  JSON.stringify({
    id: `${change.projectId}:${change.sequence}`,
    type: 'secret.change',
    projectId: change.projectId,
    sequence: change.sequence,
    kind: change.kind,
    name: change.name,
    environment: change.environment,
    version: change.version,
    actor: { id: change.actorId, via: change.actorVia },
    at: change.at.toISOString(),
  });

/** Exponential: base, 2×base, 4×base... capped. */
export const retryDelayMs = (settings: DeliverySettings, attempts: number) =>
  Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.max(0, attempts - 1));

interface WorkerDeps {
  db: Database;
  keyring: KeyringStore;
  logger: Logger;
  settings: DeliverySettings;
  now?: () => Date;
}

/**
 * Sends queued notifications. Any number of processes may run one: each claims due deliveries
 * with a lease (SKIP LOCKED), so a delivery goes out from one process at a time, and one whose
 * process died mid-send goes out again once the lease has run out. Receivers may therefore, rarely,
 * see a delivery twice: the body's `id` tells them.
 */
export class NotificationWorker {
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private stopped = true;
  private readonly now: () => Date;

  constructor(private readonly deps: WorkerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** The lease outlives the request's timeout, so a live sender never loses its row. */
  private get leaseMs() {
    return this.deps.settings.timeoutMs + 5_000;
  }

  start() {
    this.stopped = false;
    this.schedule(0);
  }

  async stop() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
  }

  private schedule(ms: number) {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.polling = this.deliverDue()
        .then(() => undefined)
        .catch((error: unknown) =>
          this.deps.logger.error({ err: { type: (error as Error).name, message: (error as Error).message } }, 'notifications: poll failed'),
        )
        .finally(() => {
          this.polling = null;
          this.schedule(this.deps.settings.pollMs);
        });
    }, ms);
    this.timer.unref();
  }

  /** Sends every delivery due now; returns how many were attempted. */
  async deliverDue(): Promise<number> {
    // The signing secrets need the keyring: nothing is claimed while it cannot decrypt.
    if (this.deps.keyring.problem) return 0;
    let attempted = 0;
    for (;;) {
      const claimed = await changesRepository.claimDueDeliveries(this.deps.db.prisma, this.now(), this.leaseMs, BATCH);
      await Promise.all(claimed.map((delivery) => this.attempt(delivery)));
      attempted += claimed.length;
      if (claimed.length < BATCH || this.stopped) return attempted;
    }
  }

  private async attempt(delivery: Awaited<ReturnType<typeof changesRepository.claimDueDeliveries>>[number]) {
    const { settings, logger } = this.deps;
    const body = notificationBody(toSecretChange(delivery.event));
    let outcome: { ok: boolean; status: number | null; error: string | null };
    try {
      const secret = await this.signingSecret(delivery.endpoint);
      const timestamp = Math.floor(this.now().getTime() / 1000);
      const response = await fetch(delivery.endpoint.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(settings.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Coffer-Notifications/1',
          [SIGNATURE_HEADER]: signatureHeader(secret, timestamp, body),
          'coffer-event-id': `${delivery.projectId}:${delivery.sequence}`,
          'coffer-delivery-id': delivery.id,
        },
        body,
      });
      await response.body?.cancel().catch(() => undefined);
      outcome = response.ok
        ? { ok: true, status: response.status, error: null }
        : { ok: false, status: response.status, error: `HTTP ${response.status}` };
    } catch (error) {
      // Only the kind of failure: a receiver's error text is not ours to store.
      const name = (error as Error).name;
      const cause = ((error as Error).cause as { code?: string } | undefined)?.code;
      outcome = { ok: false, status: null, error: name === 'TimeoutError' ? 'timed out' : (cause ?? name) };
    }
    const now = this.now();
    const exhausted = delivery.attempts >= settings.maxAttempts;
    const data = outcome.ok
      ? { status: 'DELIVERED' as const, deliveredAt: now, lastStatusCode: outcome.status, lastError: null }
      : {
          status: exhausted ? ('FAILED' as const) : ('PENDING' as const),
          nextAttemptAt: new Date(now.getTime() + retryDelayMs(settings, delivery.attempts)),
          lastStatusCode: outcome.status,
          lastError: outcome.error,
        };
    await changesRepository.finishAttempt(this.deps.db.prisma, delivery, data);
    notificationDeliveries.inc({ outcome: outcome.ok ? 'delivered' : exhausted ? 'failed' : 'retry' });
    if (!outcome.ok) {
      logger.warn(
        { deliveryId: delivery.id, endpointId: delivery.endpointId, attempts: delivery.attempts, error: outcome.error, gaveUp: exhausted },
        'notification delivery failed',
      );
    }
  }

  private async signingSecret(endpoint: NotificationEndpoint): Promise<string> {
    const ring = await this.deps.keyring.holding(endpoint.keyId);
    return decryptValue(ring, sealedOf(endpoint), changesRepository.endpointAad(endpoint)).toString('utf8');
  }
}

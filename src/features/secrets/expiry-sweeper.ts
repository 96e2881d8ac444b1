import { SYSTEM_ACTOR } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import type { EventBus } from '../../events/event-bus.js';
import type { Logger } from '../../logger.js';
import { recordAudit } from '../audit/index.js';
import { emitExpiryWarnings, withSecretChanges } from '../secret-changes/index.js';
import * as secretsRepository from './secrets.repository.js';

/**
 * Purges expired secrets for good (reads already ignore them). Reserved secrets are never
 * purged: they stay readable, flagged isExpired, and each pass warns about them by name.
 */
interface Sweep {
  db: Database;
  logger: Logger;
  /** Publishes the EXPIRED (and EXPIRING) change events of project secrets. */
  events?: EventBus;
  /** How long before expiry an EXPIRING change event is emitted (0: none). */
  warningMs?: number;
}

export async function purgeExpiredSecrets({ db, logger, events, now, batchSize = 500 }: Sweep & { now: Date; batchSize?: number }) {
  let purged = 0;
  for (;;) {
    const batch = await secretsRepository.expiredSecrets(db.prisma, now, batchSize);
    if (batch.length === 0) break;
    // One transaction per secret: its change event takes the project's sequence lock, which must
    // not be held while waiting for another secret's row (a writer may hold that and want the lock).
    for (const secret of batch) {
      await withSecretChanges({ db, events }, async (tx, changes) => {
        if (!(await secretsRepository.purgeIfExpired(tx, secret.id, now))) return;
        await recordAudit(tx, SYSTEM_ACTOR, {
          action: 'secret.purge',
          outcome: 'SUCCESS',
          targetType: 'secret',
          targetId: secret.id,
          targetName: secret.name,
          scope: secret.scope,
          scopeOwnerId: secret.ownerId,
          reason: 'expired',
        });
        await changes.record(tx, { kind: 'EXPIRED', secret, version: secret.currentVersion, actor: SYSTEM_ACTOR, at: now });
      });
    }
    purged += batch.length;
    if (batch.length < batchSize) break;
  }
  const held = await secretsRepository.expiredReserved(db.prisma, now, 100);
  if (held.length > 0) logger.warn({ secrets: held }, 'reserved secrets are past their expiry and still in use: renew or release them');
  return { purged, heldReserved: held.length };
}

export function startExpirySweeper({
  db,
  logger,
  events,
  warningMs = 0,
  intervalMs,
  now = () => new Date(),
}: Sweep & { intervalMs: number; now?: () => Date }) {
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    running ??= emitExpiryWarnings({ db, events, now: now(), warningMs })
      .then(() => purgeExpiredSecrets({ db, logger, events, now: now() }))
      .then(({ purged }) => purged > 0 && logger.info({ purged }, 'expired secrets purged'))
      .catch((error: unknown) => logger.error({ err: error }, 'expiry sweep failed'))
      .finally(() => (running = null));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

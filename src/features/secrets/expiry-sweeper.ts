import { SYSTEM_ACTOR } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import type { Logger } from '../../logger.js';
import { recordAudit } from '../audit/index.js';
import * as secretsRepository from './secrets.repository.js';

/**
 * Purges expired secrets for good (reads already ignore them). Reserved secrets are never
 * purged: they stay readable, flagged isExpired, and each pass warns about them by name.
 */
interface Sweep {
  db: Database;
  logger: Logger;
}

export async function purgeExpiredSecrets({ db, logger, now, batchSize = 500 }: Sweep & { now: Date; batchSize?: number }) {
  let purged = 0;
  for (;;) {
    const batch = await secretsRepository.expiredSecrets(db.prisma, now, batchSize);
    if (batch.length === 0) break;
    await secretsRepository.inTransaction(db.prisma, async (tx) => {
      for (const secret of batch) {
        if (!(await secretsRepository.purgeIfExpired(tx, secret.id, now))) continue;
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
      }
    });
    purged += batch.length;
    if (batch.length < batchSize) break;
  }
  const held = await secretsRepository.expiredReserved(db.prisma, now, 100);
  if (held.length > 0) logger.warn({ secrets: held }, 'reserved secrets are past their expiry and still in use: renew or release them');
  return { purged, heldReserved: held.length };
}

export function startExpirySweeper({ db, logger, intervalMs, now = () => new Date() }: Sweep & { intervalMs: number; now?: () => Date }) {
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    running ??= purgeExpiredSecrets({ db, logger, now: now() })
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

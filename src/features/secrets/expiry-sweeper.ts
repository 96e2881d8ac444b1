import type { Database } from '../../db/database.js';
import type { Logger } from '../../logger.js';
import { SYSTEM_ACTOR } from '../../auth/index.js';
import { recordAudit } from '../audit/index.js';

/**
 * Purges expired secrets for good (reads already ignore them). Reserved secrets are never
 * purged: they stay readable, flagged isExpired, and each pass warns about them by name.
 */
export async function purgeExpiredSecrets({ db, logger, now, batchSize = 500 }: { db: Database; logger: Logger; now: Date; batchSize?: number }) {
  let purged = 0;
  for (;;) {
    const batch = await db.prisma.secret.findMany({ where: { expiresAt: { lte: now }, isReserved: false }, take: batchSize, orderBy: { expiresAt: 'asc' } });
    if (batch.length === 0) break;
    await db.prisma.$transaction(async (tx) => {
      for (const secret of batch) {
        // Re-checked under the delete: a write may have extended it since the read.
        const { count } = await tx.secret.deleteMany({ where: { id: secret.id, expiresAt: { lte: now }, isReserved: false } });
        if (count === 0) continue;
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
  const held = await db.prisma.secret.findMany({ where: { expiresAt: { lte: now }, isReserved: true, deletedAt: null }, select: { name: true, scope: true, ownerId: true }, take: 100 });
  if (held.length > 0) logger.warn({ secrets: held }, 'reserved secrets are past their expiry and still in use: renew or release them');
  return { purged, heldReserved: held.length };
}

export function startExpirySweeper({ db, logger, intervalMs, now = () => new Date() }: { db: Database; logger: Logger; intervalMs: number; now?: () => Date }) {
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

import { SYSTEM_ACTOR } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import type { EventBus } from '../../events/event-bus.js';
import * as changesRepository from './secret-changes.repository.js';
import { withSecretChanges } from './secret-changes.service.js';

/**
 * EXPIRING changes for project secrets whose expiry is `warningMs` away or less: one per secret
 * and expiry (a new expiresAt is warned about again), whichever replica's sweep sees it first.
 */
export async function emitExpiryWarnings({
  db,
  events,
  now,
  warningMs,
  batchSize = 500,
}: {
  db: Database;
  events?: EventBus;
  now: Date;
  warningMs: number;
  batchSize?: number;
}) {
  if (warningMs <= 0) return 0;
  const due = await changesRepository.secretsToWarn(db.prisma, now, new Date(now.getTime() + warningMs), batchSize);
  let warned = 0;
  for (const secret of due) {
    await withSecretChanges({ db, events }, async (tx, changes) => {
      if (!(await changesRepository.claimExpiryWarning(tx, secret.id, secret.expires_at))) return;
      const ref = { id: secret.id, scope: 'PROJECT', ownerId: secret.owner_id, name: secret.name, environmentId: secret.environment_id };
      await changes.record(tx, { kind: 'EXPIRING', secret: ref, version: secret.current_version, actor: SYSTEM_ACTOR, at: now });
      warned += 1;
    });
  }
  return warned;
}

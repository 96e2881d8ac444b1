import type { Viewer } from '../../auth/index.js';
import type { AuditOutcome, SecretScope } from '../../generated/prisma/enums.js';
import type { Prisma, PrismaClient } from '../../generated/prisma/client.js';

/** Who and where a request came from, as audit records need it. */
export interface AuditActor {
  viewer: Viewer | null;
  requestId: string | null;
  clientAddress: string | null;
}

export interface AuditEntry {
  action: string;
  outcome: AuditOutcome;
  targetType: string;
  targetId?: string | null;
  targetName?: string | null;
  scope?: SecretScope | null;
  scopeOwnerId?: string | null;
  /** Why it was denied or failed, in words for people. Never a value or a credential. */
  reason?: string | null;
}

export const SYSTEM_ACTOR: AuditActor = { viewer: null, requestId: null, clientAddress: null };

function actorVia(actor: AuditActor): string {
  const credential = actor.viewer?.credential;
  if (!credential) return actor === SYSTEM_ACTOR ? 'system' : 'anonymous';
  return credential.kind === 'api-key' ? `api-key:${credential.apiKeyId}` : credential.kind;
}

/**
 * Writes one audit record. Pass the transaction of the operation being audited: if the record
 * cannot be written, the operation fails with it.
 */
export async function recordAudit(db: PrismaClient | Prisma.TransactionClient, actor: AuditActor, entry: AuditEntry) {
  await db.auditEvent.create({
    data: {
      actorId: actor.viewer?.userId ?? null,
      actorVia: actorVia(actor),
      action: entry.action,
      outcome: entry.outcome,
      targetType: entry.targetType,
      targetId: entry.targetId ?? null,
      targetName: entry.targetName ?? null,
      scope: entry.scope ?? null,
      scopeOwnerId: entry.scopeOwnerId ?? null,
      reason: entry.reason ?? null,
      requestId: actor.requestId,
      clientAddress: actor.clientAddress,
    },
  });
}

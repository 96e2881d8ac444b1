import { SYSTEM_ACTOR, userIdOf, type Actor } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import { planPage, toConnection, type PageArgs } from '../../db/pagination.js';
import { badInput } from '../../errors.js';
import type { AuditOutcome, SecretScope } from '../../generated/prisma/enums.js';
import type { Prisma, PrismaClient } from '../../generated/prisma/client.js';
import * as auditRepository from './audit.repository.js';

export interface AuditEntry {
  action: string;
  outcome: AuditOutcome;
  targetType: string;
  targetId?: string | null;
  targetName?: string | null;
  scope?: SecretScope | null;
  scopeOwnerId?: string | null;
  /** The environment's name, for PROJECT secrets. */
  environment?: string | null;
  /** Why it was denied or failed, in words for people. Never a value or a credential. */
  reason?: string | null;
}

/** The last line of defence: a target name that is no short, printable name is never stored as sent. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F]/;
const recordableName = (name: string | null | undefined) => {
  if (!name) return null;
  return name.length <= 255 && name.isWellFormed() && !CONTROL.test(name) ? name : '(invalid name, not recorded)';
};

function actorVia(actor: Actor): string {
  const credential = actor.viewer?.credential;
  if (!credential) return actor === SYSTEM_ACTOR ? 'system' : 'anonymous';
  return credential.kind === 'api-key' ? `api-key:${credential.apiKeyId}` : credential.kind;
}

/** The row an audit record becomes; for a feature that writes it inside one statement of its own. */
export function auditRow(actor: Actor, entry: AuditEntry): auditRepository.AuditRow {
  return {
    actorId: userIdOf(actor.viewer),
    actorMachineIdentityId: actor.viewer?.kind === 'machine' ? actor.viewer.identityId : null,
    actorVia: actorVia(actor),
    action: entry.action,
    outcome: entry.outcome,
    targetType: entry.targetType,
    targetId: entry.targetId ?? null,
    targetName: recordableName(entry.targetName),
    scope: entry.scope ?? null,
    scopeOwnerId: entry.scopeOwnerId ?? null,
    environment: entry.environment ?? null,
    reason: entry.reason ?? null,
    requestId: actor.requestId,
    clientAddress: actor.clientAddress,
  };
}

/**
 * Writes one audit record. Pass the transaction of the operation being audited: if the record
 * cannot be written, the operation fails with it.
 */
export async function recordAudit(db: PrismaClient | Prisma.TransactionClient, actor: Actor, entry: AuditEntry) {
  await auditRepository.insertAuditEvent(db, auditRow(actor, entry));
}

/** The audit trail, newest first; it pages forward only. */
export async function listAuditEvents({ db, filter, page }: { db: Database; filter: auditRepository.AuditFilter; page: PageArgs }) {
  if (page.last != null || page.before != null)
    throw badInput([{ field: page.last != null ? 'last' : 'before', message: 'the audit trail pages forward only (first/after)' }]);
  const plan = planPage({ first: page.first, after: page.after });
  const rows = await auditRepository.listAuditEvents(db.prisma, filter, plan);
  return toConnection(rows, plan, {
    keyOf: (row) => ({ createdAt: row.at, id: row.id }),
    count: () => auditRepository.countAuditEvents(db.prisma, filter),
  });
}

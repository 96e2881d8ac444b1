import type { Actor } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import { defineTopic, withDateAt, type EventBus } from '../../events/event-bus.js';
import type { SecretChangeKind } from '../../generated/prisma/enums.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { auditRow } from '../audit/index.js';
import * as changesRepository from './secret-changes.repository.js';
import { secretChangeEvents } from '../../metrics.js';

type Tx = Prisma.TransactionClient;

/** One change to a project secret, as stored, streamed and notified: never a value. */
export interface SecretChange {
  projectId: string;
  sequence: number;
  kind: SecretChangeKind;
  name: string;
  environment: string | null;
  version: number | null;
  actorId: string | null;
  actorVia: string;
  at: Date;
}

/** Live changes of one project (id: the project id), through Redis when REDIS_URL is set. */
export const secretChangesTopic = defineTopic<SecretChange>('secretChanges', withDateAt);

export const toSecretChange = (row: changesRepository.EventRow): SecretChange => ({
  projectId: row.projectId,
  sequence: row.sequence,
  kind: row.kind,
  name: row.name,
  environment: row.environment,
  version: row.version,
  actorId: row.actorId,
  actorVia: row.actorVia,
  at: row.at,
});

/** What a secret write says about itself; only project secrets have a change stream. */
export interface ChangeNote {
  kind: SecretChangeKind;
  secret: { id: string; scope: string; ownerId: string; name: string; environmentId?: string };
  /** The environment's name; looked up from `secret.environmentId` when not given (the sweepers). */
  environment?: string | null;
  version: number | null;
  actor: Actor;
  at: Date;
}

/**
 * The changes one transaction makes: recorded in it (numbered, stored, queued for notification
 * endpoints), published once it has committed. Make one per attempt of the transaction.
 */
export class SecretChangeLog {
  private readonly recorded: SecretChange[] = [];

  async record(tx: Tx, { kind, secret, environment: named, version, actor, at }: ChangeNote): Promise<void> {
    if (secret.scope !== 'PROJECT') return;
    const environment = named ?? (secret.environmentId ? await changesRepository.environmentName(tx, secret.environmentId) : null);
    const projectId = secret.ownerId;
    const sequence = await changesRepository.nextSequence(tx, projectId);
    const { actorId, actorVia } = auditRow(actor, { action: 'secret.change', outcome: 'SUCCESS', targetType: 'secret' });
    const row = { projectId, sequence, kind, secretId: secret.id, name: secret.name, environment, version, actorId, actorVia, at };
    await changesRepository.insertEvent(tx, row);
    await changesRepository.queueDeliveries(tx, projectId, sequence, at);
    this.recorded.push(toSecretChange(row));
  }

  /** After commit. Subscribers that miss a message (or a process that dies first) catch up from the stored events. */
  publish(events: EventBus | undefined): void {
    for (const change of this.recorded) secretChangeEvents.inc({ kind: change.kind });
    if (!events) return;
    for (const change of this.recorded) secretChangesTopic.publish(events, change.projectId, change);
  }
}

/** Runs `work` in one transaction with a change log, and publishes what it recorded once committed. */
export async function withSecretChanges<T>(
  { db, events }: { db: Database; events?: EventBus | undefined },
  work: (tx: Tx, changes: SecretChangeLog) => Promise<T>,
  /** Bulk writes: how long the transaction may run (Prisma's default is 5 s). */
  { timeoutMs }: { timeoutMs?: number } = {},
): Promise<T> {
  const changes = new SecretChangeLog();
  const result = await db.prisma.$transaction((tx) => work(tx, changes), timeoutMs ? { timeout: timeoutMs } : undefined);
  changes.publish(events);
  return result;
}

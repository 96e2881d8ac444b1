import type { Prisma, PrismaClient } from '../../../generated/prisma/client.js';
import type { StripeEnvironment } from '../../../generated/prisma/enums.js';
import type { EventBus } from '../../../events/event-bus.js';
import { progressTopicId, storedEvents, syncProgressTopic, type SyncProgressEvent } from './progress.js';
import * as syncRepository from './sync.repository.js';

type Db = PrismaClient | Prisma.TransactionClient;

/**
 * Puts runs' progress events in order, once each, whichever way they arrive: live from the event
 * bus (possibly twice, or with a message lost between replicas) or replayed from the database.
 * Each method returns the events to deliver now; their `sequence` follows on without gaps.
 */
export class ProgressSequencer {
  private readonly delivered = new Map<string, number>();

  /** `onlyRunId`: ignore every other run's events. */
  constructor(
    private readonly db: Db,
    private readonly onlyRunId: string | null = null,
  ) {}

  /** The events to deliver for one that arrived live: none for a duplicate; after a gap, the missed ones first. */
  async arrived(event: SyncProgressEvent): Promise<SyncProgressEvent[]> {
    if (this.onlyRunId !== null && event.runId !== this.onlyRunId) return [];
    const before = this.lastOf(event.runId);
    if (event.sequence <= before) return [];
    const missed = event.sequence > before + 1 ? await storedEvents(this.db, event.runId, before) : [];
    return this.take([...missed.filter((stored) => stored.sequence < event.sequence), event]);
  }

  /** Every stored event of `runId` not delivered yet (a replay, or catching up after polling). */
  async stored(runId: string): Promise<SyncProgressEvent[]> {
    const found: SyncProgressEvent[] = [];
    for (let after = this.lastOf(runId); ;) {
      const page = await storedEvents(this.db, runId, after);
      found.push(...page);
      if (page.length < 1000) break;
      after = page.at(-1)!.sequence;
    }
    return this.take(found);
  }

  private lastOf(runId: string) {
    return this.delivered.get(runId) ?? 0;
  }

  /** Synchronous from here: another caller that awaited meanwhile may have delivered some already. */
  private take(events: SyncProgressEvent[]): SyncProgressEvent[] {
    const fresh: SyncProgressEvent[] = [];
    for (const event of events) {
      if (event.sequence !== this.lastOf(event.runId) + 1) continue;
      this.delivered.set(event.runId, event.sequence);
      fresh.push(event);
    }
    return fresh;
  }
}

/**
 * The `stripeSyncProgress` stream: the active run's events from its first one (replayed), then live
 * ones, and on to the next run.
 */
export async function* projectProgress(
  { db, events }: { db: { prisma: PrismaClient }; events: EventBus },
  projectId: string,
  environment: StripeEnvironment,
): AsyncGenerator<SyncProgressEvent> {
  const topic = progressTopicId(projectId, environment);
  const live = syncProgressTopic.subscribe(events, topic)[Symbol.asyncIterator]();
  // Starting the iterator registers the listener before the replay is read: nothing falls between.
  let next = live.next();
  const sequencer = new ProgressSequencer(db.prisma);
  try {
    await syncProgressTopic.subscribed(events, topic);
    const active = await syncRepository.activeRunOf(db.prisma, projectId, environment);
    if (active) yield* await sequencer.stored(active.id);
    for (;;) {
      const arrived = await next;
      if (arrived.done) return;
      next = live.next();
      yield* await sequencer.arrived(arrived.value);
    }
  } finally {
    await live.return?.();
  }
}

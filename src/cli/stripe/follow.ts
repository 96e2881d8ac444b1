import { setTimeout as sleep } from 'node:timers/promises';
import { isSyncRunActive, ProgressSequencer, type SyncProgressEvent } from '../../features/stripe/index.js';
import type { Services } from '../../services.js';
import type { ProgressView } from './progress-view.js';

/** Feeds one run's events to a view once each, in order, from the event bus and from the database. */
export class RunFollower {
  private readonly sequencer: ProgressSequencer;

  constructor(
    private readonly services: Services,
    private readonly runId: string,
    private readonly view: ProgressView,
  ) {
    this.sequencer = new ProgressSequencer(services.db.prisma, runId);
  }

  /** An event published live (this process's worker, or another replica's through Redis/PostgreSQL). */
  async arrived(event: SyncProgressEvent) {
    for (const next of await this.sequencer.arrived(event)) this.view.event(next);
  }

  /** Everything stored since the last event shown. */
  async drain() {
    for (const next of await this.sequencer.stored(this.runId)) this.view.event(next);
  }

  /** Polls the database until the run has ended (it is executed elsewhere: another process or replica). */
  async untilEnded(pollMs = 500) {
    for (;;) {
      await this.drain();
      if (!(await isSyncRunActive(this.services.db, this.runId))) return this.drain();
      await sleep(pollMs);
    }
  }
}

import type { CofferClient, CofferClientError, StripeSyncEvent } from '../../client/index.js';
import { StripeSyncProgressDocument, StripeSyncRunEventsDocument } from '../../client/documents.js';
import type { StripeEnvironment } from '../../generated/graphql/graphql.js';
import type { ProgressView } from './progress-view.js';

const ACTIVE_STATUSES = new Set(['QUEUED', 'RUNNING']);
export const isActiveStatus = (status: string) => ACTIVE_STATUSES.has(status);

/** Stored events read per request while catching up (the API's maximum). */
const PAGE = 1000;

/**
 * A project environment's `stripeSyncProgress` subscription, opened before anything is asked of
 * the run so that its events are on their way from the start. The stream is a fast path only:
 * the subscription has no acknowledgement, so it may start after the run's first events, and a
 * connection can drop. `follow` therefore reads what the stream did not bring from the run's
 * stored events (`stripeSyncRun { events(afterSequence) }`), on a gap in the sequence and after
 * a quiet while, so each event is shown once and in order, and the end is never missed.
 */
export class ProgressFollower {
  private readonly arrived: StripeSyncEvent[] = [];
  private wake: (() => void) | null = null;
  private readonly unsubscribe: () => void;
  /** Why the stream ended early, if it did (then the follower polls). */
  streamError: CofferClientError | null = null;

  constructor(
    private readonly client: CofferClient,
    projectId: string,
    environment: StripeEnvironment,
    private readonly quietMs = 2000,
  ) {
    this.unsubscribe = client.subscribe(
      StripeSyncProgressDocument,
      { projectId, environment },
      (data) => {
        this.arrived.push(data.stripeSyncProgress);
        this.signal();
      },
      (error) => {
        this.streamError = error;
        this.signal();
      },
    );
  }

  private signal() {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Until something arrives, or `ms` pass; true when something arrived. */
  private async nextArrival(ms: number): Promise<boolean> {
    if (this.arrived.length > 0) return true;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
    this.wake = null;
    return this.arrived.length > 0;
  }

  /** Shows run `runId`'s events on `view`, from its first one, each once and in order, until the run has ended. */
  async follow(runId: string, view: ProgressView): Promise<void> {
    let last = 0;
    let finished = false;
    const show = (event: StripeSyncEvent) => {
      if (event.runId !== runId || event.sequence !== last + 1) return;
      last = event.sequence;
      view.event(event);
      if (event.kind === 'RUN_FINISHED') finished = true;
    };
    /** Everything stored after the last event shown; the run's status as it was read. */
    const catchUp = async () => {
      for (;;) {
        const { stripeSyncRun } = await this.client.request(StripeSyncRunEventsDocument, { id: runId, afterSequence: last, first: PAGE });
        stripeSyncRun.events.forEach(show);
        if (stripeSyncRun.events.length < PAGE) return stripeSyncRun.status;
      }
    };

    let status = await catchUp();
    while (!finished && isActiveStatus(status)) {
      // Without a stream, reading the stored events is the only way: more often.
      const live = await this.nextArrival(this.streamError ? this.quietMs / 2 : this.quietMs);
      if (!live) {
        status = await catchUp();
        continue;
      }
      for (const event of this.arrived.splice(0)) {
        if (event.runId !== runId || event.sequence <= last) continue;
        // Stored before published: a gap is read back from the run.
        if (event.sequence > last + 1) status = await catchUp();
        show(event);
      }
    }
    // A run that ended between two reads: its last events (RUN_FINISHED among them) are stored.
    if (!finished) await catchUp();
  }

  close() {
    this.unsubscribe();
    this.signal();
  }
}

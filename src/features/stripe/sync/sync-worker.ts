import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { StripeSyncRun } from '../../../generated/prisma/client.js';
import { SyncRunExecution, type RunOutcome, type SyncRunnerDeps } from './run-execution.js';
import { syncWorkerRequests, WORKERS } from './progress.js';
import * as syncRepository from './sync.repository.js';
import { catchUpEvents } from '../webhooks/events-catch-up.js';
import { queueApiVersionResyncs, queueDueSyncs } from './sync.service.js';

/**
 * Runs queued syncs in a server process. Every replica runs one; a run is claimed in the database
 * with a lease (FOR UPDATE SKIP LOCKED), so exactly one worker executes it. A worker that dies
 * stops renewing its lease, and when the lease expires another worker resumes the run from its
 * last checkpoint.
 */
export class StripeSyncWorker {
  readonly id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly executions = new Map<string, { execution: SyncRunExecution; done: Promise<RunOutcome> }>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private pollAgain = false;
  private stopped = true;
  private requests: AsyncIterator<unknown> | null = null;
  /** Whether this worker has looked for rows of another API version since it started. */
  private apiVersionChecked = false;
  private catchUpTimer: NodeJS.Timeout | null = null;
  private catchingUp: Promise<void> | null = null;

  constructor(private readonly deps: SyncRunnerDeps) {}

  /** Polls for work, and answers requests published on the event bus (from any replica). */
  start() {
    this.stopped = false;
    const requests = syncWorkerRequests.subscribe(this.deps.events, WORKERS)[Symbol.asyncIterator]();
    this.requests = requests;
    void (async () => {
      for (let next = await requests.next(); !next.done; next = await requests.next()) {
        const request = next.value;
        if (request.kind === 'wake') this.wake();
        else this.stopRun(request.runId);
      }
    })().catch((error: unknown) =>
      this.deps.logger.warn(
        { err: { type: (error as Error).name, message: (error as Error).message } },
        'stripe sync worker: requests ended',
      ),
    );
    this.wake();
    const { catchUpMs } = this.deps.config.stripeSync;
    if (catchUpMs > 0) {
      this.catchUpTimer = setInterval(() => void this.catchUpNow(), catchUpMs);
      this.catchUpTimer.unref();
    }
  }

  /**
   * One round of the events catch-up (STRIPE_EVENTS_CATCHUP_SECONDS): missed webhook events read
   * from Stripe's `/v1/events` and applied. A round still going when the next is due is not doubled.
   */
  catchUpNow(): Promise<void> {
    if (this.catchingUp || this.stopped || this.deps.keyring.problem) return this.catchingUp ?? Promise.resolve();
    const deps = { ...this.deps, now: () => new Date() };
    this.catchingUp = catchUpEvents(deps, this.deps.logger)
      .catch((error: unknown) => this.deps.logger.warn({ err: { type: (error as Error).name } }, 'stripe events catch-up: round failed'))
      .finally(() => {
        this.catchingUp = null;
      });
    return this.catchingUp;
  }

  /** Looks for work now (after a run was queued here) instead of at the next poll. */
  wake() {
    if (this.stopped) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.polling = this.poll()
      .catch((error: unknown) =>
        this.deps.logger.error(
          { err: { type: (error as Error).name, message: (error as Error).message } },
          'stripe sync worker: poll failed',
        ),
      )
      .finally(() => {
        this.polling = null;
        if (this.stopped) return;
        if (this.pollAgain) {
          this.pollAgain = false;
          this.wake();
        } else {
          this.timer = setTimeout(() => this.wake(), this.deps.config.stripeSync.pollMs);
          this.timer.unref();
        }
      });
  }

  /** Asks a run executing here to stop now (a cancel request made on this replica). */
  stopRun(runId: string) {
    this.executions.get(runId)?.execution.stop('cancel');
  }

  /** Runs executing in this process (ids). */
  get active(): string[] {
    return [...this.executions.keys()];
  }

  /** Graceful: runs in flight are handed back at their next step, to resume elsewhere. */
  async stop() {
    this.stopped = true;
    await this.requests?.return?.();
    this.requests = null;
    if (this.timer) clearTimeout(this.timer);
    if (this.catchUpTimer) clearInterval(this.catchUpTimer);
    this.catchUpTimer = null;
    await this.catchingUp;
    for (const { execution } of this.executions.values()) execution.stop('shutdown');
    await this.polling;
    // A claim that was in flight when stop() began has launched its run since: hand it back too.
    for (const { execution } of this.executions.values()) execution.stop('shutdown');
    await Promise.allSettled([...this.executions.values()].map((entry) => entry.done));
  }

  private async poll() {
    // Runs need the Stripe key, which the keyring must decrypt: none is claimed while it cannot.
    if (this.deps.keyring.problem) return;
    await queueDueSyncs(this.deps);
    if (!this.apiVersionChecked) {
      await queueApiVersionResyncs(this.deps);
      this.apiVersionChecked = true;
    }
    while (!this.stopped && this.executions.size < this.deps.config.stripeSync.concurrency) {
      const run = await this.claimNext();
      if (!run) return;
      void this.launch(run);
    }
  }

  /**
   * Claims one run and executes it here to its end (tests and the benchmark drive a worker so). Null when the run
   * is already held by a live worker.
   */
  async runNow(runId: string): Promise<RunOutcome | null> {
    const run = await this.claimNext(runId);
    if (!run) return null;
    return this.launch(run);
  }

  /** A queued run, or a running one whose worker stopped renewing its lease. */
  private claimNext(runId: string | null = null): Promise<StripeSyncRun | null> {
    return syncRepository.claimRun(this.deps.db.prisma, { workerId: this.id, leaseMs: this.deps.config.stripeSync.leaseMs, runId });
  }

  private launch(run: StripeSyncRun): Promise<RunOutcome> {
    const execution = new SyncRunExecution(this.deps, run, this.id);
    const done = execution
      .execute()
      .catch((error: unknown): RunOutcome => {
        // Even ending the run failed (database gone): the lease expires and another worker resumes it.
        this.deps.logger.error(
          { syncRunId: run.id, err: { type: (error as Error).name, message: (error as Error).message } },
          'stripe sync run could not be ended; its lease will expire',
        );
        return { kind: 'interrupted' };
      })
      .finally(() => {
        this.executions.delete(run.id);
        this.wake(); // the next queued run, or the request that waited for this one to end
      });
    this.executions.set(run.id, { execution, done });
    return done;
  }
}

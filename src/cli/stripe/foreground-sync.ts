import { setTimeout as sleep } from 'node:timers/promises';
import { SYSTEM_ACTOR } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import { CofferError } from '../../errors.js';
import {
  ActiveSyncConflict,
  cancelSync,
  progressTopicId,
  startSync,
  syncBlocker,
  syncProgressTopic,
  syncRunReport,
  type RunOutcome,
  type SyncProgressEvent,
  type SyncRunReport,
} from '../../features/stripe/index.js';
import type { StripeSyncRun } from '../../generated/prisma/client.js';
import type { StripeEnvironment } from '../../generated/prisma/enums.js';
import type { Services } from '../../services.js';
import { CommandFailure } from '../support.js';
import { RunFollower } from './follow.js';
import { progressView, type ProgressView } from './progress-view.js';

/** `stripe sync` exits 0 when the run SUCCEEDED, 1 when it FAILED or was canceled, 2 when it could not start. */
export const EXIT_RUN_NOT_SUCCEEDED = 1;
const EXIT_NOT_STARTED = 2;

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function loadRun(db: Database, id: string): Promise<SyncRunReport> {
  const run = await syncRunReport(db, id);
  if (!run) throw new CommandFailure(`No sync run ${id}.`, 1);
  return run;
}

const noKey = (projectId: string, environment: StripeEnvironment) =>
  new CommandFailure(
    `Project ${projectId} has no ${environment.toLowerCase()} Stripe secret key: ` +
      'configure Stripe for this environment first (configureStripe).',
    EXIT_NOT_STARTED,
  );

async function describeConflict(db: Database, projectId: string, environment: StripeEnvironment, activeRunId: string) {
  const active = await syncRunReport(db, activeRunId);
  const what = active ? ` (${active.status}, trigger ${active.trigger}, created ${active.createdAt.toISOString()})` : '';
  return new CommandFailure(
    `A sync is already active for project ${projectId} (${environment.toLowerCase()}): run ${activeRunId}${what}. ` +
      `Wait for it (coffer stripe sync-status --run ${activeRunId} --follow) ` +
      `or cancel it (coffer stripe sync-cancel --run ${activeRunId}).`,
    EXIT_NOT_STARTED,
  );
}

/**
 * `stripe sync`: queues a run (trigger CLI) and executes it in this process with the worker's
 * `runNow`, showing its progress events as they are published. Ctrl-C (or SIGTERM) cancels the
 * run and waits for it to end; a second Ctrl-C quits at once (the run's lease then lapses and
 * whoever claims it next sees the cancel request).
 */
export async function foregroundSync(
  services: Services,
  { projectId, environment, objects }: { projectId: string; environment: StripeEnvironment; objects?: string[] },
): Promise<SyncRunReport> {
  const blocker = await syncBlocker(services.db, projectId, environment);
  if (blocker === 'no-project') throw new CommandFailure(`No project ${projectId}.`, EXIT_NOT_STARTED);
  if (blocker === 'no-secret-key') throw noKey(projectId, environment);
  const acting = { db: services.db, events: services.events, actor: SYSTEM_ACTOR };

  // Listening before the run exists: none of its events is missed.
  const live = syncProgressTopic.subscribe(services.events, progressTopicId(projectId, environment))[Symbol.asyncIterator]();
  const early: SyncProgressEvent[] = [];
  const sink: { follower: RunFollower | null } = { follower: null };
  const pump = (async () => {
    for (;;) {
      const next = await live.next();
      if (next.done) return;
      const value = next.value;
      if (sink.follower) await sink.follower.arrived(value);
      else early.push(value);
    }
  })();

  // Signals are handled from before the run exists: one arriving while it is being created
  // cancels it as soon as it has an id.
  const state: { run: StripeSyncRun | null; view: ProgressView | null; signaled: boolean; canceling: Promise<void> | null } = {
    run: null,
    view: null,
    signaled: false,
    canceling: null,
  };
  const say = (message: string) => {
    if (state.view) state.view.note(message);
    else process.stderr.write(`${message}\n`);
  };
  const cancel = (run: StripeSyncRun) => {
    state.canceling = (async () => {
      await cancelSync({ ...acting, now: new Date() }, run.id);
      services.syncWorker.stopRun(run.id);
    })().catch((error: unknown) => say(`could not cancel: ${messageOf(error)}`));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (state.signaled) {
      state.view?.stop();
      process.stderr.write(
        `${signal} again: quitting without waiting${state.run ? `; run ${state.run.id} stops when its lease lapses` : ''}.\n`,
      );
      process.exit(130);
    }
    state.signaled = true;
    say(`${signal}: canceling after the page in flight (again to quit at once)`);
    if (state.run) cancel(state.run);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    let run: StripeSyncRun;
    try {
      run = await startSync({ ...acting, now: new Date() }, { projectId, environment, objects, trigger: 'CLI' }, { wake: false });
    } catch (error) {
      if (error instanceof ActiveSyncConflict) throw await describeConflict(services.db, projectId, environment, error.activeRunId);
      if (error instanceof CofferError && error.code === 'BAD_USER_INPUT') throw noKey(projectId, environment);
      throw error;
    }
    state.run = run;
    if (state.signaled) cancel(run);

    const view = progressView(await loadRun(services.db, run.id));
    state.view = view;
    const runFollower = new RunFollower(services, run.id, view);
    sink.follower = runFollower;
    for (const event of early.splice(0)) await runFollower.arrived(event);

    let outcome: RunOutcome | null = await services.syncWorker.runNow(run.id);
    while (outcome?.kind === 'interrupted') {
      // An unexpected error (a database hiccup) handed the run back: it resumes after its last
      // stored page. The runner fails it after a bounded number of attempts.
      view.note('interrupted by an unexpected error; resuming from the last stored page in 1 s');
      await sleep(1000);
      outcome = await services.syncWorker.runNow(run.id);
    }
    if (outcome === null || outcome.kind === 'lease-lost') {
      // Claimed by a server's worker first (a shared Postgres), or canceled before it started.
      const current = await loadRun(services.db, run.id);
      if (current.activeSlot !== null) view.note('another Coffer worker holds this run; following its progress');
      await runFollower.untilEnded();
    }
    await state.canceling;
    await runFollower.drain();
    view.stop();
    return await loadRun(services.db, run.id);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    state.view?.stop();
    await state.canceling;
    await live.return?.();
    await pump;
  }
}

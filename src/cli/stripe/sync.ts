import { CofferClientError, type CofferClient, type StripeSyncRun } from '../../client/index.js';
import { CancelStripeSyncDocument, StartStripeSyncDocument, StripeSyncRunDocument } from '../../client/documents.js';
import type { StripeEnvironment, StripeSyncObject } from '../../generated/graphql/graphql.js';
import { CommandFailure, describeFailure, EXIT_FAILURE, EXIT_USAGE } from '../support.js';
import { ProgressFollower } from './follow.js';
import { progressView, type ProgressView } from './progress-view.js';

/** `stripe sync` exits 0 when the run SUCCEEDED, 1 when it FAILED or was canceled, 2 when it could not start. */
const EXIT_NOT_STARTED = EXIT_USAGE;

export async function loadRun(client: CofferClient, id: string): Promise<StripeSyncRun> {
  return (await client.request(StripeSyncRunDocument, { id })).stripeSyncRun;
}

export const endedBadly = (run: StripeSyncRun) =>
  new CommandFailure(`Sync run ${run.id} ${run.status}${run.error ? `: ${run.error}` : ''}`, EXIT_FAILURE);

/** Why startStripeSync refused, for the operator, with what to do next; exit 2 whatever it was. */
async function notStarted(client: CofferClient, error: unknown, projectId: string, environment: StripeEnvironment) {
  if (!(error instanceof CofferClientError)) return error;
  const where = `project ${projectId} (${environment.toLowerCase()})`;
  const activeRunId = error.extensions.activeRunId;
  if (error.code === 'CONFLICT' && typeof activeRunId === 'string') {
    const active = await loadRun(client, activeRunId).catch(() => null);
    const what = active ? ` (${active.status}, trigger ${active.trigger}, created ${active.createdAt})` : '';
    return new CommandFailure(
      `A sync is already active for ${where}: run ${activeRunId}${what}. ` +
        `Wait for it (coffer stripe sync-status --run ${activeRunId} --follow) ` +
        `or cancel it (coffer stripe sync-cancel --run ${activeRunId}).`,
      EXIT_NOT_STARTED,
    );
  }
  if (error.code === 'BAD_USER_INPUT' && error.fields.some((field) => field.field === 'environment')) {
    return new CommandFailure(
      `Project ${projectId} has no ${environment.toLowerCase()} Stripe secret key: configure Stripe for this environment first ` +
        `(coffer stripe configure --project ${projectId} --environment ${environment.toLowerCase()}).`,
      EXIT_NOT_STARTED,
    );
  }
  return new CommandFailure(describeFailure(error), EXIT_NOT_STARTED);
}

/** Losing the server while following does not stop the run: say where to pick it up. */
const lostWhileFollowing = (error: unknown, runId: string) =>
  error instanceof CofferClientError
    ? new CommandFailure(
        `${describeFailure(error)}; run ${runId} goes on on the server (coffer stripe sync-status --run ${runId} --follow).`,
        EXIT_FAILURE,
      )
    : error;

/** Shows a run's progress until it ends (on a follower of its own unless given one); returns it as it ended. */
export async function followRun(
  client: CofferClient,
  run: StripeSyncRun,
  { follower, view = progressView(run) }: { follower?: ProgressFollower; view?: ProgressView } = {},
): Promise<StripeSyncRun> {
  const own = follower ?? new ProgressFollower(client, run.projectId, run.environment);
  try {
    await own.follow(run.id, view);
    view.stop();
    return await loadRun(client, run.id);
  } catch (error) {
    throw lostWhileFollowing(error, run.id);
  } finally {
    view.stop();
    if (!follower) own.close();
  }
}

/**
 * `stripe sync`: starts a run through the API (`startStripeSync`; a server's worker executes it)
 * and follows its progress (`stripeSyncProgress`, subscribed before the start). Ctrl-C (or
 * SIGTERM) asks the server to cancel the run and waits for it to end; a second one quits at once
 * (the run is canceled all the same when the first request got through).
 */
export async function syncThroughApi(
  client: CofferClient,
  { projectId, environment, objects }: { projectId: string; environment: StripeEnvironment; objects?: string[] },
): Promise<StripeSyncRun> {
  const follower = new ProgressFollower(client, projectId, environment);
  // Signals are handled from before the run exists: one arriving while it is being created
  // cancels it as soon as it has an id.
  const state: { runId: string | null; view: ProgressView | null; signaled: boolean; canceling: Promise<void> | null } = {
    runId: null,
    view: null,
    signaled: false,
    canceling: null,
  };
  const say = (message: string) => {
    if (state.view) state.view.note(message);
    else process.stderr.write(`${message}\n`);
  };
  const cancel = (runId: string) => {
    state.canceling = client
      .request(CancelStripeSyncDocument, { runId })
      .then(() => undefined)
      .catch((error: unknown) => say(`could not cancel: ${describeFailure(error)}`));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (state.signaled) {
      state.view?.stop();
      const left = state.runId ? `; run ${state.runId} stops on the server once its cancel is seen` : '';
      process.stderr.write(`${signal} again: quitting without waiting${left}.\n`);
      process.exit(130);
    }
    state.signaled = true;
    say(`${signal}: canceling after the page in flight (again to quit at once)`);
    if (state.runId) cancel(state.runId);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    let run: StripeSyncRun | null;
    try {
      const variables = { projectId, environment, objects: objects?.map((type) => type.toUpperCase() as StripeSyncObject) ?? null };
      run = (await client.request(StartStripeSyncDocument, variables)).startStripeSync;
    } catch (error) {
      throw await notStarted(client, error, projectId, environment);
    }
    if (!run) throw new CommandFailure('The server started no sync run.', EXIT_NOT_STARTED);
    state.runId = run.id;
    if (state.signaled) cancel(run.id);

    state.view = progressView(run);
    return await followRun(client, run, { follower, view: state.view });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    state.view?.stop();
    await state.canceling;
    follower.close();
  }
}

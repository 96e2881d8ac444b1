import { InvalidArgumentError, type Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { SYSTEM_ACTOR } from '../auth/index.js';
import { recordAudit } from '../features/audit/index.js';
import { isSyncObjectType, SYNC_OBJECT_TYPES } from '../features/stripe-sync/object-types.js';
import { progressTopicId, storedEvents, syncProgressTopic, type SyncProgressEvent } from '../features/stripe-sync/progress.js';
import { ActiveSyncConflict, activeRunOf, cancelSyncRun, createSyncRun } from '../features/stripe-sync/sync-runs.service.js';
import type { RunOutcome } from '../features/stripe-sync/sync-runner.js';
import type { StripeSyncObjectState, StripeSyncRun } from '../generated/prisma/client.js';
import type { StripeEnvironment } from '../generated/prisma/enums.js';
import { CofferError } from '../errors.js';
import { isUuid } from '../db/ids.js';
import type { Services } from '../services.js';
import { CommandFailure, print, withServices } from './support.js';

/**
 * `coffer stripe ...`: a sync in the foreground with a progress bar, a run's status, a cancel.
 * The run is the same as one started over GraphQL (same table, events, audit records).
 */
/** `stripe sync` exits 0 when the run SUCCEEDED, 1 when it FAILED or was canceled, 2 when it could not start. */
const EXIT_RUN_NOT_SUCCEEDED = 1;
const EXIT_NOT_STARTED = 2;

const parseEnvironment = (value: string): StripeEnvironment => {
  const environment = value.trim().toUpperCase();
  if (environment !== 'TEST' && environment !== 'LIVE') throw new InvalidArgumentError('must be test or live');
  return environment;
};

const parseId = (what: string) => (value: string) => {
  if (!isUuid(value.trim())) throw new InvalidArgumentError(`must be a ${what} id (a UUID)`);
  return value.trim().toLowerCase();
};

const parseObjects = (value: string): string[] => {
  const objects = value.split(',').map((entry) => entry.trim().toLowerCase().replace(/-/g, '_')).filter(Boolean);
  const unknown = objects.filter((entry) => !isSyncObjectType(entry));
  if (objects.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(`${unknown.length > 0 ? `unknown: ${unknown.join(', ')}; ` : ''}choose among ${SYNC_OBJECT_TYPES.join(', ')}`);
  }
  return objects;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pages = (count: number) => `${count} page${count === 1 ? '' : 's'}`;
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

type RunWithObjects = StripeSyncRun & { objectTypes: StripeSyncObjectState[] };

async function loadRun(services: Services, id: string): Promise<RunWithObjects> {
  const run = await services.db.prisma.stripeSyncRun.findUnique({ where: { id }, include: { objectTypes: { orderBy: { position: 'asc' } } } });
  if (!run) throw new CommandFailure(`No sync run ${id}.`, 1);
  return run;
}

/** What `--json` prints: the run and, per object type, what it synced (never a credential). */
function runReport(run: RunWithObjects) {
  const sum = (field: 'objects' | 'pages' | 'retries') => run.objectTypes.reduce((total, state) => total + state[field], 0);
  return {
    id: run.id,
    projectId: run.projectId,
    environment: run.environment,
    accountId: run.accountId,
    trigger: run.trigger,
    status: run.status,
    attempts: run.attempts,
    error: run.error,
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    cancelRequestedAt: run.cancelRequestedAt,
    durationMs: run.startedAt ? (run.finishedAt ?? new Date()).getTime() - run.startedAt.getTime() : null,
    objects: sum('objects'),
    pages: sum('pages'),
    retries: sum('retries'),
    objectTypes: run.objectTypes.map(({ objectType, status, objects, pages, retries, error }) => ({ objectType, status, objects, pages, retries, error })),
  };
}

/** The run as a table on stdout: one row per object type, then the totals. */
function printRunTable(run: RunWithObjects) {
  const report = runReport(run);
  const seconds = report.durationMs === null ? null : report.durationMs / 1000;
  const rate = seconds && seconds > 0 ? `, ${Math.round(report.objects / seconds)} objects/s` : '';
  const lines = [
    `Stripe sync ${run.id}: ${run.status}`,
    `  project ${run.projectId}, ${run.environment.toLowerCase()}, account ${run.accountId ?? 'unknown'}, trigger ${run.trigger}, attempt ${run.attempts}${seconds === null ? '' : `, ${seconds.toFixed(1)} s${rate}`}`,
  ];
  if (run.error) lines.push(`  error: ${run.error}`);
  const rows = [
    ['OBJECT TYPE', 'STATUS', 'OBJECTS', 'PAGES', 'RETRIES', 'ERROR'],
    ...report.objectTypes.map((entry) => [entry.objectType, entry.status, String(entry.objects), String(entry.pages), String(entry.retries), entry.error ?? '']),
    ['total', '', String(report.objects), String(report.pages), String(report.retries), ''],
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const numeric = new Set([2, 3, 4]);
  lines.push('', ...rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : numeric.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ').trimEnd()));
  process.stdout.write(`${lines.join('\n')}\n`);
}

interface ProgressView {
  event(event: SyncProgressEvent): void;
  /** A line of the command's own (cancel requested, following another worker...). */
  note(message: string): void;
  stop(): void;
}

/**
 * Progress on stderr: a redrawn bar on a terminal (object types done, the current one's pages and
 * objects, the run's objects and retries), plain timestamped lines otherwise (CI, logs, tests).
 * Stripe lists carry no counts, so the bar counts object types, not objects.
 */
function progressView(run: RunWithObjects, stream: NodeJS.WriteStream = process.stderr): ProgressView {
  const startedAt = Date.now();
  let done = run.objectTypes.filter((state) => !['PENDING', 'RUNNING'].includes(state.status)).length;
  let runObjects = run.objectTypes.reduce((total, state) => total + state.objects, 0);
  let retries = run.objectTypes.reduce((total, state) => total + state.retries, 0);
  let current = run.status === 'QUEUED' ? 'starting' : 'running';
  let note = '';
  const apply = (event: SyncProgressEvent) => {
    runObjects = Math.max(runObjects, event.runObjects);
    if (event.kind === 'RETRY') retries += 1;
    if (event.kind === 'OBJECT_COMPLETED' || event.kind === 'OBJECT_FAILED') done += 1;
    if (event.objectType) current = `${event.objectType} ${event.objects} objects, ${pages(event.pages)}${event.kind === 'OBJECT_FAILED' ? ' FAILED' : ''}`;
    if (event.kind === 'RUN_FINISHED') current = event.runStatus;
  };

  if (stream.isTTY) {
    const bar = new SingleBar(
      { format: 'syncing {bar} {value}/{total} object types | {current} | {runObjects} objects, {retries} retries{note}', stream, hideCursor: true, clearOnComplete: false },
      Presets.shades_classic,
    );
    const payload = () => ({ current, runObjects, retries, note });
    bar.start(run.objectTypes.length, done, payload());
    let stopped = false;
    return {
      event(event) {
        apply(event);
        bar.update(done, payload());
      },
      note(message) {
        note = ` | ${message}`;
        bar.update(done, payload());
      },
      stop() {
        if (!stopped) bar.stop();
        stopped = true;
      },
    };
  }

  const line = (text: string) => stream.write(`[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)} s] ${text}\n`);
  let lastPageLine = 0;
  return {
    event(event) {
      apply(event);
      const type = event.objectType ?? '';
      switch (event.kind) {
        case 'PAGE':
          // One line a second at most: a large account has thousands of pages.
          if (Date.now() - lastPageLine < 1000) return;
          lastPageLine = Date.now();
          line(`${type}: ${event.objects} objects, ${pages(event.pages)} so far (run: ${runObjects} objects, ${done}/${run.objectTypes.length} object types done)`);
          return;
        case 'OBJECT_STARTED':
          line(`${type}: started`);
          return;
        case 'RETRY':
          line(`${type}: ${event.message ?? 'retrying'}`);
          return;
        case 'OBJECT_COMPLETED':
          line(`${type}: done, ${event.objects} objects in ${pages(event.pages)}`);
          return;
        case 'OBJECT_FAILED':
          line(`${type}: FAILED after ${event.objects} objects: ${event.message ?? 'unknown error'}`);
          return;
        case 'RUN_FINISHED':
          line(`run ${event.runId} ${event.runStatus}: ${event.message ?? ''}`);
          return;
        default:
          line(`run ${event.runId}: ${event.message ?? event.kind.toLowerCase()}`);
      }
    },
    note: line,
    stop: () => undefined,
  };
}

/** Feeds a run's events to a view once each, in order, from the event bus and from the database. */
class RunFollower {
  private lastSequence = 0;

  constructor(
    private readonly runId: string,
    private readonly view: ProgressView,
  ) {}

  feed(event: SyncProgressEvent) {
    if (event.runId !== this.runId || event.sequence <= this.lastSequence) return;
    this.lastSequence = event.sequence;
    this.view.event(event);
  }

  /** Everything stored since the last event shown. */
  async drain(services: Services) {
    for (;;) {
      const events = await storedEvents(services.db.prisma, this.runId, this.lastSequence);
      for (const event of events) this.feed(event);
      if (events.length < 1000) return;
    }
  }

  /** Polls the database until the run has ended (it is executed elsewhere: another process or replica). */
  async untilEnded(services: Services, pollMs = 500) {
    for (;;) {
      await this.drain(services);
      const run = await services.db.prisma.stripeSyncRun.findUnique({ where: { id: this.runId }, select: { activeSlot: true } });
      if (!run || run.activeSlot === null) return this.drain(services);
      await sleep(pollMs);
    }
  }
}

/** Refuses, with exit code 2, what cannot start: an unknown project, or no secret key for the environment. */
async function assertSyncable(services: Services, projectId: string, environment: StripeEnvironment) {
  const project = await services.db.prisma.project.findUnique({ where: { id: projectId }, select: { id: true } });
  if (!project) throw new CommandFailure(`No project ${projectId}.`, EXIT_NOT_STARTED);
  const state = await services.db.prisma.stripeEnvironmentState.findUnique({
    where: { projectId_environment: { projectId, environment } },
    include: { credentials: { where: { kind: 'SECRET_KEY' }, select: { kind: true } } },
  });
  if (!state || state.credentials.length === 0) throw noKey(projectId, environment);
}

const noKey = (projectId: string, environment: StripeEnvironment) =>
  new CommandFailure(`Project ${projectId} has no ${environment.toLowerCase()} Stripe secret key: configure Stripe for this environment first (configureStripe).`, EXIT_NOT_STARTED);

async function describeConflict(services: Services, projectId: string, environment: StripeEnvironment, activeRunId: string) {
  const active = await services.db.prisma.stripeSyncRun.findUnique({ where: { id: activeRunId } });
  const what = active ? ` (${active.status}, trigger ${active.trigger}, created ${active.createdAt.toISOString()})` : '';
  return new CommandFailure(
    `A sync is already active for project ${projectId} (${environment.toLowerCase()}): run ${activeRunId}${what}. ` +
      `Wait for it (coffer stripe sync-status --run ${activeRunId} --follow) or cancel it (coffer stripe sync-cancel --run ${activeRunId}).`,
    EXIT_NOT_STARTED,
  );
}

/**
 * `stripe sync`: queues a run (trigger CLI) and executes it in this process with the worker's
 * `runNow`, showing its progress events as they are published. Ctrl-C (or SIGTERM) cancels the
 * run and waits for it to end; a second Ctrl-C quits at once (the run's lease then lapses and
 * whoever claims it next sees the cancel request).
 */
async function foregroundSync(services: Services, { projectId, environment, objects }: { projectId: string; environment: StripeEnvironment; objects?: string[] }): Promise<RunWithObjects> {
  const { prisma } = services.db;
  await assertSyncable(services, projectId, environment);

  // Listening before the run exists: none of its events is missed.
  const live = syncProgressTopic.subscribe(services.events, progressTopicId(projectId, environment))[Symbol.asyncIterator]();
  const early: SyncProgressEvent[] = [];
  const sink: { follower: RunFollower | null } = { follower: null };
  const pump = (async () => {
    for (;;) {
      const { value, done } = await live.next();
      if (done) return;
      if (sink.follower) sink.follower.feed(value);
      else early.push(value);
    }
  })();

  // Signals are handled from before the run exists: one arriving while it is being created
  // cancels it as soon as it has an id.
  const state: { run: StripeSyncRun | null; view: ProgressView | null; signaled: boolean; canceling: Promise<void> | null } = { run: null, view: null, signaled: false, canceling: null };
  const say = (message: string) => {
    if (state.view) state.view.note(message);
    else process.stderr.write(`${message}\n`);
  };
  const cancel = (run: StripeSyncRun) => {
    state.canceling = (async () => {
      const canceled = await cancelSyncRun(services, run.id, new Date());
      services.syncWorker.stopRun(run.id);
      await recordAudit(prisma, SYSTEM_ACTOR, { action: 'stripe.sync.cancel', outcome: 'SUCCESS', targetType: 'stripe-sync-run', targetId: canceled.id, targetName: canceled.environment });
    })().catch((error: unknown) => say(`could not cancel: ${messageOf(error)}`));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (state.signaled) {
      state.view?.stop();
      process.stderr.write(`${signal} again: quitting without waiting${state.run ? `; run ${state.run.id} stops when its lease lapses` : ''}.\n`);
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
      run = await createSyncRun(services, { projectId, environment, objects, trigger: 'CLI', requestedById: null });
    } catch (error) {
      if (error instanceof ActiveSyncConflict) throw await describeConflict(services, projectId, environment, error.activeRunId);
      if (error instanceof CofferError && error.code === 'BAD_USER_INPUT') throw noKey(projectId, environment);
      throw error;
    }
    state.run = run;
    await recordAudit(prisma, SYSTEM_ACTOR, { action: 'stripe.sync.start', outcome: 'SUCCESS', targetType: 'stripe-sync-run', targetId: run.id, targetName: environment, reason: run.objects.join(', ') });
    if (state.signaled) cancel(run);

    const view = progressView(await loadRun(services, run.id));
    state.view = view;
    const runFollower = new RunFollower(run.id, view);
    sink.follower = runFollower;
    for (const event of early.splice(0)) runFollower.feed(event);

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
      const current = await loadRun(services, run.id);
      if (current.activeSlot !== null) view.note('another Coffer worker holds this run; following its progress');
      await runFollower.untilEnded(services);
    }
    await state.canceling;
    await runFollower.drain(services);
    view.stop();
    return await loadRun(services, run.id);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    state.view?.stop();
    await state.canceling;
    await live.return?.();
    await pump;
  }
}

function printRun(run: RunWithObjects, json: boolean) {
  if (json) print(runReport(run));
  else printRunTable(run);
}

const endedBadly = (run: RunWithObjects) =>
  new CommandFailure(`Sync run ${run.id} ${run.status}${run.error ? `: ${run.error}` : ''}`, EXIT_RUN_NOT_SUCCEEDED);

/** `coffer stripe sync | sync-status | sync-cancel`. */
export function registerStripeCommands(program: Command) {
  const stripe = program.command('stripe').description("a project's Stripe data");
  stripe
    .command('sync')
    .description('sync a project environment from Stripe now, in this process, showing progress; exits 0 when the run SUCCEEDED, 1 when it FAILED or was canceled (Ctrl-C cancels), 2 when it could not start (another run active, no secret key)')
    .requiredOption('--project <id>', 'project id', parseId('project'))
    .requiredOption('--environment <environment>', 'test or live', parseEnvironment)
    .option('--objects <types>', `comma-separated object types, default all: ${SYNC_OBJECT_TYPES.join(',')}`, parseObjects)
    .option('--json', 'print the final report as JSON instead of a table')
    .action(async (options: { project: string; environment: StripeEnvironment; objects?: string[]; json?: boolean }) => {
      await withServices(
        async (services) => {
          const run = await foregroundSync(services, { projectId: options.project, environment: options.environment, objects: options.objects });
          printRun(run, options.json ?? false);
          if (run.status !== 'SUCCEEDED') throw endedBadly(run);
        },
        // Retries and failures are shown as progress; warnings would only interleave with the bar.
        { logLevel: 'error' },
      );
    });
  stripe
    .command('sync-status')
    .description('print a sync run (--run, or the latest of --project [--environment]) with its progress per object type')
    .option('--run <id>', 'sync run id', parseId('sync run'))
    .option('--project <id>', 'project id (its latest run)', parseId('project'))
    .option('--environment <environment>', 'test or live (with --project)', parseEnvironment)
    .option('--follow', 'while the run is active, show its progress until it ends; then exit as `stripe sync` does')
    .option('--json', 'print JSON instead of a table')
    .action(async (options: { run?: string; project?: string; environment?: StripeEnvironment; follow?: boolean; json?: boolean }) => {
      if (!options.run && !options.project) throw new InvalidArgumentError('give --run <id>, or --project <id> [--environment test|live]');
      await withServices(
        async (services) => {
          let runId = options.run;
          if (!runId) {
            const latest = await services.db.prisma.stripeSyncRun.findFirst({
              where: { projectId: options.project, ...(options.environment ? { environment: options.environment } : {}) },
              orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
              select: { id: true },
            });
            if (!latest) throw new CommandFailure(`Project ${options.project} has no sync runs${options.environment ? ` in ${options.environment.toLowerCase()}` : ''}.`, 1);
            runId = latest.id;
          }
          let run = await loadRun(services, runId);
          if (options.follow && run.activeSlot !== null) {
            const view = progressView(run);
            try {
              await new RunFollower(run.id, view).untilEnded(services);
            } finally {
              view.stop();
            }
            run = await loadRun(services, run.id);
          }
          printRun(run, options.json ?? false);
          if (options.follow && run.status !== 'SUCCEEDED') throw endedBadly(run);
        },
        { logLevel: 'error' },
      );
    });
  stripe
    .command('sync-cancel')
    .description('cancel a sync run: at once when it has not started, after the page in flight when it runs (here or on a server)')
    .option('--run <id>', 'sync run id', parseId('sync run'))
    .option('--project <id>', 'project id (its active run; with --environment)', parseId('project'))
    .option('--environment <environment>', 'test or live', parseEnvironment)
    .action(async (options: { run?: string; project?: string; environment?: StripeEnvironment }) => {
      if (!options.run && !(options.project && options.environment)) throw new InvalidArgumentError('give --run <id>, or --project <id> --environment test|live');
      await withServices(async (services) => {
        let runId = options.run;
        if (!runId) {
          const active = await activeRunOf(services.db.prisma, options.project!, options.environment!);
          if (!active) throw new CommandFailure(`No active sync run for project ${options.project} (${options.environment!.toLowerCase()}).`, 1);
          runId = active.id;
        }
        await loadRun(services, runId);
        const run = await cancelSyncRun(services, runId, new Date());
        await recordAudit(services.db.prisma, SYSTEM_ACTOR, { action: 'stripe.sync.cancel', outcome: 'SUCCESS', targetType: 'stripe-sync-run', targetId: run.id, targetName: run.environment });
        print({ id: run.id, status: run.status, cancelRequestedAt: run.cancelRequestedAt, finishedAt: run.finishedAt });
      });
    });
}

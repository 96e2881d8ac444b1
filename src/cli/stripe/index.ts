import { InvalidArgumentError, type Command } from 'commander';
import { ConfigureStripeDocument, StripeConfigDocument } from '../../client/documents.js';
import { connect, globalsOf } from '../connection.js';
import { promptHidden, readStdin, withoutFinalNewline } from '../prompt.js';
import { SYSTEM_ACTOR } from '../../auth/index.js';
import { activeSyncRun, cancelSync, latestSyncRunId, SYNC_OBJECT_TYPES, type SyncRunReport } from '../../features/stripe/index.js';
import type { StripeEnvironment } from '../../generated/prisma/enums.js';
import { CommandFailure, print, withServices } from '../support.js';
import { parseEnvironment, parseId, parseObjects } from './arguments.js';
import { RunFollower } from './follow.js';
import { EXIT_RUN_NOT_SUCCEEDED, foregroundSync, loadRun } from './foreground-sync.js';
import { progressView } from './progress-view.js';
import { printRun } from './run-report.js';

/**
 * `coffer stripe ...`: a sync in the foreground with a progress bar, a run's status, a cancel.
 * The run is the same as one started over GraphQL (same table, events, audit records).
 */

const endedBadly = (run: SyncRunReport) =>
  new CommandFailure(`Sync run ${run.id} ${run.status}${run.error ? `: ${run.error}` : ''}`, EXIT_RUN_NOT_SUCCEEDED);

/** `coffer stripe sync | sync-status | sync-cancel`. */
export function registerStripeCommands(program: Command) {
  const stripe = program.command('stripe').description("a project's Stripe data");
  stripe
    .command('configure')
    .description(
      "save a project environment's Stripe secret key through the API (format and live checks on the server); " +
        'the key from stdin when piped, else a prompt without echo',
    )
    .requiredOption('--project <id>', 'project id', parseId('project'))
    .requiredOption('--environment <environment>', 'test or live', parseEnvironment)
    .option('--publishable-key <key>', 'the publishable key (pk_...) to store with it')
    .action(async (options: { project: string; environment: StripeEnvironment; publishableKey?: string }, command: Command) => {
      const client = await connect(command);
      const secretKey = process.stdin.isTTY ? await promptHidden('Stripe secret key: ') : withoutFinalNewline(await readStdin()).trim();
      if (!secretKey) throw new CommandFailure('No secret key given.', 2);
      const prefix = options.environment === 'LIVE' ? 'live' : 'test';
      const input = {
        [`${prefix}SecretKey`]: secretKey,
        ...(options.publishableKey ? { [`${prefix}PublishableKey`]: options.publishableKey } : {}),
      };
      const { configureStripe } = await client.request(ConfigureStripeDocument, { projectId: options.project, input });
      if (globalsOf(command).json) print(configureStripe);
      else {
        const masked = options.environment === 'LIVE' ? configureStripe?.config?.liveSecretKey : configureStripe?.config?.testSecretKey;
        process.stderr.write(`Stripe ${prefix} configured for project ${options.project} (${masked ?? 'saved'}).\n`);
      }
    });
  stripe
    .command('status')
    .description("a project's Stripe set-up through the API (keys masked)")
    .requiredOption('--project <id>', 'project id', parseId('project'))
    .action(async (options: { project: string }, command: Command) => {
      const { stripeConfig } = await (await connect(command)).request(StripeConfigDocument, { projectId: options.project });
      if (globalsOf(command).json) return void print(stripeConfig);
      if (!stripeConfig) return void process.stdout.write('Stripe is not configured for this project.\n');
      for (const [label, key, at] of [
        ['test', stripeConfig.testSecretKey, stripeConfig.testConfiguredAt],
        ['live', stripeConfig.liveSecretKey, stripeConfig.liveConfiguredAt],
      ] as const) {
        process.stdout.write(`${label}\t${key ?? 'not configured'}${at ? `\tsince ${at}` : ''}\n`);
      }
    });
  stripe
    .command('sync')
    .description(
      'sync a project environment from Stripe now, in this process, showing progress; ' +
        'exits 0 when the run SUCCEEDED, 1 when it FAILED or was canceled (Ctrl-C cancels), ' +
        '2 when it could not start (another run active, no secret key)',
    )
    .requiredOption('--project <id>', 'project id', parseId('project'))
    .requiredOption('--environment <environment>', 'test or live', parseEnvironment)
    .option('--objects <types>', `comma-separated object types, default all: ${SYNC_OBJECT_TYPES.join(',')}`, parseObjects)
    .action(async (options: { project: string; environment: StripeEnvironment; objects?: string[] }, command: Command) => {
      const json = globalsOf(command).json ?? false;
      await withServices(
        async (services) => {
          const request = { projectId: options.project, environment: options.environment, objects: options.objects };
          const run = await foregroundSync(services, request);
          printRun(run, json);
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
    .action(async (options: { run?: string; project?: string; environment?: StripeEnvironment; follow?: boolean }, command: Command) => {
      const json = globalsOf(command).json ?? false;
      if (!options.run && !options.project) throw new InvalidArgumentError('give --run <id>, or --project <id> [--environment test|live]');
      await withServices(
        async (services) => {
          let runId = options.run;
          if (!runId) {
            const latest = await latestSyncRunId(services.db, options.project!, options.environment);
            const where = options.environment ? ` in ${options.environment.toLowerCase()}` : '';
            if (!latest) throw new CommandFailure(`Project ${options.project} has no sync runs${where}.`, 1);
            runId = latest;
          }
          let run = await loadRun(services.db, runId);
          if (options.follow && run.activeSlot !== null) {
            const view = progressView(run);
            try {
              await new RunFollower(services, run.id, view).untilEnded();
            } finally {
              view.stop();
            }
            run = await loadRun(services.db, run.id);
          }
          printRun(run, json);
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
      if (!options.run && !(options.project && options.environment))
        throw new InvalidArgumentError('give --run <id>, or --project <id> --environment test|live');
      await withServices(async (services) => {
        let runId = options.run;
        if (!runId) {
          const active = await activeSyncRun(services.db, options.project!, options.environment!);
          if (!active)
            throw new CommandFailure(`No active sync run for project ${options.project} (${options.environment!.toLowerCase()}).`, 1);
          runId = active.id;
        }
        await loadRun(services.db, runId);
        const run = await cancelSync({ db: services.db, events: services.events, actor: SYSTEM_ACTOR, now: new Date() }, runId);
        print({ id: run.id, status: run.status, cancelRequestedAt: run.cancelRequestedAt, finishedAt: run.finishedAt });
      });
    });
}

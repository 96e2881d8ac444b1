import type { Command } from 'commander';
import type { CofferClient } from '../../client/index.js';
import { CancelStripeSyncDocument, ConfigureStripeDocument, StripeConfigDocument, StripeSyncRunsDocument } from '../../client/documents.js';
import { SYNC_OBJECT_TYPES } from '../../features/stripe/index.js';
import type { StripeEnvironment } from '../../generated/prisma/enums.js';
import { connect, globalsOf } from '../connection.js';
import { promptHidden, readStdin, withoutFinalNewline } from '../prompt.js';
import { CommandFailure, EXIT_USAGE, print } from '../support.js';
import { parseEnvironment, parseId, parseObjects } from './arguments.js';
import { isActiveStatus } from './follow.js';
import { printRun } from './run-report.js';
import { endedBadly, followRun, loadRun, syncThroughApi } from './sync.js';

/**
 * `coffer stripe ...`, all through the API of a running Coffer: configure and status; a sync
 * started on the server with its progress followed here; a run's status; a cancel.
 */

/** The latest run of a project (in one environment, or any), or null. */
async function latestRun(client: CofferClient, projectId: string, environment?: StripeEnvironment) {
  const { stripeSyncRuns } = await client.request(StripeSyncRunsDocument, { projectId, environment: environment ?? null, first: 1 });
  return stripeSyncRuns.nodes[0] ?? null;
}

/**
 * A restricted key's report (null for a full secret key): what it may not read, which the sync
 * skips. One line per object type, lower case as in `--objects`.
 */
export function permissionReport(
  label: string,
  permissions: ReadonlyArray<{ objectType: string; readable: boolean; reason?: string | null }> | null | undefined,
): string {
  if (!permissions) return '';
  const refused = permissions.filter((permission) => !permission.readable);
  if (refused.length === 0) return `${label}\trestricted key: reads every object type\n`;
  return (
    `${label}\trestricted key: may not read ${refused.length} of ${permissions.length} object types (the sync skips them)\n` +
    refused
      .map((permission) => `${label}\t  ${permission.objectType.toLowerCase()}${permission.reason ? `: ${permission.reason}` : ''}\n`)
      .join('')
  );
}

/** `coffer stripe configure | status | sync | sync-status | sync-cancel`. */
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
        const status = options.environment === 'LIVE' ? configureStripe?.config?.live : configureStripe?.config?.test;
        process.stderr.write(permissionReport(prefix, status?.keyPermissions));
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
      process.stdout.write(permissionReport('test', stripeConfig.test?.keyPermissions));
      process.stdout.write(permissionReport('live', stripeConfig.live?.keyPermissions));
    });
  stripe
    .command('sync')
    .description(
      "sync a project environment from Stripe now: the server's worker runs it (startStripeSync), its progress is shown here; " +
        'exits 0 when the run SUCCEEDED, 1 when it FAILED or was canceled (Ctrl-C cancels it), ' +
        '2 when it could not start (another run active, no secret key)',
    )
    .requiredOption('--project <id>', 'project id', parseId('project'))
    .requiredOption('--environment <environment>', 'test or live', parseEnvironment)
    .option('--objects <types>', `comma-separated object types, default all: ${SYNC_OBJECT_TYPES.join(',')}`, parseObjects)
    .action(async (options: { project: string; environment: StripeEnvironment; objects?: string[] }, command: Command) => {
      const client = await connect(command);
      try {
        const run = await syncThroughApi(client, {
          projectId: options.project,
          environment: options.environment,
          objects: options.objects,
        });
        printRun(run, globalsOf(command).json ?? false);
        if (run.status !== 'SUCCEEDED') throw endedBadly(run);
      } finally {
        await client.close();
      }
    });
  stripe
    .command('sync-status')
    .description('print a sync run (--run, or the latest of --project [--environment]) with its progress per object type')
    .option('--run <id>', 'sync run id', parseId('sync run'))
    .option('--project <id>', 'project id (its latest run)', parseId('project'))
    .option('--environment <environment>', 'test or live (with --project)', parseEnvironment)
    .option('--follow', 'while the run is active, show its progress until it ends; then exit as `stripe sync` does')
    .action(async (options: { run?: string; project?: string; environment?: StripeEnvironment; follow?: boolean }, command: Command) => {
      if (!options.run && !options.project)
        throw new CommandFailure('Give --run <id>, or --project <id> [--environment test|live].', EXIT_USAGE);
      const client = await connect(command);
      try {
        let run = options.run ? await loadRun(client, options.run) : await latestRun(client, options.project!, options.environment);
        if (!run) {
          const where = options.environment ? ` in ${options.environment.toLowerCase()}` : '';
          throw new CommandFailure(`Project ${options.project} has no sync runs${where}.`, 1);
        }
        if (options.follow && isActiveStatus(run.status)) run = await followRun(client, run);
        printRun(run, globalsOf(command).json ?? false);
        if (options.follow && run.status !== 'SUCCEEDED') throw endedBadly(run);
      } finally {
        await client.close();
      }
    });
  stripe
    .command('sync-cancel')
    .description('cancel a sync run: at once when it has not started, after the page in flight when it runs')
    .option('--run <id>', 'sync run id', parseId('sync run'))
    .option('--project <id>', 'project id (its active run; with --environment)', parseId('project'))
    .option('--environment <environment>', 'test or live', parseEnvironment)
    .action(async (options: { run?: string; project?: string; environment?: StripeEnvironment }, command: Command) => {
      if (!options.run && !(options.project && options.environment))
        throw new CommandFailure('Give --run <id>, or --project <id> --environment test|live.', EXIT_USAGE);
      const client = await connect(command);
      let runId = options.run;
      if (!runId) {
        // One active run at most per project environment, and no newer one while it is active: the latest.
        const latest = await latestRun(client, options.project!, options.environment);
        if (!latest || !isActiveStatus(latest.status))
          throw new CommandFailure(`No active sync run for project ${options.project} (${options.environment!.toLowerCase()}).`, 1);
        runId = latest.id;
      }
      const { cancelStripeSync: run } = await client.request(CancelStripeSyncDocument, { runId });
      if (!run) throw new CommandFailure(`No sync run ${runId}.`, 1);
      const answer = { id: run.id, status: run.status, cancelRequestedAt: run.cancelRequestedAt, finishedAt: run.finishedAt };
      if (globalsOf(command).json) return void print(answer);
      const state = run.finishedAt
        ? `${run.status}${run.cancelRequestedAt ? '' : ' (it had ended already)'}`
        : 'cancel requested; it stops after the page in flight';
      process.stdout.write(`Sync run ${run.id}: ${state}\n`);
    });
}

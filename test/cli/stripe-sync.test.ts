import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OBJECT_TYPES, SYNC_OBJECT_TYPES } from '../../src/features/stripe/mirror/object-types.js';
import { CONFIG_VARIABLES } from '../../src/config.js';
import { startFakeStripe, type CollectionName, type FakeStripe } from '../support/fake-stripe.js';
import {
  CLI_ENTRY,
  cleanUpProcesses,
  graphqlAt,
  operatorChosenKey,
  REPO_ROOT,
  startCoffer,
  tempDir,
  type CofferProcess,
} from '../support/processes.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js';

/**
 * `coffer stripe sync | sync-status | sync-cancel` as an operator runs them: the package bin in a
 * child process against a real, running Coffer (dist/server.js) whose worker executes the runs
 * against the fake Stripe (STRIPE_API_BASE). Everything goes through the API, beside the server:
 * the server keeps its embedded database (or, with TEST_DATABASE_URL, a scratch PostgreSQL one).
 * One server for the file; the projects are configured with the CLI itself.
 */

const ALL_COLLECTIONS: CollectionName[] = [...SYNC_OBJECT_TYPES];
const COUNTS: Record<CollectionName, number> = {
  products: 40,
  prices: 60,
  customers: 230,
  subscriptions: 30,
  invoices: 75,
  payment_intents: 20,
  charges: 21,
  refunds: 5,
  checkout_sessions: 11,
  setup_intents: 2,
  payment_methods: 6,
  disputes: 1,
  credit_notes: 1,
  coupons: 2,
  promotion_codes: 2,
  tax_ids: 1,
  subscription_schedules: 1,
  balance_transactions: 24,
};
const TOTAL = Object.values(COUNTS).reduce((sum, count) => sum + count, 0);
const RUN_ID = '[0-9a-f-]{36}';

/** Anything shaped like a whole Stripe credential (a masked one has `...` after the prefix). */
const FULL_CREDENTIAL = /\b(?:(?:sk|rk|pk)_(?:test|live)_|whsec_)[A-Za-z0-9]{5,}/g;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface RunReport {
  id: string;
  status: string;
  trigger: string;
  error: string | null;
  objects: number;
  cancelRequestedAt: string | null;
  objectTypes: Array<{ objectType: string; status: string; objects: number; retries: number; error: string | null }>;
}

let fake: FakeStripe;
let server: CofferProcess;
let url: string;
let adminKey: string;
let configHome: string;
const postgresUrl = process.env.TEST_DATABASE_URL;
let scratch: ScratchDatabase | null = null;
const outputs: string[] = [];
const stripeKeys: string[] = [];
/** Configured and seeded with COUNTS; its first (CONFIGURE) run has ended. */
let synced: { projectId: string; accountId: string };
/** Configured, a few pages of customers: for runs held in flight. */
let busy: { projectId: string };
/** No Stripe at all. */
let bare: { projectId: string };

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [...CONFIG_VARIABLES, 'NODE_OPTIONS', 'COFFER_URL', 'COFFER_API_KEY', 'COFFER_PROFILE']) delete result[name];
  return Object.assign(result, { XDG_CONFIG_HOME: configHome, COFFER_URL: url, COFFER_API_KEY: adminKey }, env);
}

/** The CLI running in the background: its output so far, a wait for a line, its exit. */
function startCli(args: string[], { env = {}, input }: { env?: Record<string, string>; input?: string } = {}) {
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], { cwd: REPO_ROOT, env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    waiters.forEach((check) => check());
  });
  child.stdin.end(input ?? '');
  const done = new Promise<CliResult>((resolve) =>
    child.once('close', (code) => {
      outputs.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    }),
  );
  return {
    child,
    done,
    stderrShows: (text: string) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!stderr.includes(text)) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        void done.then(() => reject(new Error(`exited before "${text}" on stderr:\n${stderr}`)));
        check();
      }),
  };
}

const cli = (args: string[], options: { env?: Record<string, string>; input?: string } = {}) => startCli(args, options).done;

function seededAccount(name: string, counts: Partial<Record<CollectionName, number>>) {
  const account = fake.addAccount({ name });
  for (const collection of ALL_COLLECTIONS) fake.seed(account.id, 'test', collection, counts[collection] ?? 0);
  const key = fake.addKey(account.id, { mode: 'test' });
  stripeKeys.push(key);
  return { accountId: account.id, key };
}

async function createProject(name: string): Promise<string> {
  const created = await cli(['project', 'create', '--name', name, '--json']);
  expect(created.code, created.stderr).toBe(0);
  return (JSON.parse(created.stdout) as { id: string }).id;
}

/** `stripe configure`, then waits (sync-status --follow) for the first sync it queues to end. */
async function configure(projectId: string, key: string) {
  const configured = await cli(['stripe', 'configure', '--project', projectId, '--environment', 'test'], { input: key });
  expect(configured.code, configured.stderr).toBe(0);
  const first = await cli(['stripe', 'sync-status', '--project', projectId, '--environment', 'test', '--follow', '--json']);
  expect(first.code, first.stderr).toBe(0);
  expect(JSON.parse(first.stdout)).toMatchObject({ status: 'SUCCEEDED', trigger: 'CONFIGURE' });
}

const syncArgs = (projectId: string, ...more: string[]) => ['stripe', 'sync', '--project', projectId, '--environment', 'test', ...more];

beforeAll(async () => {
  fake = await startFakeStripe();
  configHome = await tempDir('coffer-cli-sync-config-');
  adminKey = operatorChosenKey();
  scratch = postgresUrl ? await createScratchDatabase(postgresUrl) : null;
  server = startCoffer({
    DATA_DIR: await tempDir('coffer-cli-sync-data-'),
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    COFFER_ADMIN_API_KEY: adminKey,
    PUBLIC_URL: 'https://coffer.example.com',
    STRIPE_API_BASE: fake.url,
    STRIPE_SYNC_PAGE_SIZE: '50',
    STRIPE_SYNC_MAX_RETRIES: '2',
    STRIPE_SYNC_RETRY_BASE_MS: '5',
    STRIPE_SYNC_RETRY_MAX_MS: '20',
    STRIPE_SYNC_POLL_SECONDS: '0.2',
    ...(scratch ? { DATABASE_URL: scratch.url } : {}),
  });
  url = await server.ready(60_000);

  const first = seededAccount('CLI Sync Books', COUNTS);
  const second = seededAccount('CLI Busy Books', { customers: 120 });
  synced = { projectId: await createProject('cli sync'), accountId: first.accountId };
  busy = { projectId: await createProject('cli busy') };
  bare = { projectId: await createProject('cli bare') };
  await Promise.all([configure(synced.projectId, first.key), configure(busy.projectId, second.key)]);
}, 120_000);

afterAll(async () => {
  await cleanUpProcesses();
  await fake?.close();
  await scratch?.drop();
});

describe('coffer stripe sync through the API', () => {
  it(
    "starts a run on the server, shows its progress as plain lines, prints the table, exits 0; the mirror holds Stripe's objects",
    { timeout: 60_000 },
    async () => {
      const result = await cli(syncArgs(synced.projectId));
      expect(result.code, result.stderr).toBe(0);
      const runId = new RegExp(`^Stripe sync (${RUN_ID}): SUCCEEDED$`, 'm').exec(result.stdout)?.[1];
      expect(runId, result.stdout).toBeDefined();
      // The server's worker ran it: startStripeSync records trigger API.
      expect(result.stdout).toContain(`account ${synced.accountId}, trigger API`);
      for (const collection of ALL_COLLECTIONS) {
        // Payment methods and tax ids are listed by walking the customers, 100 a page.
        const walksCustomers = OBJECT_TYPES[collection].walksCustomers === true;
        const pages = Math.max(1, Math.ceil(walksCustomers ? COUNTS.customers / 100 : COUNTS[collection] / 50));
        expect(result.stdout).toMatch(new RegExp(`^${collection} +SUCCEEDED +${COUNTS[collection]} +${pages} +0$`, 'm'));
        expect(result.stderr).toContain(`${collection}: done, ${COUNTS[collection]} objects in ${pages} page${pages === 1 ? '' : 's'}`);
      }
      expect(result.stdout).toMatch(new RegExp(`^total +${TOTAL} +\\d+ +0$`, 'm'));
      expect(result.stderr).toMatch(new RegExp(`\\] run ${runId} SUCCEEDED: synced \\d+ objects`));
      // Each event once: one "started" line per object type.
      expect(result.stderr.match(/\] [a-z_]+: started$/gm)).toHaveLength(ALL_COLLECTIONS.length);
      // Not a terminal: plain lines, no redrawn bar.
      expect(result.stderr).not.toContain('\u001b[');
      expect(result.stderr).not.toContain('\r');

      const mirror = await graphqlAt(
        url,
        `query($projectId: ID!) {
          stripeCustomers(projectId: $projectId, environment: TEST) { totalCount }
          stripeInvoices(projectId: $projectId, environment: TEST) { totalCount }
          stripeSyncRun(id: "${runId}") { status trigger }
        }`,
        { key: adminKey, variables: { projectId: synced.projectId } },
      );
      expect(mirror.errors).toBeUndefined();
      expect(mirror.data).toMatchObject({
        stripeCustomers: { totalCount: COUNTS.customers },
        stripeInvoices: { totalCount: COUNTS.invoices },
        stripeSyncRun: { status: 'SUCCEEDED', trigger: 'API' },
      });
    },
  );

  it('syncs only --objects, in Coffer order, and prints the run as JSON with --json', { timeout: 60_000 }, async () => {
    const result = await cli(syncArgs(synced.projectId, '--objects', 'customers,products', '--json'));
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as RunReport;
    expect(report).toMatchObject({ status: 'SUCCEEDED', trigger: 'API', objects: COUNTS.customers + COUNTS.products });
    expect(report.objectTypes.map((entry) => [entry.objectType, entry.status, entry.objects])).toEqual([
      ['products', 'SUCCEEDED', COUNTS.products],
      ['customers', 'SUCCEEDED', COUNTS.customers],
    ]);
  });

  it('exits 1 naming the object type when Stripe keeps failing one collection', { timeout: 60_000 }, async () => {
    // The first page of invoices and both retries (STRIPE_SYNC_MAX_RETRIES=2) get a 500.
    fake.failNext(3, { status: 500, path: /^\/v1\/invoices$/ });
    const result = await cli(syncArgs(synced.projectId, '--json'));
    expect(result.code, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as RunReport;
    expect(report).toMatchObject({ status: 'FAILED', error: `1 of ${ALL_COLLECTIONS.length} object types failed: invoices` });
    expect(report.objectTypes.find((entry) => entry.objectType === 'invoices')).toMatchObject({
      status: 'FAILED',
      retries: 2,
      error: expect.stringContaining('HTTP 500'),
    });
    expect(result.stderr).toContain('invoices: FAILED');
    expect(result.stderr).toMatch(/invoices: .*Retry 1 of 2/);
    expect(result.stderr).toContain(`Sync run ${report.id} FAILED: 1 of ${ALL_COLLECTIONS.length} object types failed: invoices`);
  });

  it(
    'while a run is active: another start exits 2 naming it, sync-status shows it and --follow follows it, ' +
      'sync-cancel cancels it; the run ends CANCELED and sync and --follow exit 1',
    { timeout: 60_000 },
    async () => {
      const hold = fake.holdNext(1, { path: /^\/v1\/customers$/ });
      const sync = startCli(syncArgs(busy.projectId, '--objects', 'customers'));
      try {
        await hold.reached;
        await sync.stderrShows('customers: started');

        const status = await cli(['stripe', 'sync-status', '--project', busy.projectId, '--json']);
        expect(status.code, status.stderr).toBe(0);
        const active = JSON.parse(status.stdout) as RunReport;
        expect(active).toMatchObject({ status: 'RUNNING', trigger: 'API', cancelRequestedAt: null });

        const refused = await cli(syncArgs(busy.projectId));
        expect(refused).toMatchObject({ code: 2, stdout: '' });
        expect(refused.stderr.trim()).toBe(
          `coffer: A sync is already active for project ${busy.projectId} (test): run ${active.id} (RUNNING, trigger API, ` +
            `created ${(JSON.parse(status.stdout) as { createdAt: string }).createdAt}). ` +
            `Wait for it (coffer stripe sync-status --run ${active.id} --follow) or cancel it (coffer stripe sync-cancel --run ${active.id}).`,
        );

        const follow = startCli(['stripe', 'sync-status', '--run', active.id, '--follow']);
        await follow.stderrShows('customers: started');

        const cancel = await cli(['stripe', 'sync-cancel', '--project', busy.projectId, '--environment', 'test', '--json']);
        expect(cancel.code, cancel.stderr).toBe(0);
        expect(JSON.parse(cancel.stdout)).toMatchObject({ id: active.id, status: 'RUNNING', cancelRequestedAt: expect.any(String) });
        hold.release();

        const [synced, followed] = await Promise.all([sync.done, follow.done]);
        for (const result of [synced, followed]) {
          expect(result.code, result.stderr).toBe(1);
          expect(result.stdout).toMatch(new RegExp(`^Stripe sync ${active.id}: CANCELED$`, 'm'));
          expect(result.stdout).toMatch(/^customers +CANCELED /m);
          expect(result.stderr).toContain(`coffer: Sync run ${active.id} CANCELED`);
          expect(result.stderr).toContain('cancel requested');
        }

        const after = await cli(['stripe', 'sync-cancel', '--project', busy.projectId, '--environment', 'test']);
        expect(after.code).toBe(1);
        expect(after.stderr).toContain(`No active sync run for project ${busy.projectId} (test).`);
        const again = await cli(['stripe', 'sync-cancel', '--run', active.id]);
        expect(again, again.stderr).toMatchObject({ code: 0, stdout: `Sync run ${active.id}: CANCELED\n` });
      } finally {
        hold.release();
        sync.child.kill('SIGKILL');
      }
    },
  );

  it('cancels the run on Ctrl-C (SIGINT), waits for it to end, and exits 1', { timeout: 60_000 }, async () => {
    const hold = fake.holdNext(1, { path: /^\/v1\/customers$/ });
    const sync = startCli(syncArgs(busy.projectId, '--objects', 'customers'));
    try {
      await hold.reached;
      await sync.stderrShows('customers: started');
      sync.child.kill('SIGINT');
      await sync.stderrShows('SIGINT: canceling after the page in flight');
      await sync.stderrShows('cancel requested');
      hold.release();
      const result = await sync.done;
      expect(result.code, result.stderr).toBe(1);
      expect(result.stdout).toMatch(new RegExp(`^Stripe sync ${RUN_ID}: CANCELED$`, 'm'));
      expect(result.stderr).toMatch(new RegExp(`coffer: Sync run ${RUN_ID} CANCELED`));

      const status = await cli(['stripe', 'sync-status', '--project', busy.projectId, '--environment', 'test']);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(new RegExp(`^Stripe sync ${RUN_ID}: CANCELED$`, 'm'));
    } finally {
      hold.release();
      sync.child.kill('SIGKILL');
    }
  });

  it('exits 2 when the environment has no secret key, or the project does not exist', { timeout: 60_000 }, async () => {
    const none = await cli(syncArgs(bare.projectId));
    expect(none).toMatchObject({ code: 2, stdout: '' });
    expect(none.stderr).toContain(`Project ${bare.projectId} has no test Stripe secret key: configure Stripe for this environment first`);

    const noLive = await cli(['stripe', 'sync', '--project', synced.projectId, '--environment', 'live']);
    expect(noLive.code).toBe(2);
    expect(noLive.stderr).toContain('has no live Stripe secret key');

    const missing = await cli(syncArgs('00000000-0000-4000-8000-000000000000'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^coffer: (NOT_FOUND|FORBIDDEN): [^\n]*\n$/);

    const noRuns = await cli(['stripe', 'sync-status', '--project', bare.projectId]);
    expect(noRuns.code).toBe(1);
    expect(noRuns.stderr).toContain(`Project ${bare.projectId} has no sync runs.`);
    const unknownRun = await cli(['stripe', 'sync-status', '--run', '00000000-0000-4000-8000-000000000000']);
    expect(unknownRun.code).toBe(1);
    expect(unknownRun.stderr).toMatch(/^coffer: NOT_FOUND: [^\n]*\n$/);
  });

  it('refuses bad arguments with exit 2 before asking the server anything', { timeout: 60_000 }, async () => {
    const cases: Array<[string[], string]> = [
      [['stripe', 'sync', '--project', synced.projectId, '--environment', 'staging'], 'must be test or live'],
      [syncArgs(synced.projectId, '--objects', 'customers,payouts'), 'unknown: payouts'],
      [['stripe', 'sync', '--project', 'not-a-uuid', '--environment', 'test'], 'must be a project id'],
      [['stripe', 'sync', '--environment', 'test'], "required option '--project <id>'"],
      [['stripe', 'sync-status'], 'Give --run <id>, or --project <id>'],
      [['stripe', 'sync-cancel', '--project', synced.projectId], 'Give --run <id>, or --project <id> --environment test|live'],
      [['stripe', 'sync-cancel', '--run', '42'], 'must be a sync run id'],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(args, { env: { COFFER_URL: 'http://127.0.0.1:9/graphql' } })));
    results.forEach((result, index) => {
      expect(result.code, cases[index]![0].join(' ')).toBe(2);
      expect(result.stderr).toContain(cases[index]![1]);
    });
  });

  it('refuses a bad API key on every command in one line, exit 2 (UNAUTHENTICATED), starting nothing', { timeout: 60_000 }, async () => {
    const env = { COFFER_API_KEY: operatorChosenKey() };
    const before = await graphqlAt(url, `{ stripeSyncRuns(projectId: "${synced.projectId}") { totalCount } }`, { key: adminKey });
    const results = await Promise.all([
      cli(syncArgs(synced.projectId), { env }),
      cli(['stripe', 'sync-status', '--project', synced.projectId, '--follow'], { env }),
      cli(['stripe', 'sync-cancel', '--project', synced.projectId, '--environment', 'test'], { env }),
    ]);
    for (const result of results) {
      expect(result.code, result.stderr).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^coffer: UNAUTHENTICATED: [^\n]*\n$/);
    }
    const after = await graphqlAt(url, `{ stripeSyncRuns(projectId: "${synced.projectId}") { totalCount } }`, { key: adminKey });
    expect(after.data).toEqual(before.data);
  });

  it('configure and status show what a restricted key may not read, which the sync skips', async () => {
    const account = fake.addAccount({ name: 'CLI Restricted Books' });
    fake.seed(account.id, 'test', 'customers', 3);
    const key = fake.addKey(account.id, { mode: 'test', kind: 'restricted', permissions: { read: ['customers', 'products'] } });
    stripeKeys.push(key);
    const projectId = await createProject('cli restricted');
    const refused = ALL_COLLECTIONS.length - 2;
    const configured = await cli(['stripe', 'configure', '--project', projectId, '--environment', 'test'], { input: key });
    expect(configured.code, configured.stderr).toBe(0);
    expect(configured.stderr).toContain(
      `test\trestricted key: may not read ${refused} of ${ALL_COLLECTIONS.length} object types (the sync skips them)`,
    );
    expect(configured.stderr).toMatch(/^test\t {2}payment_methods: /m);

    const status = await cli(['stripe', 'status', '--project', projectId]);
    expect(status.code, status.stderr).toBe(0);
    const lines = status.stdout.split('\n').filter((line) => line.startsWith('test\t  '));
    expect(lines.map((line) => line.slice('test\t  '.length).split(':')[0]).sort()).toEqual(
      ALL_COLLECTIONS.filter((type) => type !== 'customers' && type !== 'products').sort(),
    );
    // A full secret key has no report.
    const full = await cli(['stripe', 'status', '--project', synced.projectId]);
    expect(full.stdout).not.toContain('restricted key');
  });

  it('never prints a Stripe key, whole, in any output or in the server log', () => {
    expect(stripeKeys.length).toBeGreaterThan(0);
    const all = [...outputs, server.stdout(), server.stderr()].join('\n');
    expect(stripeKeys.filter((key) => all.includes(key)).map((key) => `${key.slice(0, 8)}...`)).toEqual([]);
    expect((outputs.join('\n').match(FULL_CREDENTIAL) ?? []).map((match) => `${match.slice(0, 12)}...`)).toEqual([]);
  });
});

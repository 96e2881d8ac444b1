import { CLI_ENTRY } from '../support/processes.js';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { openServices, type Services } from '../../src/services.js';
import { ALL_COLLECTIONS, tableOf } from '../stripe/sync/support.js';
import { startFakeStripe, type CollectionName, type FakeStripe } from '../support/fake-stripe.js';

const BIN = CLI_ENTRY;
const TIMEOUT = 90_000;

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

/** Anything shaped like a whole Stripe credential (a masked one has `...` after the prefix). */
const FULL_CREDENTIAL = /\b(?:(?:sk|rk|pk)_(?:test|live)_|whsec_)[A-Za-z0-9]{5,}/g;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `coffer stripe sync` end to end: the package bin in a child process, on an embedded PGlite
 * DATA_DIR, against the fake Stripe (the child gets STRIPE_API_BASE=<fake>).
 *
 * The CLI cannot configure Stripe, so the data is prepared the way an operator would get there:
 * the CLI itself creates the owner and their API key; then, between CLI runs (PGlite allows one
 * process at a time on a DATA_DIR), the test opens the same DATA_DIR in-process with the real
 * services and calls the real GraphQL API as that owner (createProject, configureStripe), closing
 * it before the next CLI run. configureStripe queues the account's first sync (trigger CONFIGURE);
 * no worker runs in between, so that run stays QUEUED: it is cancelled through the API for the
 * project the CLI syncs, and left active for the one that shows the "already active" refusal.
 */
describe('coffer stripe sync', () => {
  let fake: FakeStripe;
  let dataDir: string;
  const outputs: string[] = [];
  const stripeKeys: string[] = [];
  let ownerKey: string;
  /** Configured, seeded, its first (CONFIGURE) run cancelled: free to sync. */
  let synced: { projectId: string; accountId: string };
  /** Configured; its CONFIGURE run still QUEUED. */
  let busy: { projectId: string; queuedRunId: string };
  /** No Stripe at all. */
  let bare: { projectId: string };

  const env = (): NodeJS.ProcessEnv => ({
    ...process.env,
    DATA_DIR: dataDir,
    DATABASE_URL: '',
    REDIS_URL: '',
    COFFER_TOKEN_SECRET: 'cli-test-secret-long-enough-0123456789abc',
    LOG_LEVEL: 'warn',
    STRIPE_API_BASE: fake.url,
    PUBLIC_URL: 'https://coffer.example.com',
    STRIPE_SYNC_PAGE_SIZE: '50',
    STRIPE_SYNC_MAX_RETRIES: '2',
    STRIPE_SYNC_RETRY_BASE_MS: '5',
    STRIPE_SYNC_RETRY_MAX_MS: '20',
  });

  /** Runs the CLI to its end; never throws on a non-zero exit. */
  const coffer = (...args: string[]) =>
    new Promise<CliResult>((resolve) => {
      execFile(process.execPath, [BIN, ...args], { env: env(), timeout: 60_000 }, (error, stdout, stderr) => {
        outputs.push(stdout, stderr);
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      });
    });

  /** The same DATA_DIR opened in-process, with the real app on it, for set-up and checks. */
  async function withApp<T>(
    work: (ctx: {
      services: Services;
      gql: (query: string, variables?: Record<string, unknown>) => Promise<Record<string, unknown>>;
    }) => Promise<T>,
  ): Promise<T> {
    const config = loadConfig(env());
    const services = await openServices(config, createLogger('silent', process.stderr));
    const yoga = createApp(services);
    const gql = async (query: string, variables: Record<string, unknown> = {}) => {
      const response = await yoga.fetch('http://coffer.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', 'x-api-key': ownerKey },
        body: JSON.stringify({ query, variables }),
      });
      const json = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
      if (json.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(json.errors)}`);
      return json.data!;
    };
    try {
      return await work({ services, gql });
    } finally {
      await yoga.dispose();
      await services.close();
    }
  }

  const createProject = async (
    gql: (query: string, variables?: Record<string, unknown>) => Promise<Record<string, unknown>>,
    name: string,
  ) =>
    (
      (await gql('mutation($input: CreateProjectInput!) { createProject(input: $input) { id } }', { input: { name } })) as {
        createProject: { id: string };
      }
    ).createProject.id;

  async function configure(
    gql: (query: string, variables?: Record<string, unknown>) => Promise<Record<string, unknown>>,
    projectId: string,
    key: string,
  ) {
    const data = (await gql(
      'mutation($projectId: ID!, $input: StripeCredentialsInput!) { configureStripe(projectId: $projectId, input: $input) { results { environment syncRunId } } }',
      { projectId, input: { testSecretKey: key } },
    )) as { configureStripe: { results: Array<{ syncRunId: string | null }> } };
    const runId = data.configureStripe.results[0]?.syncRunId;
    if (!runId) throw new Error('configureStripe queued no first sync');
    return runId;
  }

  const seededAccount = (name: string, counts: Partial<Record<CollectionName, number>>) => {
    const account = fake.addAccount({ name });
    for (const collection of ALL_COLLECTIONS) fake.seed(account.id, 'test', collection, counts[collection] ?? 0);
    const key = fake.addKey(account.id, { mode: 'test' });
    stripeKeys.push(key);
    return { accountId: account.id, key };
  };

  const fakeIds = (accountId: string, collection: CollectionName) => {
    const seeded = fake.seed(accountId, 'test', collection, 0);
    return Array.from({ length: seeded.count }, (_, index) => seeded.idAt(index)).sort();
  };

  beforeAll(async () => {
    fake = await startFakeStripe();
    dataDir = await mkdtemp(join(tmpdir(), 'coffer-cli-sync-'));
    // The local way in: the first admin, its key in a 0600 file (the projects below are its own).
    const keyFile = join(dataDir, 'admin.key');
    const bootstrap = await coffer('bootstrap-admin', '--key-file', keyFile);
    expect(bootstrap.code, bootstrap.stderr).toBe(0);
    ownerKey = (await readFile(keyFile, 'utf8')).trim();

    const first = seededAccount('CLI Sync Books', COUNTS);
    const second = seededAccount('CLI Busy Books', { customers: 3 });
    await withApp(async ({ gql }) => {
      const syncedId = await createProject(gql, 'cli sync');
      const firstRun = await configure(gql, syncedId, first.key);
      const cancelled = (await gql('mutation($runId: ID!) { cancelStripeSync(runId: $runId) { status } }', { runId: firstRun })) as {
        cancelStripeSync: { status: string };
      };
      expect(cancelled.cancelStripeSync.status).toBe('CANCELED');
      synced = { projectId: syncedId, accountId: first.accountId };

      const busyId = await createProject(gql, 'cli busy');
      busy = { projectId: busyId, queuedRunId: await configure(gql, busyId, second.key) };
      bare = { projectId: await createProject(gql, 'cli bare') };
    });
  }, TIMEOUT);

  afterAll(async () => {
    await fake?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it(
    'syncs every object type in the foreground, shows progress lines and a summary, exits 0, and the mirror holds what Stripe has',
    async () => {
      const result = await coffer('stripe', 'sync', '--project', synced.projectId, '--environment', 'test');
      expect(result.code, result.stderr).toBe(0);
      const runId = /^Stripe sync ([0-9a-f-]{36}): SUCCEEDED$/m.exec(result.stdout)?.[1];
      expect(runId, result.stdout).toBeDefined();
      expect(result.stdout).toContain(`account ${synced.accountId}, trigger CLI`);
      for (const collection of ALL_COLLECTIONS) {
        const pages = Math.max(1, Math.ceil(COUNTS[collection] / 50));
        expect(result.stdout).toMatch(new RegExp(`^${collection} +SUCCEEDED +${COUNTS[collection]} +${pages} +0$`, 'm'));
        expect(result.stderr).toContain(`${collection}: done, ${COUNTS[collection]} objects in ${pages} page${pages === 1 ? '' : 's'}`);
      }
      expect(result.stdout).toMatch(new RegExp(`^total +${TOTAL} +\\d+ +0$`, 'm'));
      expect(result.stderr).toMatch(/\] run [0-9a-f-]{36} SUCCEEDED: synced \d+ objects/);
      // Not a terminal: plain lines, no redrawn bar.
      expect(result.stderr).not.toContain('\u001b[');
      expect(result.stderr).not.toContain('\r');

      await withApp(async ({ services }) => {
        const { prisma } = services.db;
        for (const collection of ALL_COLLECTIONS) {
          const rows = await prisma.$queryRawUnsafe<Array<{ stripe_id: string }>>(
            `SELECT stripe_id FROM ${tableOf(collection)} WHERE project_id = $1::uuid AND environment = 'TEST' ORDER BY stripe_id`,
            synced.projectId,
          );
          expect(
            rows.map((row) => row.stripe_id),
            collection,
          ).toEqual(fakeIds(synced.accountId, collection));
        }
        const run = await prisma.stripeSyncRun.findUniqueOrThrow({ where: { id: runId! } });
        expect(run).toMatchObject({ status: 'SUCCEEDED', trigger: 'CLI', activeSlot: null, attempts: 1 });
        const audit = await prisma.auditEvent.findFirst({ where: { action: 'stripe.sync.start', targetId: runId! } });
        expect(audit).toMatchObject({ actorVia: 'system', outcome: 'SUCCESS' });
      });
    },
    TIMEOUT,
  );

  it(
    'syncs only --objects, and prints a JSON report with --json',
    async () => {
      const result = await coffer(
        'stripe',
        'sync',
        '--project',
        synced.projectId,
        '--environment',
        'test',
        '--objects',
        'customers,products',
        '--json',
      );
      expect(result.code, result.stderr).toBe(0);
      const report = JSON.parse(result.stdout) as {
        status: string;
        objects: number;
        objectTypes: Array<{ objectType: string; status: string; objects: number }>;
      };
      expect(report).toMatchObject({ status: 'SUCCEEDED', objects: COUNTS.customers + COUNTS.products });
      // Coffer's order (parents first), whatever order was asked for.
      expect(report.objectTypes.map((entry) => [entry.objectType, entry.status, entry.objects])).toEqual([
        ['products', 'SUCCEEDED', COUNTS.products],
        ['customers', 'SUCCEEDED', COUNTS.customers],
      ]);
    },
    TIMEOUT,
  );

  it(
    'exits 1 and names the object type when Stripe keeps failing one collection',
    async () => {
      // The first page of invoices and both retries (STRIPE_SYNC_MAX_RETRIES=2) get a 500.
      fake.failNext(3, { status: 500, path: /^\/v1\/invoices$/ });
      const result = await coffer('stripe', 'sync', '--project', synced.projectId, '--environment', 'test', '--json');
      expect(result.code, result.stderr).toBe(1);
      const report = JSON.parse(result.stdout) as {
        id: string;
        status: string;
        error: string;
        objectTypes: Array<{ objectType: string; status: string; retries: number; error: string | null }>;
      };
      expect(report).toMatchObject({ status: 'FAILED', error: `1 of ${ALL_COLLECTIONS.length} object types failed: invoices` });
      const invoices = report.objectTypes.find((entry) => entry.objectType === 'invoices');
      expect(invoices).toMatchObject({ status: 'FAILED', retries: 2, error: expect.stringContaining('HTTP 500') });
      expect(report.objectTypes.filter((entry) => entry.status !== 'SUCCEEDED').map((entry) => entry.objectType)).toEqual(['invoices']);
      expect(result.stderr).toContain('invoices: FAILED');
      expect(result.stderr).toMatch(/invoices: .*Retry 1 of 2/);
      expect(result.stderr).toContain(`Sync run ${report.id} FAILED: 1 of ${ALL_COLLECTIONS.length} object types failed: invoices`);
      expect(fake.requests.filter((request) => request.path === '/v1/invoices' && request.status === 500)).toHaveLength(3);
    },
    TIMEOUT,
  );

  it(
    'exits 2 naming the active run when one is already queued or running, and sync-cancel frees the slot',
    async () => {
      const refused = await coffer('stripe', 'sync', '--project', busy.projectId, '--environment', 'test');
      expect(refused.code).toBe(2);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toContain(
        `A sync is already active for project ${busy.projectId} (test): run ${busy.queuedRunId} (QUEUED, trigger CONFIGURE`,
      );
      expect(refused.stderr).not.toMatch(/\n\s+at /);

      const cancelled = await coffer('stripe', 'sync-cancel', '--run', busy.queuedRunId);
      expect(cancelled.code, cancelled.stderr).toBe(0);
      expect(JSON.parse(cancelled.stdout)).toMatchObject({ id: busy.queuedRunId, status: 'CANCELED' });

      const status = await coffer('stripe', 'sync-status', '--project', busy.projectId, '--environment', 'test', '--json');
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ id: busy.queuedRunId, status: 'CANCELED', trigger: 'CONFIGURE' });
    },
    TIMEOUT,
  );

  it(
    'exits 2 when the project has no secret key for the environment, or does not exist',
    async () => {
      const none = await coffer('stripe', 'sync', '--project', bare.projectId, '--environment', 'test');
      expect(none).toMatchObject({ code: 2, stdout: '' });
      expect(none.stderr).toContain(`Project ${bare.projectId} has no test Stripe secret key`);

      const noLive = await coffer('stripe', 'sync', '--project', synced.projectId, '--environment', 'live');
      expect(noLive.code).toBe(2);
      expect(noLive.stderr).toContain('has no live Stripe secret key');

      const missing = await coffer('stripe', 'sync', '--project', '00000000-0000-4000-8000-000000000000', '--environment', 'test');
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('No project 00000000-0000-4000-8000-000000000000.');

      const badArgs = await coffer('stripe', 'sync', '--project', synced.projectId, '--environment', 'staging');
      expect(badArgs.code).not.toBe(0);
      expect(badArgs.stderr).toContain('must be test or live');
      const badObjects = await coffer(
        'stripe',
        'sync',
        '--project',
        synced.projectId,
        '--environment',
        'test',
        '--objects',
        'customers,payouts',
      );
      expect(badObjects.code).not.toBe(0);
      expect(badObjects.stderr).toContain('unknown: payouts');
    },
    TIMEOUT,
  );

  it(
    'cancels the run on Ctrl-C (SIGINT), waits for it to end, and exits 1',
    async () => {
      // Slow pages, so the run is still going when the signal arrives.
      fake.delayNext(20, 400, { path: /^\/v1\/customers$/ });
      const before = fake.requests.length;
      const child = spawn(
        process.execPath,
        [BIN, 'stripe', 'sync', '--project', synced.projectId, '--environment', 'test', '--objects', 'customers'],
        { env: env() },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const started = new Promise<void>((resolve) =>
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (stderr.includes('customers: started')) resolve();
        }),
      );
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await started;
      child.kill('SIGINT');
      const code = await exited;
      outputs.push(stdout, stderr);
      expect(code, stderr).toBe(1);
      expect(stderr).toContain('SIGINT: canceling after the page in flight');
      expect(stdout).toMatch(/^Stripe sync [0-9a-f-]{36}: CANCELED$/m);
      expect(stdout).toMatch(/^customers +CANCELED /m);
      expect(stderr).toMatch(/Sync run [0-9a-f-]{36} CANCELED/);
      // Fewer pages than the 5 a full sync needs: it stopped early.
      expect(fake.requests.slice(before).filter((request) => request.path === '/v1/customers').length).toBeLessThan(5);

      const status = await coffer('stripe', 'sync-status', '--project', synced.projectId, '--environment', 'test');
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/^Stripe sync [0-9a-f-]{36}: CANCELED$/m);
    },
    TIMEOUT,
  );

  it('never prints a Stripe key, whole, in any output', () => {
    expect(stripeKeys.length).toBeGreaterThan(0);
    const all = outputs.join('\n');
    expect(stripeKeys.filter((key) => all.includes(key)).map((key) => `${key.slice(0, 8)}...`)).toEqual([]);
    expect((all.match(FULL_CREDENTIAL) ?? []).map((match) => `${match.slice(0, 12)}...`)).toEqual([]);
  });
});

/**
 * `npm run bench`: Coffer against a bare graphql-yoga server on this machine, over real HTTP.
 * The ratio column is what to watch between commits; absolute numbers depend on the machine.
 *
 * Env: BENCH_DURATION (s per scenario, default 10), BENCH_WARMUP (s, default 2),
 *      BENCH_CONNECTIONS (default 10); the Stripe sync rows: see stripe-sync.ts.
 * Add a row by adding a scenario to `scenarios` below.
 *
 * Arguments filter the rows: `npm run bench -- sync` runs only those whose name contains "sync"
 * (case-insensitive; several words: any of them). Without arguments everything runs.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { createSchema, createYoga } from 'graphql-yoga';
import { pino } from 'pino';
import { createApp, createHttpServer } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { ensureBootstrapAdmin } from '../../src/features/users/users.service.js';
import { encodeCursor } from '../../src/graphql/pagination.js';
import { createLogger } from '../../src/logger.js';
import { openServices } from '../../src/services.js';
import { BENCH_DATABASE, runStripeSyncBenchmarks, syncTable, type SyncBenchRow } from './stripe-sync.js';

const seconds = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number of seconds`);
  return value;
};
const DURATION = seconds('BENCH_DURATION', 10);
const WARMUP = seconds('BENCH_WARMUP', Math.min(2, DURATION));
const CONNECTIONS = Math.trunc(seconds('BENCH_CONNECTIONS', 10));
const ARTIFACT = fileURLToPath(new URL('../artifacts/bench.md', import.meta.url));
const FILTERS = process.argv.slice(2).map((word) => word.toLowerCase());
const selected = (name: string) => FILTERS.length === 0 || FILTERS.some((word) => name.toLowerCase().includes(word));

type Target = 'coffer' | 'bare';

interface Scenario {
  name: string;
  target: Target;
  /** GraphQL request body. */
  body: { query: string; variables?: Record<string, unknown> };
  headers?: (ctx: BenchContext) => Record<string, string>;
  /** Checked once before and once after the run, so an error path is never what gets measured. */
  expect: (json: { data?: unknown; errors?: unknown[] }) => string | null;
  /** Name of the scenario this row is compared with in the ratio column. */
  baseline?: string;
  /** Runs once before the scenario (seeding data). */
  setup?: (ctx: BenchContext) => Promise<void>;
}

interface BenchContext {
  adminKey: string;
  coffer: Awaited<ReturnType<typeof startCoffer>>;
  /** Cursor into the middle of the 100,000-secret scope, set by its setup. */
  deepCursor?: string;
}

const BULK_SCOPE_USER = '11111111-1111-4111-8111-111111111111';
const bulkScope = { type: 'USER', userId: BULK_SCOPE_USER };

/** 100 secrets with real encrypted values, written through the API. */
async function seedSmallVault(ctx: BenchContext) {
  for (let i = 0; i < 100; i += 1) {
    const response = await fetch(ctx.coffer.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': ctx.adminKey },
      body: JSON.stringify({ query: 'mutation($input: UpsertSecretInput!) { upsertSecret(input: $input) { id } }', variables: { input: { name: `BENCH_SECRET_${i}`, value: `value-${i}-${'x'.repeat(64)}` } } }),
    });
    if (!response.ok) throw new Error(`seeding failed: ${response.status}`);
  }
}

/**
 * 100,000 secret rows in one scope, inserted in SQL (listing reads metadata only, so rows without
 * versions measure the same query). Also finds a cursor half way down.
 */
async function seedBulkVault(ctx: BenchContext) {
  const { prisma } = ctx.coffer.services.db;
  // The scope's user must exist: an unknown user's scope is NOT_FOUND, even for admins.
  await prisma.user.create({ data: { id: BULK_SCOPE_USER, email: 'bulk-scope@bench.invalid' } });
  await prisma.$executeRawUnsafe(`
    INSERT INTO secrets (id, scope, owner_id, name, current_version, created_at, updated_at)
    SELECT gen_random_uuid(), 'USER', '${BULK_SCOPE_USER}', 'BULK_' || n, 1,
           now() - (n || ' seconds')::interval, now()
    FROM generate_series(1, 100000) AS n`);
  const middle = await prisma.secret.findFirstOrThrow({ where: { ownerId: BULK_SCOPE_USER }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], skip: 50_000 });
  ctx.deepCursor = encodeCursor(middle);
}

const noErrors = (json: { errors?: unknown[] }) => (json.errors?.length ? `errors: ${JSON.stringify(json.errors)}` : null);

const scenarios: Scenario[] = [
  {
    name: 'bare yoga `{ __typename }`',
    target: 'bare',
    body: { query: '{ __typename }' },
    expect: (json) => noErrors(json) ?? (JSON.stringify(json.data) === '{"__typename":"Query"}' ? null : `data: ${JSON.stringify(json.data)}`),
  },
  {
    name: 'Coffer `{ __typename }`, anonymous',
    target: 'coffer',
    body: { query: '{ __typename }' },
    expect: (json) => noErrors(json) ?? (JSON.stringify(json.data) === '{"__typename":"Query"}' ? null : `data: ${JSON.stringify(json.data)}`),
    baseline: 'bare yoga `{ __typename }`',
  },
  {
    name: 'Coffer `me`, x-api-key',
    target: 'coffer',
    body: { query: 'query Me { me { id email role } }' },
    headers: ({ adminKey }) => ({ 'x-api-key': adminKey }),
    expect: (json) => noErrors(json) ?? ((json.data as { me?: { role?: string } })?.me?.role === 'ADMIN' ? null : `data: ${JSON.stringify(json.data)}`),
    baseline: 'bare yoga `{ __typename }`',
  },
  {
    name: 'Coffer `secrets(first: 20)`, 100 secrets',
    target: 'coffer',
    setup: seedSmallVault,
    body: { query: 'query List { secrets(first: 20) { edges { cursor node { name currentVersion updatedAt } } pageInfo { hasNextPage endCursor } } }' },
    headers: ({ adminKey }) => ({ 'x-api-key': adminKey }),
    expect: (json) => noErrors(json) ?? ((json.data as { secrets?: { edges?: unknown[] } })?.secrets?.edges?.length === 20 ? null : `data: ${JSON.stringify(json.data)}`),
    baseline: 'bare yoga `{ __typename }`',
  },
  {
    name: 'Coffer reveal one value (`secret { value }`, audited)',
    target: 'coffer',
    body: { query: 'query Reveal { secret(name: "BENCH_SECRET_42") { value } }' },
    headers: ({ adminKey }) => ({ 'x-api-key': adminKey }),
    expect: (json) => noErrors(json) ?? ((json.data as { secret?: { value?: string } })?.secret?.value?.startsWith('value-42-') ? null : `data: ${JSON.stringify(json.data)}`),
    baseline: 'bare yoga `{ __typename }`',
  },
  {
    name: 'Coffer `secrets(first: 20)`, 100,000 secrets, first page',
    target: 'coffer',
    setup: seedBulkVault,
    body: { query: 'query Bulk($scope: SecretScopeInput) { secrets(scope: $scope, first: 20) { edges { cursor node { name } } } }', variables: { scope: bulkScope } },
    headers: ({ adminKey }) => ({ 'x-api-key': adminKey }),
    expect: (json) => noErrors(json) ?? ((json.data as { secrets?: { edges?: unknown[] } })?.secrets?.edges?.length === 20 ? null : `data: ${JSON.stringify(json.data)}`),
    baseline: 'bare yoga `{ __typename }`',
  },
  {
    name: 'Coffer `secrets(first: 20)`, 100,000 secrets, page at 50,000',
    target: 'coffer',
    body: { query: 'query BulkDeep($scope: SecretScopeInput, $after: String) { secrets(scope: $scope, first: 20, after: $after) { edges { cursor node { name } } } }', variables: { scope: bulkScope } },
    headers: ({ adminKey }) => ({ 'x-api-key': adminKey }),
    expect: (json) => noErrors(json) ?? ((json.data as { secrets?: { edges?: unknown[] } })?.secrets?.edges?.length === 20 ? null : `data: ${JSON.stringify(json.data)}`),
    baseline: 'Coffer `secrets(first: 20)`, 100,000 secrets, first page',
  },
];

interface Measurement {
  scenario: Scenario;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  failures: number;
  total: number;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

async function startCoffer() {
  const dataDir = await mkdtemp(join(os.tmpdir(), 'coffer-bench-'));
  const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' });
  // Real level, real serialisation and a real (synchronous, like pino's stdout default) write
  // per request; only the destination is /dev/null, so the terminal is not what gets measured.
  const logger = createLogger(config.logLevel, pino.destination({ dest: '/dev/null', sync: true }));
  const services = await openServices(config, logger);
  const bootstrap = await ensureBootstrapAdmin({ prisma: services.db.prisma, auth: services.auth });
  if (bootstrap.kind !== 'created') throw new Error(`expected a fresh database, got ${bootstrap.kind}`);
  const yoga = createApp(services);
  const http = createHttpServer(yoga);
  const url = await listen(http.server);
  return {
    url,
    adminKey: bootstrap.apiKey,
    database: services.db.kind,
    services,
    async close() {
      await http.close();
      await yoga.dispose();
      await services.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function startBare() {
  const yoga = createYoga({
    schema: createSchema({ typeDefs: 'type Query { hello: String }' }),
    graphiql: false,
    logging: false,
  });
  const server = createServer(yoga);
  const url = await listen(server);
  return {
    url,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await yoga.dispose();
    },
  };
}

async function check(url: string, scenario: Scenario, headers: Record<string, string>, when: string) {
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(scenario.body) });
  const text = await response.text();
  let problem: string | null = response.status === 200 ? null : `status ${response.status}`;
  if (!problem) {
    try {
      problem = scenario.expect(JSON.parse(text));
    } catch {
      problem = 'not JSON';
    }
  }
  if (problem) throw new Error(`"${scenario.name}" ${when}: ${problem}; body: ${text.slice(0, 300)}`);
}

async function measure(url: string, scenario: Scenario, headers: Record<string, string>): Promise<Measurement> {
  const options: autocannon.Options = {
    url,
    method: 'POST',
    headers,
    body: JSON.stringify(scenario.body),
    connections: CONNECTIONS,
    // The load generator gets its own thread: in the server's thread it would steal the very
    // event loop being measured.
    workers: 1,
  };
  await autocannon({ ...options, duration: WARMUP });
  const result = await autocannon({ ...options, duration: DURATION });
  return {
    scenario,
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts,
    total: result.requests.total,
  };
}

function table(rows: Measurement[]): string {
  const byName = new Map(rows.map((row) => [row.scenario.name, row]));
  const lines = [
    '| Scenario | Requests/s | p50 ms | p99 ms | Ratio to baseline (req/s) | Failed requests |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    const baseline = row.scenario.baseline ? byName.get(row.scenario.baseline) : undefined;
    const ratio = baseline ? (row.requestsPerSecond / baseline.requestsPerSecond).toFixed(2) : row.scenario.baseline ? 'n/a (baseline not run)' : 'baseline';
    lines.push(`| ${row.scenario.name} | ${Math.round(row.requestsPerSecond)} | ${row.p50} | ${row.p99} | ${ratio} | ${row.failures} of ${row.total} |`);
  }
  return lines.join('\n');
}

async function runHttpScenarios(chosen: Scenario[]): Promise<{ rows: Measurement[]; database: string }> {
  if (chosen.length === 0) return { rows: [], database: 'not run' };
  process.stdout.write(`Starting Coffer (fresh embedded database) and a bare yoga server...\n`);
  const coffer = await startCoffer();
  const bare = await startBare();
  const ctx: BenchContext = { adminKey: coffer.adminKey, coffer };
  const rows: Measurement[] = [];
  try {
    for (const scenario of scenarios) {
      // Every set-up runs (later rows use earlier rows' data); only chosen rows are measured.
      await scenario.setup?.(ctx);
      if (!chosen.includes(scenario)) continue;
      const url = scenario.target === 'coffer' ? coffer.url : bare.url;
      if (scenario.name.includes('page at 50,000')) scenario.body.variables = { ...scenario.body.variables, after: ctx.deepCursor };
      const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...scenario.headers?.(ctx) };
      await check(url, scenario, headers, 'before the run');
      process.stdout.write(`  ${scenario.name}: ${WARMUP} s warm-up, ${DURATION} s measured...\n`);
      rows.push(await measure(url, scenario, headers));
      await check(url, scenario, headers, 'after the run');
    }
  } finally {
    await coffer.close();
    await bare.close();
  }
  return { rows, database: coffer.database };
}

async function main() {
  const chosen = scenarios.filter((scenario) => selected(scenario.name));
  const { rows, database } = await runHttpScenarios(chosen);
  let syncRows: SyncBenchRow[] = [];
  if (FILTERS.length === 0 || selected('stripe sync throughput') || selected('stripe sync memory') || selected('stripe sync progress fan-out')) {
    process.stdout.write(`Stripe sync: fake Stripe in a child process, Coffer on a fresh ${BENCH_DATABASE}...\n`);
    syncRows = await runStripeSyncBenchmarks(selected, (line) => process.stdout.write(`${line}\n`));
  }
  if (rows.length === 0 && syncRows.length === 0) throw new Error(`no benchmark matches ${FILTERS.join(' ')}`);

  const cpus = os.cpus();
  const report = [
    '# Coffer benchmark',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.arch()}; Node ${process.version}`,
    ...(FILTERS.length > 0 ? [`- Filter: ${FILTERS.join(' ')} (partial run)`] : []),
    ...(rows.length > 0
      ? [
          `- Load: autocannon, ${CONNECTIONS} connections, ${WARMUP} s warm-up then ${DURATION} s measured per scenario; load generated from a worker thread of the same process`,
          `- Coffer: in-process, real HTTP on 127.0.0.1, ${database === 'pglite' ? 'embedded PGlite (fresh temp DATA_DIR)' : database}, LOG_LEVEL=info with one request log line per request written synchronously to /dev/null (the logging cost is included)`,
          '- Bare: graphql-yoga with a one-field schema, default plugins, logging off',
          '',
          table(rows),
        ]
      : []),
    ...(syncRows.length > 0
      ? [
          '',
          '## Stripe sync',
          '',
          `- Coffer in-process on a fresh ${BENCH_DATABASE}, default page size and settings; the fake Stripe in a child process on 127.0.0.1 with no added latency (the machine's cores are shared by both)`,
          '- Throughput and memory: the real worker (`runNow`) executing the first sync queued by `configureStripe`; memory sampled every 25 ms in Coffer\'s process',
          '- Fan-out: SSE clients in a worker thread of the same process; events published on the event bus, latency from publish to the bytes arriving at each client',
          '',
          syncTable(syncRows),
        ]
      : []),
    '',
  ].join('\n');
  process.stdout.write(`\n${report}`);
  await mkdir(dirname(ARTIFACT), { recursive: true });
  await writeFile(ARTIFACT, report);
  process.stdout.write(`\nWritten to ${ARTIFACT}\n`);
  const failed = rows.filter((row) => row.failures > 0);
  if (failed.length > 0) {
    process.stderr.write(`Some requests failed during: ${failed.map((row) => row.scenario.name).join(', ')}\n`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

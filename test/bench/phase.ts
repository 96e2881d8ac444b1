/**
 * One database's part of the benchmark: seed Coffer's data, time its restarts, then run every
 * chosen row once per round against servers in their own processes, in an order rotated per round
 * (drift on a shared machine then hits every row alike).
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { createScratchDatabase } from '../support/scratch-database.js';
import { LoadGenerator, type LoadRun } from './load.js';
import { atCleanup, memory, sleep, startCoffer, startScript, waitQuiet, type ServerProcess } from './processes.js';
import { connectionsOf, type HttpRow, type RowContext, type ServerName } from './rows.js';
import { deepCursor, newApiKey, post, seedBulk, seedVault, type SqlTarget } from './seed.js';
import { CONNECTIONS, DURATION, ROUNDS, SETTLE_MS, STARTS, WARMUP } from './settings.js';

export type DatabaseChoice = { kind: 'pglite' } | { kind: 'postgres'; serverUrl: string };

export interface Case {
  row: HttpRow;
  connections: number;
  /** Indexed by round. */
  runs: LoadRun[];
}

export interface PhaseResult {
  database: string;
  cases: Case[];
  /** First start on the empty database (migrations applied), ms. */
  firstStartMs: number;
  /** Later starts on the seeded database, ms; empty when not measured. */
  restartMs: number[];
  /** Coffer's VmRSS after ready + settle, per timed start, bytes. */
  idleRss: number[];
  referenceRss: Partial<Record<Exclude<ServerName, 'coffer'>, number>>;
  /** Coffer after all rounds: VmRSS and VmHWM (peak), bytes. */
  afterLoad: { rss: number; peak: number } | null;
}

export interface PhaseOptions {
  database: DatabaseChoice;
  rows: HttpRow[];
  startup: boolean;
  memory: boolean;
  log(line: string): void;
}

const describe = (database: DatabaseChoice) => (database.kind === 'pglite' ? 'embedded PGlite' : 'PostgreSQL');

export async function runPhase({ database, rows, startup, memory: wantMemory, log }: PhaseOptions): Promise<PhaseResult> {
  const result: PhaseResult = {
    database: describe(database),
    cases: [],
    firstStartMs: NaN,
    restartMs: [],
    idleRss: [],
    referenceRss: {},
    afterLoad: null,
  };
  const root = await mkdtemp(join(os.tmpdir(), `coffer-bench-${database.kind}-`));
  const removeRoot = atCleanup(() => rm(root, { recursive: true, force: true }));
  const scratch = database.kind === 'postgres' ? await createScratchDatabase(database.serverUrl, 'coffer_bench') : null;
  const dropScratch = scratch ? atCleanup(() => scratch.drop()) : async () => undefined;
  const servers: ServerProcess[] = [];
  const stopServers = atCleanup(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });
  let closeLoad: () => Promise<void> = async () => undefined;
  try {
    const adminKey = newApiKey();
    const tokenSecret = randomBytes(32).toString('base64url');
    const dataDir = join(root, 'data');
    const env: Record<string, string> = {
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      COFFER_ADMIN_API_KEY: adminKey,
      COFFER_TOKEN_SECRET: tokenSecret,
      ...(scratch ? { DATABASE_URL: scratch.url } : {}),
    };
    const stderrPath = join(root, 'coffer-stderr.log');
    const needs = new Set(rows.flatMap((row) => row.needs ?? []));
    // Start-up and idle memory are measured on the data the rows use, 100,000 bulk secrets included.
    if (startup || wantMemory) needs.add('vault').add('bulk');
    const sql: SqlTarget = scratch ? { kind: 'postgres', url: scratch.url } : { kind: 'pglite', dataDir };

    // Coffer creates its tables and the admin on its first start; only bare-yoga rows do without.
    if (needs.size > 0 || rows.some((row) => row.server === 'coffer')) {
      log(`${result.database}: first start (empty database, migrations)...`);
      const first = await startCoffer(env, { stdoutPath: join(root, 'coffer-first-start.log'), stderrPath });
      result.firstStartMs = first.readyMs;
      servers.push(first.server);
      if (needs.has('vault')) await seedVault(first.server.graphql, adminKey);
      await first.server.stop();
      servers.length = 0;
    }
    if (needs.has('bulk')) {
      log(`${result.database}: 100,000 bulk secrets in SQL (Coffer stopped)...`);
      await seedBulk(sql);
    }
    // PGlite is one process's database: the ceiling server gets its own copy of the seeded files.
    const ceilingDir = join(root, 'ceiling-pglite');
    if (!scratch && rows.some((row) => row.server === 'ceiling')) await cp(dataDir, ceilingDir, { recursive: true });

    if (startup || wantMemory) {
      for (let i = 0; i < STARTS; i += 1) {
        const start = await startCoffer(env, { stderrPath });
        servers.push(start.server);
        await sleep(SETTLE_MS);
        result.restartMs.push(start.readyMs);
        result.idleRss.push(memory(start.server.pid).rss);
        await start.server.stop();
        servers.length = 0;
        const rss = Math.round(result.idleRss.at(-1)! / 2 ** 20);
        log(`${result.database}: start ${i + 2}: ready after ${Math.round(start.readyMs)} ms, idle RSS ${rss} MiB`);
      }
    }

    const wanted = new Set<ServerName>(rows.map((row) => row.server));
    if (wantMemory) wanted.add('bare');
    if (wanted.size === 0) return result;
    const byName = new Map<ServerName, ServerProcess>();
    if (wanted.has('bare')) byName.set('bare', await startScript('bare yoga', './bare-server.ts'));
    if (wanted.has('ceiling')) {
      const target: Record<string, string> = scratch ? { CEILING_DATABASE_URL: scratch.url } : { CEILING_PGLITE_DIR: ceilingDir };
      byName.set('ceiling', await startScript('ceiling', './ceiling-server.ts', { ...target, COFFER_TOKEN_SECRET: tokenSecret }));
    }
    if (wanted.has('coffer')) byName.set('coffer', (await startCoffer(env, { stderrPath })).server);
    servers.push(...byName.values());
    // PGlite's WebAssembly is compiled in background threads after start; that CPU must not land in round 1.
    if (!(await waitQuiet([...byName.values()].map((server) => server.pid)))) {
      log(`${result.database}: servers still busy after 60 s; measuring anyway`);
    }
    await sleep(SETTLE_MS);
    for (const name of ['bare', 'ceiling'] as const) {
      const server = byName.get(name);
      if (server) result.referenceRss[name] = memory(server.pid).rss;
    }
    if (rows.length === 0) return result;

    const coffer = byName.get('coffer');
    const ctx: RowContext = { adminKey, deepCursor: needs.has('bulk') && coffer ? await deepCursor(coffer.graphql, adminKey) : null };
    result.cases = rows.flatMap((row) => connectionsOf(row, CONNECTIONS).map((connections) => ({ row, connections, runs: [] })));
    for (const item of result.cases) await check(byName.get(item.row.server)!, item.row, ctx, 'before the first round');

    const load = await LoadGenerator.start();
    closeLoad = atCleanup(() => load.close());
    for (let round = 0; round < ROUNDS; round += 1) {
      const n = result.cases.length;
      const order = result.cases.map((_, i) => result.cases[(i + round) % n]!);
      for (const item of order) {
        const server = byName.get(item.row.server)!;
        const run = await load.run(
          {
            url: server.graphql,
            headers: headersFor(item.row, ctx),
            body: JSON.stringify(item.row.body(ctx)),
            connections: item.connections,
            warmupSeconds: WARMUP,
            durationSeconds: DURATION,
          },
          server.pid,
        );
        item.runs[round] = run;
        log(
          `${result.database}: round ${round + 1}/${ROUNDS}: ${item.row.name} @ ${item.connections}: ` +
            `${Math.round(run.ok / run.seconds)} req/s, p99 ${run.p99.toFixed(1)} ms, ` +
            `new connections' first response ${run.firstP50.toFixed(1)} / ${run.firstMax.toFixed(1)} ms${run.failed ? `, ${run.failed} FAILED` : ''}`,
        );
        await check(server, item.row, ctx, `after round ${round + 1}`);
      }
    }
    await closeLoad();
    if (coffer) result.afterLoad = memory(coffer.pid);
    return result;
  } finally {
    await closeLoad();
    await stopServers();
    await dropScratch();
    await removeRoot();
  }
}

function headersFor(row: HttpRow, ctx: RowContext): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json',
    ...(row.authenticated ? { 'x-api-key': ctx.adminKey } : {}),
  };
}

async function check(server: ServerProcess, row: HttpRow, ctx: RowContext, when: string) {
  const reply = await post(server.graphql, row.body(ctx), headersFor(row, ctx));
  let problem = reply.status === 200 ? null : `status ${reply.status}`;
  if (!problem && !reply.json) problem = 'not JSON';
  if (!problem && reply.json?.errors?.length) problem = `errors: ${JSON.stringify(reply.json.errors)}`;
  problem ??= row.expect(reply.json?.data);
  if (problem) throw new Error(`"${row.name}" ${when}: ${problem}; body: ${reply.text.slice(0, 300)}`);
}

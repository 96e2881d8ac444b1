/**
 * `npm run bench`: Coffer over real HTTP against two references, each server in its own process and
 * the load generator in another. See README "Benchmarks" for the method and how to read the table.
 *
 * Env: BENCH_DURATION (s measured per row and round, default 5), BENCH_WARMUP (s, default 1),
 *      BENCH_ROUNDS (default 5), BENCH_CONNECTIONS (default 10,50), BENCH_DATABASE_URL (also run on
 *      a throw-away database of this PostgreSQL server), BENCH_COFFER_COMMAND (how to start Coffer;
 *      default: package.json's "start"); the Stripe sync rows: see stripe-sync.ts.
 * Rows are declared in rows.ts.
 *
 * Arguments filter the rows: `npm run bench -- sync` runs only those whose name contains "sync"
 * (case-insensitive; several words: any of them). Without arguments everything runs.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPhase, type DatabaseChoice, type PhaseResult } from './phase.js';
import { runCleanups } from './processes.js';
import { goalsTable, HOW_TO_READ, httpHeader, httpTable, machineHeader, startupTable } from './report.js';
import { CHANGE_STREAM_ROW, chooseRows, MEMORY_ROW, STARTUP_ROW } from './rows.js';
import { FILTERS, POSTGRES_SERVER_URL, selected } from './settings.js';

const ARTIFACT = fileURLToPath(new URL('../artifacts/bench.md', import.meta.url));
const SYNC_ROWS = ['stripe sync throughput', 'stripe sync memory', 'stripe sync progress fan-out'];
const say = (line: string) => process.stdout.write(`${line}\n`);

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping the servers and removing scratch data...\n`);
    void runCleanups().finally(() => process.exit(130));
  });
}

async function httpSections(): Promise<{ sections: string[]; phases: PhaseResult[] }> {
  const rows = chooseRows(selected);
  const startup = selected(STARTUP_ROW);
  const memory = selected(MEMORY_ROW);
  if (rows.length === 0 && !startup && !memory) return { sections: [], phases: [] };
  const databases: DatabaseChoice[] = [{ kind: 'pglite' }];
  if (POSTGRES_SERVER_URL) databases.push({ kind: 'postgres', serverUrl: POSTGRES_SERVER_URL });
  const phases: PhaseResult[] = [];
  for (const database of databases) phases.push(await runPhase({ database, rows, startup, memory, log: (line) => say(`  ${line}`) }));
  const goals = goalsTable(phases);
  const sections = [
    ...httpHeader(phases),
    '',
    HOW_TO_READ,
    ...phases.flatMap((phase) => (phase.cases.length > 0 ? ['', `## HTTP rows: ${phase.database}`, '', httpTable(phase)] : [])),
    ...(startup || memory ? ['', '## Start-up and memory', '', startupTable(phases)] : []),
    ...(goals ? ['', '## Goals', '', goals] : []),
  ];
  return { sections, phases };
}

async function syncSections(): Promise<string[]> {
  if (FILTERS.length > 0 && !SYNC_ROWS.some(selected)) return [];
  // Imported only when wanted: these rows run in this process and load Coffer's modules.
  const { BENCH_DATABASE, runStripeSyncBenchmarks, syncTable } = await import('./stripe-sync.js');
  say(`Stripe sync: fake Stripe in a child process, Coffer on a fresh ${BENCH_DATABASE}...`);
  const rows = await runStripeSyncBenchmarks(selected, say);
  if (rows.length === 0) return [];
  return [
    '',
    '## Stripe sync',
    '',
    `- Coffer in-process on a fresh ${BENCH_DATABASE}, default page size and settings; the fake Stripe in a child process on ` +
      "127.0.0.1 with no added latency (the machine's cores are shared by both)",
    '- Throughput and memory: the real worker (`runNow`) executing the first sync queued by `configureStripe`; ' +
      "memory sampled every 25 ms in Coffer's process",
    '- Fan-out: SSE clients in a worker thread of the same process; events published on the event bus, ' +
      'latency from publish to the bytes arriving at each client',
    '',
    syncTable(rows),
  ];
}

async function changeStreamSections(): Promise<string[]> {
  if (!selected(CHANGE_STREAM_ROW)) return [];
  // Imported only when wanted, like the sync rows: it loads Coffer's modules into this process.
  const { BENCH_DATABASE, runChangeStreamBenchmark } = await import('./change-stream.js');
  say(`Secret change stream: Coffer in-process on a fresh ${BENCH_DATABASE}...`);
  const rows = await runChangeStreamBenchmark(say);
  return [
    '',
    '## Secret change stream',
    '',
    `- Coffer in-process on a fresh ${BENCH_DATABASE}; SSE clients in a worker thread of the same process; each change written ` +
      'through the GraphQL API (transaction, sequence, stored event, publish after commit) and timed from sending the mutation',
    '',
    '| Measurement | Figure | Detail |',
    '|---|---:|---|',
    ...rows.map((row) => `| ${row.name} | ${row.figure} | ${row.detail} |`),
  ];
}

async function main() {
  const http = await httpSections();
  const sync = await syncSections();
  const changes = await changeStreamSections();
  if (http.sections.length === 0 && sync.length === 0 && changes.length === 0) throw new Error(`no benchmark matches ${FILTERS.join(' ')}`);
  const report = ['# Coffer benchmark', '', ...machineHeader(FILTERS), ...http.sections, ...sync, ...changes, ''].join('\n');
  say(`\n${report}`);
  await mkdir(dirname(ARTIFACT), { recursive: true });
  await writeFile(ARTIFACT, report);
  say(`Written to ${ARTIFACT}`);
  const failed = http.phases.flatMap((phase) =>
    phase.cases
      .filter((item) => item.runs.some((run) => run.failed > 0))
      .map((item) => `${item.row.name} @ ${item.connections} (${phase.database})`),
  );
  if (failed.length > 0) {
    // Failed requests make the figures meaningless; unmet goals never fail the run.
    process.stderr.write(`Some requests failed during: ${failed.join(', ')}\n`);
    process.exitCode = 1;
  }
}

main().catch(async (error: unknown) => {
  // After Ctrl-C the children die first and the run fails for that reason: the signal handler reports and exits.
  if (interrupted) return;
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  await runCleanups();
  process.exit(1);
});

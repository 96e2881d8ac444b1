/**
 * Markdown for the HTTP rows: medians over rounds, ratios computed round by round (so drift on a
 * shared machine cancels out) and then reduced to their median, goals judged honestly.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Case, PhaseResult } from './phase.js';
import { cofferCommand } from './processes.js';
import { describeGoal, goalMet, STARTUP_GOAL_MS, type Goal, type GoalMetric } from './rows.js';
import { CONNECTIONS, DURATION, ROUNDS, SETTLE_MS, STARTS, WARMUP } from './settings.js';

export function median(values: number[]): number {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const fmt = (value: number, digits = 0) =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
const ms = (value: number) => fmt(value, value < 10 ? 2 : 1);
const mib = (bytes: number | undefined) => (bytes === undefined || !Number.isFinite(bytes) ? 'n/a' : `${fmt(bytes / 2 ** 20)} MiB`);
const ratio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a');
const rps = (run: { ok: number; seconds: number }) => run.ok / run.seconds;

/** The same row kind at the same connection count, e.g. bare yoga at 50 for a Coffer row at 50. */
function partner(cases: Case[], item: Case, match: (other: Case) => boolean): Case | undefined {
  return cases.find((other) => other !== item && other.connections === item.connections && match(other));
}

function perRound(item: Case, other: Case | undefined, value: (a: Case['runs'][number], b: Case['runs'][number]) => number): number {
  if (!other) return NaN;
  return median(item.runs.map((run, round) => (other.runs[round] ? value(run, other.runs[round]) : NaN)));
}

export interface CaseFigures {
  item: Case;
  rps: number;
  rpsMin: number;
  rpsMax: number;
  p50: number;
  p99: number;
  firstP50: number;
  firstMax: number;
  cpuPerRequest: number;
  failed: number;
  responses: number;
  loadCpu: number;
  metrics: Record<GoalMetric, number>;
  versusOther: number;
}

export function figures(cases: Case[], item: Case): CaseFigures {
  const rates = item.runs.map(rps);
  const bare = partner(cases, item, (other) => other.row.server === 'bare');
  const ceiling = partner(cases, item, (other) => other.row.server === 'ceiling');
  const other = item.row.compareWith ? partner(cases, item, (candidate) => candidate.row.name === item.row.compareWith) : undefined;
  const isCoffer = item.row.server === 'coffer';
  return {
    item,
    rps: median(rates),
    rpsMin: Math.min(...rates),
    rpsMax: Math.max(...rates),
    p50: median(item.runs.map((run) => run.p50)),
    p99: median(item.runs.map((run) => run.p99)),
    firstP50: median(item.runs.map((run) => run.firstP50)),
    firstMax: median(item.runs.map((run) => run.firstMax)),
    cpuPerRequest: median(item.runs.map((run) => run.serverCpuMs / run.responses)),
    failed: item.runs.reduce((sum, run) => sum + run.failed, 0),
    responses: item.runs.reduce((sum, run) => sum + run.responses, 0),
    loadCpu: median(item.runs.map((run) => run.loadCpuPercent)),
    metrics: {
      vsBare: isCoffer ? perRound(item, bare, (a, b) => rps(a) / rps(b)) : NaN,
      vsCeiling: isCoffer ? perRound(item, ceiling, (a, b) => rps(a) / rps(b)) : NaN,
      p99VsBare: item.row.server !== 'bare' ? perRound(item, bare, (a, b) => a.p99 / b.p99) : NaN,
    },
    versusOther: perRound(item, other, (a, b) => rps(a) / rps(b)),
  };
}

const goalsFor = (item: Case) =>
  (item.row.goals ?? []).filter((goal) => goal.connections === undefined || goal.connections === item.connections);

function judge(goal: Goal, value: number): string {
  if (!Number.isFinite(value)) return `${describeGoal(goal)}: not measured`;
  return `${describeGoal(goal)}: ${goalMet(goal, value) ? 'met' : '**not met**'} (${ratio(value)})`;
}

export function httpTable(phase: PhaseResult): string {
  const lines = [
    '| Row | Conns | Req/s median (min–max) | p50 ms | p99 ms | New connections: first response ms, median / max ' +
      '| Server CPU ms/req | × bare | × ceiling | p99 ÷ bare p99 | Failed / requests | Load gen CPU | Goal / note |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const item of phase.cases) {
    const f = figures(phase.cases, item);
    const notes = goalsFor(item).map((goal) => judge(goal, f.metrics[goal.metric]));
    if (item.runs.some((run) => run.ok === 0)) notes.push('a round had no successful response in its seconds: raise BENCH_DURATION');
    if (item.row.compareWith) notes.push(`${ratio(f.versusOther)} of "${item.row.compareWith}"`);
    if (item.row.server !== 'coffer') notes.push('reference');
    lines.push(
      `| ${item.row.name} | ${item.connections} | ${fmt(f.rps)} (${fmt(f.rpsMin)}–${fmt(f.rpsMax)}) | ${ms(f.p50)} | ${ms(f.p99)} ` +
        `| ${ms(f.firstP50)} / ${ms(f.firstMax)} | ${fmt(f.cpuPerRequest, 3)} | ${ratio(f.metrics.vsBare)} | ${ratio(f.metrics.vsCeiling)} | ${ratio(f.metrics.p99VsBare)} ` +
        `| ${fmt(f.failed)} / ${fmt(f.responses)} | ${fmt(f.loadCpu)} % | ${notes.join('; ')} |`,
    );
  }
  return lines.join('\n');
}

const startupMet = (phase: PhaseResult) => {
  const value = median(phase.restartMs);
  return Number.isFinite(value) ? `${value <= STARTUP_GOAL_MS ? 'met' : '**not met**'} (${fmt(value)} ms)` : 'not measured';
};

export function startupTable(phases: PhaseResult[]): string {
  const cells = (value: (phase: PhaseResult) => string) => phases.map(value).join(' | ');
  const spread = (values: number[]) =>
    values.length ? `${fmt(median(values))} ms (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})` : 'n/a';
  const afterLoad = (p: PhaseResult) => (p.afterLoad ? `${mib(p.afterLoad.rss)} / ${mib(p.afterLoad.peak)}` : 'n/a');
  return [
    `| Measurement | ${phases.map((phase) => phase.database).join(' | ')} |`,
    `|---|${phases.map(() => '---:').join('|')}|`,
    `| Coffer first start on an empty database (migrations applied), to /readyz 200 | ${cells((p) => `${fmt(p.firstStartMs)} ms`)} |`,
    `| Coffer start-up to ready, existing data (median of ${STARTS}; min–max) | ${cells((p) => spread(p.restartMs))} |`,
    `| Goal: start-up ≤ ${STARTUP_GOAL_MS / 1000} s | ${cells(startupMet)} |`,
    `| Coffer idle RSS, ready + ${SETTLE_MS / 1000} s (median of ${STARTS}) | ${cells((p) => mib(median(p.idleRss)))} |`,
    `| Coffer RSS after the HTTP rounds / peak (VmHWM) | ${cells(afterLoad)} |`,
    `| bare yoga idle RSS | ${cells((p) => mib(p.referenceRss.bare))} |`,
    `| ceiling server idle RSS | ${cells((p) => mib(p.referenceRss.ceiling))} |`,
  ].join('\n');
}

/** Every goal of this run in one place, one column per database. */
export function goalsTable(phases: PhaseResult[]): string {
  const rows = new Map<string, Map<string, string>>();
  const put = (goal: string, database: string, verdict: string) => {
    if (!rows.has(goal)) rows.set(goal, new Map());
    rows.get(goal)!.set(database, verdict);
  };
  for (const phase of phases) {
    for (const item of phase.cases) {
      const f = figures(phase.cases, item);
      for (const goal of goalsFor(item)) {
        const value = f.metrics[goal.metric];
        const verdict = Number.isFinite(value) ? `${goalMet(goal, value) ? 'met' : '**not met**'} (${ratio(value)})` : 'not measured';
        put(`${item.row.name} @ ${item.connections}: ${describeGoal(goal)}`, phase.database, verdict);
      }
    }
    if (phase.restartMs.length > 0) put(`Coffer start-up to ready ≤ ${STARTUP_GOAL_MS / 1000} s`, phase.database, startupMet(phase));
  }
  if (rows.size === 0) return '';
  return [
    `| Goal | ${phases.map((phase) => phase.database).join(' | ')} |`,
    `|---|${phases.map(() => '---').join('|')}|`,
    ...[...rows].map(([goal, byDb]) => `| ${goal} | ${phases.map((phase) => byDb.get(phase.database) ?? '—').join(' | ')} |`),
  ].join('\n');
}

function osName(): string {
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    return `${pretty ?? os.type()} (kernel ${os.release()}, ${os.arch()})`;
  } catch {
    return `${os.type()} ${os.release()} ${os.arch()}`;
  }
}

export function machineHeader(filters: string[]): string[] {
  const cpus = os.cpus();
  return [
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${fmt(os.totalmem() / 2 ** 30)} GiB RAM, ${osName()}; ` +
      `Node ${process.version}; load average at the end ${os
        .loadavg()
        .map((load) => load.toFixed(2))
        .join(' ')}`,
    ...(filters.length > 0 ? [`- Filter: ${filters.join(' ')} (partial run; references the chosen rows are divided by are added)`] : []),
  ];
}

export function httpHeader(phases: PhaseResult[]): string[] {
  return [
    `- Load: autocannon in its own process, ${CONNECTIONS.join(' and ')} connections (deep-page rows: 10), ` +
      `${WARMUP} s warm-up then ${DURATION} s measured per row, ${ROUNDS} interleaved rounds (row order rotated each round)`,
    `- Coffer: \`${cofferCommand().shown}\` in its own process, LOG_LEVEL=info (one log line per request, written to /dev/null), ` +
      `databases: ${phases.map((phase) => phase.database).join(', ')}`,
    '- References, each in its own process: bare graphql-yoga (one-field schema, default plugins, logging off) and the ceiling ' +
      '(bare yoga plus one SQL statement per request: the API key with its user, and the 20 newest secrets)',
  ];
}

export const HOW_TO_READ = [
  "How to read it: every figure is the median over rounds. **× bare** is a row's requests/s divided by bare yoga's at the same",
  'connection count in the same round: what Coffer keeps of a yoga server that does nothing. **× ceiling** divides by the ceiling',
  "server, which does the list's essential work in one SQL statement on the same database: 1.0× means Coffer answers as fast as",
  'a minimal hand-written server would. **p50** and **p99** are over the requests on connections already open (each',
  "connection's first response left out); **p99 ÷ bare p99** compares that tail the same way. **New connections** is the first",
  'response on each connection, all opened at once as the measured run starts: connection set-up under load, which one accept per',
  "turn of Node's event loop makes long on a busy embedded database (README, Benchmarks). **Server CPU ms/req** is the",
  "server process's user+system CPU (from /proc) over the measured seconds divided by the responses: on PGlite it includes the",
  "database, which runs inside the process; on PostgreSQL the database server's CPU is not counted. **Load gen CPU** near 100 %",
  'means autocannon itself may have limited the row. Goals are reported, never enforced: a run that misses them still succeeds.',
].join('\n');

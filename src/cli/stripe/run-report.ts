import type { SyncRunReport } from '../../features/stripe/index.js';
import { print } from '../support.js';

/** What `--json` prints: the run and, per object type, what it synced (never a credential). */
export function runReport(run: SyncRunReport) {
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
    objectTypes: run.objectTypes.map(
      ({ objectType, status, objects, pages, retries, error, verifiedListed, verifiedInserted, verifiedDeleted }) => ({
        objectType,
        status,
        objects,
        pages,
        retries,
        error,
        listed: verifiedListed,
        insertedByVerification: verifiedInserted,
        markedDeleted: verifiedDeleted,
      }),
    ),
  };
}

/** The run as a table on stdout: one row per object type, then the totals. */
function printRunTable(run: SyncRunReport) {
  const report = runReport(run);
  const seconds = report.durationMs === null ? null : report.durationMs / 1000;
  const rate = seconds && seconds > 0 ? `, ${Math.round(report.objects / seconds)} objects/s` : '';
  const took = seconds === null ? '' : `, ${seconds.toFixed(1)} s${rate}`;
  const lines = [
    `Stripe sync ${run.id}: ${run.status}`,
    `  project ${run.projectId}, ${run.environment.toLowerCase()}, account ${run.accountId ?? 'unknown'}, ` +
      `trigger ${run.trigger}, attempt ${run.attempts}${took}`,
  ];
  if (run.error) lines.push(`  error: ${run.error}`);
  const rows = [
    ['OBJECT TYPE', 'STATUS', 'OBJECTS', 'PAGES', 'RETRIES', 'ERROR'],
    ...report.objectTypes.map((entry) => [
      entry.objectType,
      entry.status,
      String(entry.objects),
      String(entry.pages),
      String(entry.retries),
      entry.error ?? '',
    ]),
    ['total', '', String(report.objects), String(report.pages), String(report.retries), ''],
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const numeric = new Set([2, 3, 4]);
  const cellOf = (cell: string, column: number, last: boolean) =>
    last ? cell : numeric.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!);
  lines.push(
    '',
    ...rows.map((row) =>
      row
        .map((cell, column) => cellOf(cell, column, column === row.length - 1))
        .join('  ')
        .trimEnd(),
    ),
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function printRun(run: SyncRunReport, json: boolean) {
  if (json) print(runReport(run));
  else printRunTable(run);
}

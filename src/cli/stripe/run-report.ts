import type { StripeSyncRun } from '../../client/index.js';
import { print } from '../support.js';

/** Object types as the CLI names them (`--objects customers,products`); the API's enum is upper case. */
export const objectTypeName = (objectType: string) => objectType.toLowerCase();

/** What `--json` prints: the run and, per object type, what it synced (never a credential). */
export function runReport(run: StripeSyncRun) {
  const sum = (field: 'objects' | 'pages' | 'retries') => run.progress.reduce((total, state) => total + state[field], 0);
  const startedAt = run.startedAt ? Date.parse(run.startedAt) : null;
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
    durationMs: startedAt === null ? null : (run.finishedAt ? Date.parse(run.finishedAt) : Date.now()) - startedAt,
    objects: sum('objects'),
    pages: sum('pages'),
    retries: sum('retries'),
    objectTypes: run.progress.map(
      ({ objectType, status, objects, pages, retries, error, listed, insertedByVerification, markedDeleted }) => ({
        objectType: objectTypeName(objectType),
        status,
        objects,
        pages,
        retries,
        error,
        listed,
        insertedByVerification,
        markedDeleted,
      }),
    ),
  };
}

/** The run as a table on stdout: one row per object type, then the totals. */
function printRunTable(run: StripeSyncRun) {
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

export function printRun(run: StripeSyncRun, json: boolean) {
  if (json) print(runReport(run));
  else printRunTable(run);
}

import { Presets, SingleBar } from 'cli-progress';
import type { StripeSyncEvent, StripeSyncRun } from '../../client/index.js';
import { objectTypeName } from './run-report.js';

const pages = (count: number) => `${count} page${count === 1 ? '' : 's'}`;

export interface ProgressView {
  event(event: StripeSyncEvent): void;
  /** A line of the command's own (cancel requested, following another worker...). */
  note(message: string): void;
  stop(): void;
}

/**
 * Progress on stderr: a redrawn bar on a terminal (object types done, the current one's pages and
 * objects, the run's objects and retries), plain timestamped lines otherwise (CI, logs, tests).
 * Stripe lists carry no counts, so the bar counts object types, not objects.
 */
export function progressView(run: StripeSyncRun, stream: NodeJS.WriteStream = process.stderr): ProgressView {
  const startedAt = Date.now();
  // The follower replays a run's events from its first one: the counts start from nothing.
  let done = 0;
  let runObjects = 0;
  let retries = 0;
  let current = run.status === 'QUEUED' ? 'starting' : 'running';
  let note = '';
  const apply = (event: StripeSyncEvent) => {
    runObjects = Math.max(runObjects, event.runObjects);
    if (event.kind === 'RETRY') retries += 1;
    if (event.kind === 'OBJECT_COMPLETED' || event.kind === 'OBJECT_FAILED') done += 1;
    if (event.objectType) {
      const failed = event.kind === 'OBJECT_FAILED' ? ' FAILED' : '';
      current = `${objectTypeName(event.objectType)} ${event.objects} objects, ${pages(event.pages)}${failed}`;
    }
    if (event.kind === 'RUN_FINISHED') current = event.runStatus;
  };

  if (stream.isTTY) {
    const bar = new SingleBar(
      {
        format: 'syncing {bar} {value}/{total} object types | {current} | {runObjects} objects, {retries} retries{note}',
        stream,
        hideCursor: true,
        clearOnComplete: false,
      },
      Presets.shades_classic,
    );
    const payload = () => ({ current, runObjects, retries, note });
    bar.start(run.progress.length, done, payload());
    let stopped = false;
    return {
      event(event) {
        apply(event);
        bar.update(done, payload());
      },
      note(message) {
        note = ` | ${message}`;
        bar.update(done, payload());
      },
      stop() {
        if (!stopped) bar.stop();
        stopped = true;
      },
    };
  }

  const line = (text: string) => stream.write(`[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)} s] ${text}\n`);
  let lastPageLine = 0;
  return {
    event(event) {
      apply(event);
      const type = event.objectType ? objectTypeName(event.objectType) : '';
      switch (event.kind) {
        case 'PAGE':
          // One line a second at most: a large account has thousands of pages.
          if (Date.now() - lastPageLine < 1000) return;
          lastPageLine = Date.now();
          line(
            `${type}: ${event.objects} objects, ${pages(event.pages)} so far ` +
              `(run: ${runObjects} objects, ${done}/${run.progress.length} object types done)`,
          );
          return;
        case 'OBJECT_STARTED':
          line(`${type}: started`);
          return;
        case 'RETRY':
          line(`${type}: ${event.message ?? 'retrying'}`);
          return;
        case 'VERIFICATION_STARTED':
          line(`${type}: ${event.objects} objects listed; verifying against Stripe`);
          return;
        case 'OBJECT_COMPLETED':
          line(`${type}: done, ${event.objects} objects in ${pages(event.pages)}${event.message ? ` (${event.message})` : ''}`);
          return;
        case 'OBJECT_FAILED':
          line(`${type}: FAILED after ${event.objects} objects: ${event.message ?? 'unknown error'}`);
          return;
        case 'RUN_FINISHED':
          line(`run ${event.runId} ${event.runStatus}: ${event.message ?? ''}`);
          return;
        default:
          line(`run ${event.runId}: ${event.message ?? event.kind.toLowerCase()}`);
      }
    },
    note: line,
    stop: () => undefined,
  };
}

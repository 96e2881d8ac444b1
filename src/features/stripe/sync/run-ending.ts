import type { Prisma, StripeSyncRun } from '../../../generated/prisma/client.js';
import type { StripeSyncStatus } from '../../../generated/prisma/enums.js';
import * as configRepository from '../config/config.repository.js';
import { recordSyncEvent, type SyncProgressEvent } from './progress.js';
import * as syncRepository from './sync.repository.js';
import { runEventBase, summarize } from './sync.service.js';

/** Why a run stopped before its end: each leaves the run in a different state. */
export type StopReason = 'cancel' | 'shutdown' | 'lease-lost' | 'account-changed';

export type RunOutcome = { kind: 'finished'; status: StripeSyncStatus } | { kind: 'interrupted' } | { kind: 'lease-lost' };

export class Stopped extends Error {
  constructor(readonly reason: StopReason) {
    super(`sync stopped: ${reason}`);
  }
}

export class KeyRejected extends Error {}

export interface Ending {
  /** Why the run as a whole failed (none: it failed only if an object type did). */
  error?: string;
  canceled?: boolean;
  /** The RUN_FINISHED event's message, when not the error or the count. */
  message?: string;
  /** Recorded on the object types left open (a rejected key names the reason once for all). */
  objectError?: string;
}

/**
 * Ends a run in the caller's transaction: the object types still open fail (or are canceled), the
 * run is SUCCEEDED only when every object type completed, the environment keeps the summary, and
 * RUN_FINISHED is recorded. Returns the ended run and its event, to publish after commit.
 */
export async function endRun(
  tx: Prisma.TransactionClient,
  run: StripeSyncRun,
  { error, canceled = false, message, objectError }: Ending,
  now: Date,
): Promise<{ run: StripeSyncRun; event: SyncProgressEvent }> {
  // The run row first, as every other writer of a run does: no lock-order deadlock with a cancel.
  await syncRepository.lockRun(tx, run.id);
  await syncRepository.endOpenObjectStates(tx, run.id, {
    status: canceled ? 'CANCELED' : 'FAILED',
    finishedAt: now,
    ...(canceled ? {} : { error: objectError ?? (error ? `not completed: ${error}` : 'not completed') }),
  });
  const objectStates = await syncRepository.objectStatesOf(tx, run.id);
  const completed = !error && objectStates.every((state) => state.status === 'SUCCEEDED' || state.status === 'SKIPPED');
  const status: StripeSyncStatus = canceled ? 'CANCELED' : completed ? 'SUCCEEDED' : 'FAILED';
  const summary = summarize(status, objectStates, run.startedAt, now);
  const failed = objectStates.filter((state) => state.status === 'FAILED').map((state) => state.objectType);
  const failedTypes = failed.length > 0 ? `${failed.length} of ${objectStates.length} object types failed: ${failed.join(', ')}` : null;
  const runError = error ?? failedTypes;
  const ended = await syncRepository.updateRun(tx, run.id, {
    status,
    activeSlot: null,
    finishedAt: now,
    leaseOwner: null,
    leaseExpiresAt: null,
    error: runError,
    summary: summary as unknown as Prisma.InputJsonValue,
  });
  const lastSyncSummary = { runId: run.id, finishedAt: now.toISOString(), ...summary };
  await configRepository.recordLastSyncSummary(tx, ended, lastSyncSummary as unknown as Prisma.InputJsonValue);
  const event = await recordSyncEvent(tx, ended, {
    ...runEventBase(ended, summary),
    kind: 'RUN_FINISHED',
    message: message ?? runError ?? `synced ${summary.objects} objects`,
    summary,
  });
  return { run: ended, event };
}

/**
 * Renews a run's lease between pages too (slow pages, back-off) and notices cancel requests made
 * on other replicas.
 */
export function startLeaseHeartbeat(
  renew: () => Promise<{ cancelRequestedAt: Date | null } | null>,
  { leaseMs, onLost, onCancel, onError }: { leaseMs: number; onLost: () => void; onCancel: () => void; onError: (error: unknown) => void },
): () => void {
  const timer = setInterval(
    () => {
      void renew()
        .then((lease) => {
          if (!lease) onLost();
          else if (lease.cancelRequestedAt) onCancel();
        })
        .catch(onError);
    },
    Math.max(100, Math.floor(leaseMs / 3)),
  );
  timer.unref();
  return () => clearInterval(timer);
}

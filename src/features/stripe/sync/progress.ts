import type { Prisma, PrismaClient } from '../../../generated/prisma/client.js';
import type { StripeEnvironment, StripeSyncObjectStatus, StripeSyncStatus } from '../../../generated/prisma/enums.js';
import { defineTopic, withDateAt, type EventBus } from '../../../events/event-bus.js';
import { syncObjects, syncRuns } from '../../../metrics.js';
import * as syncRepository from './sync.repository.js';

type Db = PrismaClient | Prisma.TransactionClient;

export const SYNC_EVENT_KINDS = [
  'RUN_QUEUED',
  'RUN_STARTED',
  'RUN_RESUMED',
  'RUN_INTERRUPTED',
  'CANCEL_REQUESTED',
  'OBJECT_STARTED',
  'PAGE',
  'RETRY',
  'VERIFICATION_STARTED',
  'OBJECT_COMPLETED',
  'OBJECT_FAILED',
  'RUN_FINISHED',
] as const;
export type SyncEventKind = (typeof SYNC_EVENT_KINDS)[number];

export interface SyncObjectSummary {
  objectType: string;
  status: StripeSyncObjectStatus;
  pages: number;
  objects: number;
  retries: number;
  error: string | null;
  /** Verification: ids Stripe listed (null before it ran), objects it stored, objects it marked deleted. */
  verifiedListed: number | null;
  verifiedInserted: number;
  verifiedDeleted: number;
}

export interface SyncSummary {
  status: StripeSyncStatus;
  objects: number;
  pages: number;
  durationMs: number | null;
  objectTypes: SyncObjectSummary[];
}

/** One progress event, as stored and as published to `stripeSyncProgress` subscribers. */
export interface SyncProgressEvent {
  runId: string;
  projectId: string;
  environment: StripeEnvironment;
  /** 1, 2, 3... per run, without gaps: subscribers use it to order, deduplicate and fill gaps. */
  sequence: number;
  kind: SyncEventKind;
  runStatus: StripeSyncStatus;
  objectType: string | null;
  objectStatus: StripeSyncObjectStatus | null;
  /** Pages and objects of `objectType` so far (of the whole run for run events). */
  pages: number;
  objects: number;
  /** Objects of the whole run so far. */
  runObjects: number;
  /** Stripe lists carry no counts: known only once an object type is complete. */
  total: number | null;
  retries: number;
  message: string | null;
  summary: SyncSummary | null;
  at: Date;
}

export type SyncEventInput = Omit<SyncProgressEvent, 'sequence' | 'at' | 'runId' | 'projectId' | 'environment'>;

export const progressTopicId = (projectId: string, environment: StripeEnvironment) => `${projectId}:${environment}`;

/** Progress of a project environment's runs, keyed by `progressTopicId`. */
export const syncProgressTopic = defineTopic<SyncProgressEvent>('stripe-sync', withDateAt);

/**
 * What the sync workers are asked to do, on every replica: look for queued work now, or stop a
 * run they execute (a cancel). Workers also poll, so a lost message only delays.
 */
export type SyncWorkerRequest = { kind: 'wake' } | { kind: 'cancel'; runId: string };
export const syncWorkerRequests = defineTopic<SyncWorkerRequest>('stripe-sync-workers');
export const WORKERS = 'all';

/**
 * Stores the next event of a run. Call inside the transaction that made the change it reports,
 * then publish the returned event after commit: a subscriber never sees an event that rolled back.
 */
export async function recordSyncEvent(
  db: Db,
  run: { id: string; projectId: string; environment: StripeEnvironment },
  input: SyncEventInput,
  at = new Date(),
): Promise<SyncProgressEvent> {
  const sequence = await syncRepository.nextSequence(db, run.id);
  const event: SyncProgressEvent = { ...input, runId: run.id, projectId: run.projectId, environment: run.environment, sequence, at };
  await syncRepository.insertEvent(db, run.id, storedEventRow(event));
  return event;
}

/** An event as its `stripe_sync_events` row stores it (the payload is the event less its time). */
export function storedEventRow(event: SyncProgressEvent): syncRepository.StoredEventRow {
  const { at, ...payload } = event;
  return {
    sequence: event.sequence,
    kind: event.kind,
    object_type: event.objectType,
    payload: payload as unknown as Prisma.InputJsonValue,
    at,
  };
}

export function eventFromRow(row: { payload: unknown; at: Date }): SyncProgressEvent {
  return { ...(row.payload as Omit<SyncProgressEvent, 'at'>), at: row.at };
}

export async function storedEvents(db: Db, runId: string, afterSequence = 0, limit = 1000): Promise<SyncProgressEvent[]> {
  return (await syncRepository.eventsAfter(db, runId, afterSequence, limit)).map(eventFromRow);
}

/** After commit: streamed to subscribers, and a finished run counted once (by the process that ended it). */
export function publishSyncEvents(events: EventBus, list: SyncProgressEvent[]): void {
  for (const event of list) {
    syncProgressTopic.publish(events, progressTopicId(event.projectId, event.environment), event);
    if (event.kind === 'RUN_FINISHED') countFinishedRun(event);
  }
}

function countFinishedRun(event: SyncProgressEvent): void {
  syncRuns.inc({ status: event.runStatus });
  for (const objectType of event.summary?.objectTypes ?? []) {
    const labels = { object_type: objectType.objectType };
    if (objectType.objects > 0) syncObjects.inc({ ...labels, outcome: 'listed' }, objectType.objects);
    if (objectType.verifiedInserted > 0) syncObjects.inc({ ...labels, outcome: 'verification_inserted' }, objectType.verifiedInserted);
    if (objectType.verifiedDeleted > 0) syncObjects.inc({ ...labels, outcome: 'marked_deleted' }, objectType.verifiedDeleted);
  }
}

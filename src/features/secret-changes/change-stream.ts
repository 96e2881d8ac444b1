import { parsePrincipalChange, principalChangeConcerns, type Authenticator, type Viewer } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import { forbidden, isCofferError, type CofferError } from '../../errors.js';
import type { EventBus } from '../../events/event-bus.js';
import type { ClusterSignals } from '../../events/signals.js';
import * as changesRepository from './secret-changes.repository.js';
import { secretChangesTopic, toSecretChange, type SecretChange } from './secret-changes.service.js';

const PAGE = 500;
/** Live messages are best effort: a subscriber also reads what was stored this often, in case one was lost. */
const CATCH_UP_MS = 30_000;

export interface StreamDeps {
  db: Database;
  events: EventBus;
  signals: ClusterSignals;
  auth: Pick<Authenticator, 'recheck'>;
  now: () => Date;
}

export interface StreamRequest {
  viewer: Viewer;
  projectId: string;
  environment: string | null;
  /** Replay the stored changes after this one; null: only changes from now on. */
  afterSequence: number | null;
  /** Whether `viewer` (as the database has it now) may still read the stream. */
  mayRead: (viewer: Viewer) => Promise<true | CofferError>;
}

/** Resolves with the error that ends the stream once the viewer's credential or access is gone. */
function watchAccess(deps: StreamDeps, request: StreamRequest) {
  let end!: (error: CofferError) => void;
  const ended = new Promise<CofferError>((resolve) => (end = resolve));
  let checking: Promise<void> | null = null;
  const recheck = async () => {
    try {
      const viewer = await deps.auth.recheck(request.viewer, deps.now());
      const access = await request.mayRead(viewer);
      if (access !== true) end(forbidden('Your access to this project was removed: the change stream has ended.'));
    } catch (error) {
      if (isCofferError(error)) end(error);
      // A database hiccup is no revocation: the next signal (or resync) checks again.
    }
  };
  const unsubscribe = deps.signals.subscribe('credentials', (message) => {
    if (principalChangeConcerns(parsePrincipalChange(message), request.viewer)) checking ??= recheck().finally(() => (checking = null));
  });
  return { ended, stop: unsubscribe };
}

const timeout = (ms: number) => {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<'tick'>((resolve) => (timer = setTimeout(() => resolve('tick'), ms)));
  return { elapsed, cancel: () => clearTimeout(timer) };
};

/**
 * The `secretChanges` stream: stored changes after `afterSequence`, then live ones, each once and
 * in sequence order. Live messages may come twice, out of order, or not at all (another replica's
 * publish lost): anything after a gap is read from the stored events first. Ends with a coded
 * error (yielded, for the resolver to raise) when the subscriber's access goes.
 */
export async function* secretChangeStream(deps: StreamDeps, request: StreamRequest): AsyncGenerator<SecretChange | CofferError> {
  const { db, events } = deps;
  const { projectId, environment } = request;
  const live = secretChangesTopic.subscribe(events, projectId)[Symbol.asyncIterator]();
  // Listening before reading what is stored: nothing falls between the replay and live changes.
  let next = live.next();
  const access = watchAccess(deps, request);
  const wanted = (change: SecretChange) => environment === null || change.environment === environment;
  try {
    await secretChangesTopic.subscribed(events, projectId);
    let last = request.afterSequence ?? (await changesRepository.lastSequence(db.prisma, projectId));
    const stored = async function* () {
      for (;;) {
        const page = await changesRepository.eventsAfter(db.prisma, projectId, last, PAGE);
        for (const row of page) {
          last = row.sequence;
          const change = toSecretChange(row);
          if (wanted(change)) yield change;
        }
        if (page.length < PAGE) return;
      }
    };
    yield* stored();
    for (;;) {
      const catchUp = timeout(CATCH_UP_MS);
      const arrived = await Promise.race([next, access.ended, catchUp.elapsed]);
      catchUp.cancel();
      if (arrived === 'tick') {
        yield* stored();
        continue;
      }
      if (arrived instanceof Error) {
        yield arrived;
        return;
      }
      if (arrived.done) return;
      next = live.next();
      const change = arrived.value;
      if (change.sequence <= last) continue;
      if (change.sequence > last + 1) {
        // A gap: the numbers between are committed (sequences are taken in order), so they are stored.
        yield* stored();
        continue;
      }
      last = change.sequence;
      if (wanted(change)) yield change;
    }
  } finally {
    access.stop();
    await live.return?.();
  }
}

import type Stripe from 'stripe';
import type { Config } from '../../../config.js';
import type { Database, SqlQuery } from '../../../db/database.js';
import type { EventBus } from '../../../events/event-bus.js';
import type { Prisma, StripeSyncObjectState, StripeSyncRun } from '../../../generated/prisma/client.js';
import type { KeyringStore } from '../../../keyring/index.js';
import type { Logger } from '../../../logger.js';
import { describeStripeFailure, withBackoff } from '../client/backoff.js';
import { createStripeClient, STRIPE_API_VERSION } from '../client/stripe-client.js';
import { classifyStripeError } from '../client/stripe-errors.js';
import * as configRepository from '../config/config.repository.js';
import { revealCredential } from '../config/credentials.repository.js';
import * as mirrorRepository from '../mirror/mirror.repository.js';
import { isSyncObjectType, nextCursorOf, OBJECT_TYPES, type ListPage, type ObjectTypeSpec } from '../mirror/object-types.js';
import { abortable, completeInlineLists, listPage } from './stripe-pages.js';
import { publishSyncEvents, recordSyncEvent, storedEventRow, type SyncEventInput, type SyncProgressEvent } from './progress.js';
import * as syncRepository from './sync.repository.js';
import { endRun, KeyRejected, startLeaseHeartbeat, Stopped, type Ending, type RunOutcome, type StopReason } from './run-ending.js';
import { runEventBase } from './sync.service.js';

export type { RunOutcome, StopReason } from './run-ending.js';

/** Stripe refused the key this type (403): a restricted key without the permission. */
const isPermissionRefusal = (error: unknown) => (error as { statusCode?: unknown }).statusCode === 403;

/** An object's `created` (Unix seconds); one without counts as newest, so the top walk goes on past it. */
const createdOf = (object: { id: string }) => (object as { created?: number }).created ?? Number.POSITIVE_INFINITY;

/** The ids a listing done in this process saw, and when it started (Unix seconds). */
interface ListedHere {
  ids: Set<string>;
  since: number;
}

export interface SyncRunnerDeps {
  db: Database;
  keyring: KeyringStore;
  config: Pick<Config, 'stripeApiBase' | 'stripeSync'>;
  logger: Logger;
  events: EventBus;
}

/** The first page of the verification's look at the top of a list it has just listed. */
const TOP_OF_LIST = 10;

/** After this many claims of one run (crashes, restarts, database errors), it fails instead of looping. */
const MAX_ATTEMPTS = 10;

type Tx = Prisma.TransactionClient;

/**
 * Executes one claimed run to its end, or until it is stopped. Memory stays at one page whatever
 * the account size: each page is written, with its checkpoint and progress event, in one
 * transaction before the next is fetched, so a run picked up again after a crash continues after
 * the last page it stored.
 */
export class SyncRunExecution {
  private readonly controller = new AbortController();
  private readonly log: Logger;
  private stopHeartbeat: () => void = () => undefined;
  private runObjects = 0;
  /** Retries per object type so far (a retry of the page fetched ahead may land during a write). */
  private readonly retries = new Map<string, number>();

  constructor(
    private readonly deps: SyncRunnerDeps,
    private run: StripeSyncRun,
    private readonly workerId: string,
  ) {
    this.log = deps.logger.child({ syncRunId: run.id, projectId: run.projectId, environment: run.environment });
  }

  /** Stops the run after the page in flight (or at once while it waits to retry). */
  stop(reason: StopReason) {
    if (!this.controller.signal.aborted) this.controller.abort(new Stopped(reason));
  }

  /** Stops the run (aborting any request or back-off in flight) and returns the error to throw. */
  private stopNow(reason: StopReason): Stopped {
    this.stop(reason);
    return new Stopped(reason);
  }

  private get stopReason(): StopReason | null {
    const reason: unknown = this.controller.signal.reason;
    return this.controller.signal.aborted && reason instanceof Stopped ? reason.reason : null;
  }

  private throwIfStopped() {
    const reason = this.stopReason;
    if (reason) throw new Stopped(reason);
  }

  async execute(): Promise<RunOutcome> {
    const { db } = this.deps;
    this.startHeartbeat();
    try {
      if (this.run.cancelRequestedAt) throw new Stopped('cancel');
      if (this.run.attempts > MAX_ATTEMPTS)
        return await this.finish({ error: `gave up after ${MAX_ATTEMPTS} attempts (the run kept being interrupted)` });
      const state = await configRepository.environmentOf(db.prisma, this.run.projectId, this.run.environment);
      const keyRow = configRepository.credentialOf(state, 'SECRET_KEY');
      if (!state || !keyRow) return await this.finish({ error: 'no secret key is configured for this environment any more' });
      if (state.accountId !== this.run.accountId) throw new Stopped('account-changed');
      const secretKey = await revealCredential(this.deps.keyring, this.run.projectId, this.run.environment, keyRow);
      const stripe = createStripeClient(secretKey, this.deps.config, { maxNetworkRetries: 0, timeoutMs: 60_000 });

      const objectStates = await syncRepository.objectStatesOf(db.prisma, this.run.id);
      this.runObjects = objectStates.reduce((sum, objectState) => sum + objectState.objects, 0);
      const resumed = this.run.attempts > 1;
      await this.emit({
        kind: resumed ? 'RUN_RESUMED' : 'RUN_STARTED',
        message: resumed ? `resumed (attempt ${this.run.attempts})` : 'started',
      });

      // Object types are synced side by side (STRIPE_SYNC_PARALLEL_OBJECTS lanes): against Stripe's
      // latency one stream of pages is slow, and Stripe allows far more requests than one stream makes.
      const queue = objectStates.filter((objectState) => objectState.status === 'PENDING' || objectState.status === 'RUNNING');
      let firstError: unknown = null;
      const lane = async () => {
        for (let objectState = queue.shift(); objectState && firstError === null; objectState = queue.shift()) {
          this.throwIfStopped();
          if (!isSyncObjectType(objectState.objectType))
            await this.failObject(objectState, `unknown object type ${objectState.objectType}`);
          else await this.syncObjectType(stripe, OBJECT_TYPES[objectState.objectType], objectState);
        }
      };
      const lanes = Array.from({ length: Math.min(this.deps.config.stripeSync.parallelObjects, queue.length) }, () =>
        lane().catch((error: unknown) => {
          firstError ??= error;
          // The key was rejected: the other lanes' requests would be too; they stop now.
          if (error instanceof KeyRejected) this.stop('shutdown');
        }),
      );
      // Every lane has settled before the run is finished or handed back: no write lands after it.
      await Promise.all(lanes);
      if (firstError !== null) throw firstError instanceof Error ? firstError : new Error('a sync lane failed');
      return await this.finish({});
    } catch (error) {
      if (error instanceof Stopped) return this.onStopped(error.reason);
      if (error instanceof KeyRejected) return await this.finish({ objectError: error.message });
      const reason = this.stopReason;
      if (reason) return this.onStopped(reason);
      // A database or programming error: the run is handed back and tried again (bounded by MAX_ATTEMPTS).
      this.log.error(
        { err: { type: (error as Error).name, message: (error as Error).message } },
        'stripe sync run failed unexpectedly; releasing it',
      );
      await this.release('interrupted by an unexpected error; it will be retried').catch(() => undefined);
      return { kind: 'interrupted' };
    } finally {
      this.stopHeartbeat();
    }
  }

  private async syncObjectType(stripe: Stripe, spec: ObjectTypeSpec, initial: StripeSyncObjectState) {
    let objectState = initial;
    if (objectState.status === 'PENDING') {
      objectState = await this.transaction(async (tx, events) => {
        const updated = await syncRepository.updateObjectState(tx, this.run.id, spec.type, { status: 'RUNNING', startedAt: new Date() });
        events.push(await this.record(tx, updated, { kind: 'OBJECT_STARTED', message: null }));
        return updated;
      });
    }
    const { pageSize } = this.deps.config.stripeSync;
    this.retries.set(spec.type, objectState.retries);
    // Listed to the end before an interruption: only the verification is left to do.
    if (objectState.total !== null) return this.verifyObjectType(stripe, spec, objectState);
    // The next page is fetched while this one is written: the sync goes at the pace of the slower
    // of Stripe and the database, not of both added up. At most two pages are held.
    const prefetch = new AbortController();
    const signal = AbortSignal.any([this.controller.signal, prefetch.signal]);
    const fetchPage = (cursor: string | null) => {
      // Second precision, rounded down: a webhook event of the same second is treated as newer.
      const requestedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
      const fetched = this.withRetries(spec, signal, async () => ({
        page: await listPage(stripe, spec, { pageSize, cursor }),
        requestedAt,
      }));
      // Observed later (awaited, or settled in `finally`); a rejection while a write is running is not unhandled.
      fetched.catch(() => undefined);
      return fetched;
    };
    // Listed from its start in this process: the verification builds on what this listing saw.
    const listedHere = objectState.pages === 0 ? { ids: new Set<string>(), since: Math.floor(Date.now() / 1000) } : null;
    let next = fetchPage(objectState.cursor);
    try {
      for (;;) {
        this.throwIfStopped();
        let fetched: Awaited<typeof next>;
        try {
          fetched = await next;
        } catch (error) {
          if (error instanceof Stopped) throw error;
          this.throwIfStopped();
          const reason = describeStripeFailure(error);
          if (isPermissionRefusal(error)) {
            // A restricted key that may not read this type: left out with the reason, the run goes on.
            await this.skipObject(objectState, `skipped: the key may not read ${spec.type.replaceAll('_', ' ')} (${reason})`);
            return;
          }
          await this.failObject(objectState, reason);
          // A rejected key fails every other object type the same way: no point asking Stripe again.
          if (classifyStripeError(error) === 'INVALID_API_KEY') throw new KeyRejected(reason);
          return;
        }
        const { page, requestedAt } = fetched;
        const cursor = nextCursorOf(page);
        if (cursor) next = fetchPage(cursor);
        if (listedHere) for (const object of page.data) listedHere.ids.add(object.id);
        objectState = await this.commitPage(spec, objectState, page.data, { requestedAt, cursor });
        if (!cursor) break;
      }
    } finally {
      // A page fetched ahead that will not be stored (stop, failure): abandoned before moving on.
      prefetch.abort(new Stopped('shutdown'));
      await next.catch(() => undefined);
    }
    await this.verifyObjectType(stripe, spec, objectState, listedHere ?? undefined);
  }

  /**
   * The verification phase of one object type, after its listing: Stripe's ids are compared with
   * the mirror's live ids. After a listing done here, those are the ids it saw, plus the top of the
   * list asked again down to objects older than the listing (created meanwhile), minus the listed
   * objects the account's deletion events since then name (confirmed by a retrieve); else (a
   * resumed run, events not readable) the whole list again, as the sync lists it. Objects the
   * mirror lacks are stored from that list; mirrored objects Stripe did not list
   * are retrieved one by one, and marked deleted when Stripe answers `resource_missing` (or with a
   * deleted stub). The type SUCCEEDS only when the re-check after these repairs finds the mirror
   * equal (see `mirrorRepository.recheck` for exactly what that compares).
   */
  private async verifyObjectType(stripe: Stripe, spec: ObjectTypeSpec, listedState: StripeSyncObjectState, listedHere?: ListedHere) {
    const { projectId, environment } = this.run;
    const { pageSize } = this.deps.config.stripeSync;
    const signal = this.controller.signal;
    const since = new Date();
    // What the listing saw, completed by the changes Stripe made while it ran; else (a resumed
    // run, or no access to the account's events) the whole list again.
    const changedDuring = listedHere ? await this.deletedDuringListing(stripe, spec, listedHere) : null;
    const fromListing = changedDuring ? listedHere : undefined;
    const listed = fromListing?.ids ?? new Set<string>();
    let deleted = 0;
    for (const id of changedDuring ?? []) {
      const outcome = await this.confirmDeletion(stripe, spec, id);
      if (outcome === 'deleted') {
        listed.delete(id);
        deleted += 1;
      }
    }
    // A walk over customers is not walked again: the listing is its complete snapshot.
    const relist = !(fromListing && spec.walksCustomers);
    let inserted = 0;
    let cursor: string | null = null;
    // After a listing here, the top is usually unchanged: a short first page reaches an object older than it.
    let limit = fromListing ? Math.min(pageSize, TOP_OF_LIST) : pageSize;
    while (relist) {
      this.throwIfStopped();
      const requestedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
      let page: ListPage;
      try {
        page = await this.withRetries(spec, signal, () => spec.list(stripe, { limit, ...(cursor ? { starting_after: cursor } : {}) }));
        limit = pageSize;
        cursor = nextCursorOf(page);
        const stored = new Set(
          await mirrorRepository.storedIds(this.deps.db, spec, {
            projectId,
            environment,
            ids: page.data.map((object) => object.id),
          }),
        );
        const missing = page.data.filter((object) => !stored.has(object.id));
        if (missing.length > 0) await this.withRetries(spec, signal, () => completeInlineLists(stripe, spec, missing, pageSize));
        for (const object of page.data) listed.add(object.id);
        if (missing.length > 0) inserted += (await this.storeRepairs(spec, missing, requestedAt)).length;
        // After the listing, only the top is listed again: what was created while it ran (Stripe
        // lists newest first), down to the first object older than the listing.
        if (fromListing && page.data.some((object) => createdOf(object) < fromListing.since)) cursor = null;
      } catch (error) {
        if (error instanceof Stopped) throw error;
        this.throwIfStopped();
        if (!(error instanceof Error) || !('statusCode' in error)) throw error;
        const reason = describeStripeFailure(error);
        await this.failObject(listedState, `verification: ${reason}`);
        if (classifyStripeError(error) === 'INVALID_API_KEY') throw new KeyRejected(reason);
        return;
      }
      if (!cursor) break;
    }

    // Mirrored but not listed: deleted at Stripe, or created after the listing passed that point.
    const mirrored = await mirrorRepository.liveIds(this.deps.db, spec, projectId, environment);
    const confirmed: string[] = [];
    for (const id of mirrored.filter((mirroredId) => !listed.has(mirroredId))) {
      const outcome = await this.confirmDeletion(stripe, spec, id);
      if (outcome === 'present') confirmed.push(id);
      if (outcome === 'deleted') deleted += 1;
    }

    const present = [...listed, ...confirmed];
    const { missing, extra } = await mirrorRepository.recheck(this.deps.db, spec, { projectId, environment, present, since });
    const differences = missing + extra;
    const counts = `listed ${listed.size}, stored ${listedState.objects}, inserted by verification ${inserted}, marked deleted ${deleted}`;
    await this.transaction(async (tx, events) => {
      const updated = await syncRepository.updateObjectState(tx, this.run.id, spec.type, {
        status: differences === 0 ? 'SUCCEEDED' : 'FAILED',
        verifiedListed: listed.size,
        verifiedInserted: inserted,
        verifiedDeleted: deleted,
        finishedAt: new Date(),
        ...(differences === 0 ? {} : { error: `verification: ${differences} ${spec.type} still differ from Stripe (${counts})` }),
      });
      const kind = differences === 0 ? 'OBJECT_COMPLETED' : 'OBJECT_FAILED';
      events.push(await this.record(tx, updated, { kind, message: differences === 0 ? `${spec.type}: ${counts}` : updated.error }));
    });
  }

  /**
   * Retrieves a mirrored object: marked deleted when Stripe answers `resource_missing` or with a
   * deleted stub, `present` when Stripe has it, `unknown` when it could not be retrieved (after
   * the retries; left as it is, and the re-check counts it as a difference).
   */
  private async confirmDeletion(stripe: Stripe, spec: ObjectTypeSpec, id: string): Promise<'deleted' | 'present' | 'unknown'> {
    this.throwIfStopped();
    const checkedAt = new Date();
    try {
      const object = await this.withRetries(spec, this.controller.signal, () => spec.retrieve(stripe, id));
      if (object.deleted !== true) return 'present';
      // When nothing is written, a webhook stored a newer deletion meanwhile: deleted all the same.
      await this.storeRepairs(spec, [object], checkedAt);
      return 'deleted';
    } catch (error) {
      if (error instanceof Stopped) throw error;
      this.throwIfStopped();
      if ((error as { code?: unknown }).code !== 'resource_missing') return 'unknown';
      await this.storeRepairs(spec, [{ id, object: spec.stripeObject, deleted: true }], checkedAt);
      return 'deleted';
    }
  }

  /**
   * The listed objects Stripe deleted while the listing ran, from the account's events since it
   * started (a second earlier: event times are whole seconds). Null when the events cannot be read
   * (a restricted key without that permission, or Stripe failing past the retries): the
   * verification then lists everything again.
   */
  private async deletedDuringListing(stripe: Stripe, spec: ObjectTypeSpec, listedHere: ListedHere): Promise<Set<string> | null> {
    const types = spec.events.filter((type) => type.endsWith('.deleted'));
    if (types.length === 0) return new Set();
    try {
      // The SDK pages through them; a failure retries the whole (short) walk.
      return await this.withRetries(spec, this.controller.signal, async () => {
        const found = new Set<string>();
        for await (const event of stripe.events.list({ created: { gte: listedHere.since - 1 }, types: [...types], limit: 100 })) {
          const id = (event.data.object as { id?: unknown }).id;
          if (typeof id === 'string' && listedHere.ids.has(id)) found.add(id);
        }
        return found;
      });
    } catch (error) {
      if (error instanceof Stopped) throw error;
      this.throwIfStopped();
      // Not readable (a restricted key), or failing past the retries: everything is listed again instead.
      if (error instanceof Error && 'statusCode' in error) return null;
      throw error;
    }
  }

  /** Writes what the verification repairs, under the run's lease like any page. */
  private storeRepairs(spec: ObjectTypeSpec, objects: ReadonlyArray<{ id: string; object?: string; deleted?: unknown }>, changedAt: Date) {
    return this.rawTransaction(async (tx) => {
      const lease = await syncRepository.renewLease(tx, {
        runId: this.run.id,
        workerId: this.workerId,
        leaseMs: this.deps.config.stripeSync.leaseMs,
      });
      if (!lease) throw this.stopNow('lease-lost');
      if (lease.cancelRequestedAt) throw this.stopNow('cancel');
      return mirrorRepository.upsertObjects(tx, spec, {
        projectId: this.run.projectId,
        environment: this.run.environment,
        objects,
        changedAt,
        source: 'sync',
        now: new Date(),
        apiVersion: STRIPE_API_VERSION,
      });
    });
  }

  /**
   * Stores one page with its checkpoint and progress events in one transaction of three statements:
   * the batch upsert, the lease renewal (which also reserves the events' sequence numbers, locks the
   * environment's row against an account change and reads a cancel request), then the checkpoint
   * and the events together.
   */
  private async commitPage(
    spec: ObjectTypeSpec,
    before: StripeSyncObjectState,
    objects: ReadonlyArray<{ id: string }>,
    { requestedAt, cursor }: { requestedAt: Date; cursor: string | null },
  ) {
    const done = cursor === null;
    const { leaseMs } = this.deps.config.stripeSync;
    const kinds: SyncEventInput['kind'][] = done ? ['PAGE', 'VERIFICATION_STARTED'] : ['PAGE'];
    return this.rawTransaction(async (tx, events) => {
      // The upsert comes first: the lease renewal locks the run's row until the commit, and every
      // lane renews the same row, so only what follows it is serialized between the lanes. A lost
      // lease, a cancel or an account change found after the upsert rolls it back with the rest.
      await mirrorRepository.upsertObjects(tx, spec, {
        projectId: this.run.projectId,
        environment: this.run.environment,
        objects,
        changedAt: requestedAt,
        source: 'sync',
        now: new Date(),
        apiVersion: STRIPE_API_VERSION,
      });
      const lease = await syncRepository.leaseForPage(tx, this.run, { workerId: this.workerId, leaseMs, events: kinds.length });
      if (!lease) throw this.stopNow('lease-lost');
      if (lease.cancelRequestedAt) throw this.stopNow('cancel');
      if (!lease.environmentExists || lease.accountId !== this.run.accountId) throw this.stopNow('account-changed');
      const now = new Date();
      const after: StripeSyncObjectState = {
        ...before,
        cursor: cursor ?? objects.at(-1)?.id ?? before.cursor,
        pages: before.pages + 1,
        objects: before.objects + objects.length,
        // Listed to the end; the type completes after its verification.
        ...(done ? { total: before.objects + objects.length } : {}),
      };
      this.runObjects += objects.length;
      const firstSequence = lease.lastSequence - kinds.length + 1;
      const pageEvents = kinds.map((kind, index) =>
        this.eventOf(
          after,
          { kind, message: kind === 'VERIFICATION_STARTED' ? `${after.objects} ${spec.type} listed; verifying` : null },
          firstSequence + index,
          now,
        ),
      );
      await syncRepository.saveCheckpoint(tx, this.run.id, after, pageEvents.map(storedEventRow));
      events.push(...pageEvents);
      return after;
    });
  }

  /** One page, tried again on 429/5xx/network errors with the shared back-off; each retry is a RETRY event. */
  private withRetries<T>(spec: ObjectTypeSpec, signal: AbortSignal, call: () => Promise<T>): Promise<T> {
    const policy = this.deps.config.stripeSync.retry;
    const attempt = () => (signal.aborted ? Promise.reject(signal.reason as Error) : abortable(call(), signal));
    return withBackoff(policy, attempt, {
      signal,
      onRetry: async (retry, delay, error) => {
        const reason = describeStripeFailure(error);
        this.retries.set(spec.type, (this.retries.get(spec.type) ?? 0) + 1);
        await this.transaction(async (tx, events) => {
          const updated = await syncRepository.updateObjectState(tx, this.run.id, spec.type, { retries: { increment: 1 } });
          const message = `${reason} Retry ${retry} of ${policy.maxRetries} in ${delay} ms.`;
          events.push(await this.record(tx, updated, { kind: 'RETRY', message }));
        });
        this.log.warn(
          { objectType: spec.type, retry, delayMs: delay, status: (error as { statusCode?: number }).statusCode },
          'stripe sync: backing off',
        );
      },
    });
  }

  private async skipObject(objectState: StripeSyncObjectState, reason: string) {
    await this.transaction(async (tx, events) => {
      const updated = await syncRepository.updateObjectState(tx, this.run.id, objectState.objectType, {
        status: 'SKIPPED',
        error: reason,
        finishedAt: new Date(),
      });
      events.push(await this.record(tx, updated, { kind: 'OBJECT_COMPLETED', message: reason }));
    });
    this.log.info({ objectType: objectState.objectType }, 'stripe sync: object type skipped (no permission)');
  }

  private async failObject(objectState: StripeSyncObjectState, error: string) {
    await this.transaction(async (tx, events) => {
      const updated = await syncRepository.updateObjectState(tx, this.run.id, objectState.objectType, {
        status: 'FAILED',
        error,
        finishedAt: new Date(),
      });
      events.push(await this.record(tx, updated, { kind: 'OBJECT_FAILED', message: error }));
    });
    this.log.warn({ objectType: objectState.objectType, error }, 'stripe sync: object type failed');
  }

  /** Ends the run: SUCCEEDED only when every object type completed. */
  private async finish(ending: Ending): Promise<RunOutcome> {
    const ended = await this.transaction(async (tx, events) => {
      const { run, event } = await endRun(tx, this.run, ending, new Date());
      events.push(event);
      return run;
    });
    this.run = ended;
    this.log.info({ status: ended.status }, 'stripe sync run finished');
    return { kind: 'finished', status: ended.status };
  }

  private async onStopped(reason: StopReason): Promise<RunOutcome> {
    if (reason === 'lease-lost') {
      this.log.warn('stripe sync: lease lost to another worker; stopping without writing');
      return { kind: 'lease-lost' };
    }
    if (reason === 'shutdown') {
      await this.release('worker stopping; the run resumes from its last page on the next worker');
      return { kind: 'interrupted' };
    }
    return this.finish({
      canceled: true,
      message: reason === 'cancel' ? 'canceled' : 'canceled: the environment now uses another Stripe account',
    });
  }

  /** Hands the run back (still RUNNING, lease expired) so any worker resumes it at once. */
  private async release(message: string) {
    await this.transaction(async (tx, events) => {
      if (await syncRepository.releaseRun(tx, this.run.id, this.workerId))
        events.push(
          await recordSyncEvent(tx, this.run, {
            ...runEventBase(this.run, null),
            runObjects: this.runObjects,
            objects: this.runObjects,
            kind: 'RUN_INTERRUPTED',
            message,
          }),
        );
    });
  }

  private startHeartbeat() {
    const { leaseMs } = this.deps.config.stripeSync;
    const renew = () => syncRepository.renewLease(this.deps.db, { runId: this.run.id, workerId: this.workerId, leaseMs });
    this.stopHeartbeat = startLeaseHeartbeat(renew, {
      leaseMs,
      onLost: () => this.stop('lease-lost'),
      onCancel: () => this.stop('cancel'),
      onError: (error) => this.log.warn({ err: { type: (error as Error).name } }, 'stripe sync: lease renewal failed'),
    });
  }

  private eventOf(
    objectState: StripeSyncObjectState,
    input: Pick<SyncEventInput, 'kind' | 'message'>,
    sequence: number,
    at: Date,
  ): SyncProgressEvent {
    return {
      ...this.eventInput(objectState, input),
      runId: this.run.id,
      projectId: this.run.projectId,
      environment: this.run.environment,
      sequence,
      at,
    };
  }

  private eventInput(objectState: StripeSyncObjectState, input: Pick<SyncEventInput, 'kind' | 'message'>): SyncEventInput {
    return {
      runStatus: 'RUNNING',
      objectType: objectState.objectType,
      objectStatus: objectState.status,
      pages: objectState.pages,
      objects: objectState.objects,
      runObjects: this.runObjects,
      total: objectState.total,
      retries: this.retries.get(objectState.objectType) ?? objectState.retries,
      summary: null,
      ...input,
    };
  }

  private record(tx: Tx, objectState: StripeSyncObjectState, input: Pick<SyncEventInput, 'kind' | 'message'>) {
    return recordSyncEvent(tx, this.run, this.eventInput(objectState, input));
  }

  private async emit(input: Pick<SyncEventInput, 'kind' | 'message'>) {
    await this.transaction(async (tx, events) => {
      events.push(
        await recordSyncEvent(tx, this.run, {
          ...runEventBase({ ...this.run, status: 'RUNNING' }, null),
          runObjects: this.runObjects,
          objects: this.runObjects,
          ...input,
        }),
      );
    });
  }

  /** A Prisma transaction whose events are published once it has committed. */
  private transaction<T>(work: (tx: Tx, events: SyncProgressEvent[]) => Promise<T>): Promise<T> {
    return this.publishedOnCommit((inner) => this.deps.db.prisma.$transaction(inner, { timeout: 60_000 }), work);
  }

  /**
   * The same with raw statements (`Database.transaction`): a page's upsert carries the whole page as
   * one parameter, which cost Prisma's engine more than the database (README, Stripe sync).
   */
  private rawTransaction<T>(work: (sql: SqlQuery, events: SyncProgressEvent[]) => Promise<T>): Promise<T> {
    return this.publishedOnCommit((inner) => this.deps.db.transaction(inner), work);
  }

  private async publishedOnCommit<Sql, T>(
    begin: (inner: (sql: Sql) => Promise<T>) => Promise<T>,
    work: (sql: Sql, events: SyncProgressEvent[]) => Promise<T>,
  ): Promise<T> {
    const events: SyncProgressEvent[] = [];
    const result = await begin((sql) => work(sql, events));
    publishSyncEvents(this.deps.events, events);
    return result;
  }
}

import type { StripeEnvironment } from '../../../src/generated/prisma/enums.js';
import { OBJECT_TYPES, SYNC_OBJECT_TYPES } from '../../../src/features/stripe/mirror/object-types.js';
import { graphql } from '../../../src/generated/graphql/index.js';
import { expectOk } from '../../support/assertions.js';
import type { CollectionName } from '../../support/fake-stripe.js';
import { startStripeHarness, type StripeHarness } from '../support.js';

/**
 * The Stripe harness plus a running sync worker, short retry delays and small pages, so a few
 * thousand objects make many pages. Documents for the sync suites live here too.
 */

export const SYNC_TEST_ENV = {
  STRIPE_SYNC_PAGE_SIZE: '50',
  STRIPE_SYNC_RETRY_BASE_MS: '5',
  STRIPE_SYNC_RETRY_MAX_MS: '40',
  STRIPE_SYNC_MAX_RETRIES: '4',
  STRIPE_SYNC_POLL_SECONDS: '0.2',
  STRIPE_SYNC_LEASE_SECONDS: '2',
  // One object type at a time keeps event order predictable; parallel lanes have their own test.
  STRIPE_SYNC_PARALLEL_OBJECTS: '1',
};

export const SyncRunFields = graphql(`
  fragment SyncRunFields on StripeSyncRun {
    id projectId environment accountId status trigger objects attempts error createdAt startedAt finishedAt cancelRequestedAt
    summary { status objects pages durationMs objectTypes { objectType status pages objects retries error listed insertedByVerification markedDeleted } }
    progress { objectType status pages objects total retries error listed insertedByVerification markedDeleted }
  }
`);

export const StartSync = graphql(`
  mutation SyncSuiteStart($projectId: ID!, $environment: StripeEnvironment!, $objects: [StripeSyncObject!]) {
    startStripeSync(projectId: $projectId, environment: $environment, objects: $objects) { ...SyncRunFields }
  }
`);

export const CancelSync = graphql(`
  mutation SyncSuiteCancel($runId: ID!) {
    cancelStripeSync(runId: $runId) { ...SyncRunFields }
  }
`);

export const ReadSyncRun = graphql(`
  query SyncSuiteRun($id: ID!, $afterSequence: Int, $eventCount: Int) {
    stripeSyncRun(id: $id) {
      ...SyncRunFields
      events(afterSequence: $afterSequence, first: $eventCount) { runId sequence kind runStatus objectType objectStatus pages objects runObjects total retries message summary { status objects } }
    }
  }
`);

export const ListSyncRuns = graphql(`
  query SyncSuiteRuns($projectId: ID!, $environment: StripeEnvironment, $first: Int, $after: String) {
    stripeSyncRuns(projectId: $projectId, environment: $environment, first: $first, after: $after) {
      totalCount
      edges { cursor node { id status trigger } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const SYNC_PROGRESS_SUBSCRIPTION = /* GraphQL */ `
  subscription SyncProgress($projectId: ID!, $environment: StripeEnvironment!) {
    stripeSyncProgress(projectId: $projectId, environment: $environment) {
      runId sequence kind runStatus objectType objectStatus pages objects runObjects total message
      summary { status objects pages objectTypes { objectType status objects error } }
    }
  }
`;

/** Every collection Coffer syncs, in the fake's names. */
export const ALL_COLLECTIONS: CollectionName[] = [...SYNC_OBJECT_TYPES];

export type SyncHarness = Awaited<ReturnType<typeof startSyncHarness>>;

export async function startSyncHarness({ env = {}, worker = true }: { env?: Record<string, string>; worker?: boolean } = {}) {
  const h: StripeHarness = await startStripeHarness({ env: { ...SYNC_TEST_ENV, ...env } });
  if (worker) h.app.services.syncWorker.start();

  /**
   * A project configured with a test key of a fresh account seeded with `counts`. Configuring
   * queues the first sync on its own (trigger CONFIGURE); `waitForRun` follows it.
   */
  async function seededProject(counts: Partial<Record<CollectionName, number>>, { environment = 'TEST' as StripeEnvironment } = {}) {
    const account = h.account(`Sync ${Math.random().toString(36).slice(2, 8)}`);
    const mode = environment === 'LIVE' ? 'live' : 'test';
    for (const collection of ALL_COLLECTIONS) h.fake.seed(account.id, mode, collection, counts[collection] ?? 0);
    const project = await h.project();
    const key = h.key(account.id, { mode });
    const configured = expectOk(await h.configure(project.id, environment === 'LIVE' ? { liveSecretKey: key } : { testSecretKey: key }));
    const runId = configured.configureStripe!.results[0]?.syncRunId ?? null;
    return { project, projectId: project.id, account, key, environment, firstRunId: runId };
  }

  async function readRun(id: string, credential = h.app.owner.key) {
    return expectOk(await h.execute(ReadSyncRun, { id, afterSequence: 0, eventCount: 1000 }, { credential })).stripeSyncRun;
  }

  /** Polls the run until it has ended (or `until` holds); fails after `timeoutMs`. */
  async function waitForRun(
    id: string,
    { timeoutMs = 30_000, until }: { timeoutMs?: number; until?: (run: Awaited<ReturnType<typeof readRun>>) => boolean } = {},
  ) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = await readRun(id);
      if (until ? until(run) : ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(run.status)) return run;
      if (Date.now() > deadline) throw new Error(`sync run ${id} still ${run.status} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Sorted Stripe ids stored for a project in the mirror table of one collection. */
  async function storedIds(collection: CollectionName, projectId: string, environment: StripeEnvironment = 'TEST') {
    const rows = await h.app.db.prisma.$queryRawUnsafe<Array<{ stripe_id: string }>>(
      `SELECT stripe_id FROM ${tableOf(collection)} WHERE project_id = $1::uuid AND environment = $2::"StripeEnvironment" ORDER BY stripe_id`,
      projectId,
      environment,
    );
    return rows.map((row) => row.stripe_id);
  }

  /** Sorted ids the fake holds for a collection (what a complete sync must store). */
  function fakeIds(accountId: string, collection: CollectionName, mode: 'test' | 'live' = 'test') {
    const seeded = h.fake.seed(accountId, mode, collection, 0);
    return Array.from({ length: seeded.count }, (_, index) => seeded.idAt(index)).sort();
  }

  return { ...h, harness: h, seededProject, readRun, waitForRun, storedIds, fakeIds };
}

/** The table that mirrors a collection: Coffer's own map, the one source of truth. */
export const tableOf = (collection: CollectionName) => OBJECT_TYPES[collection].table;

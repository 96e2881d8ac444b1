import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRIPE_API_VERSION } from '../../../src/features/stripe/client/stripe-client.js';
import { StripeSyncWorker } from '../../../src/features/stripe/sync/sync-worker.js';
import { ListSyncRuns, startSyncHarness, type SyncHarness } from './support.js';
import { expectOk } from '../../support/assertions.js';

/**
 * Each mirrored row records the Stripe API version it was written under. When Coffer's pinned
 * version changes, a starting worker finds rows of the previous one and queues a re-sync of
 * exactly those object types (trigger API_VERSION).
 */

let h: SyncHarness;
beforeAll(async () => {
  h = await startSyncHarness();
});
afterAll(() => h.close());

describe('the API version of mirrored rows', () => {
  it('is recorded on every row (items too); rows of another version are re-synced when a worker starts', async () => {
    const { projectId, account, firstRunId } = await h.seededProject({ customers: 4, subscriptions: 3, products: 2 });
    expect((await h.waitForRun(firstRunId!)).status).toBe('SUCCEEDED');
    for (const rows of [
      await h.app.db.prisma.stripeCustomer.findMany({ where: { projectId } }),
      await h.app.db.prisma.stripeSubscription.findMany({ where: { projectId } }),
      await h.app.db.prisma.stripeSubscriptionItem.findMany({ where: { projectId } }),
      await h.app.db.prisma.stripeProduct.findMany({ where: { projectId } }),
    ]) {
      expect(rows.length).toBeGreaterThan(0);
      expect(new Set(rows.map((row) => row.apiVersion))).toEqual(new Set([STRIPE_API_VERSION]));
    }

    // As if written by a release pinned to an older version: customers and subscription items.
    await h.app.db.prisma.stripeCustomer.updateMany({ where: { projectId }, data: { apiVersion: '2025-03-31.basil' } });
    await h.app.db.prisma.stripeSubscriptionItem.updateMany({ where: { projectId }, data: { apiVersion: null } });

    const { db, keyring, config, logger, events } = h.app.services;
    const restarted = new StripeSyncWorker({ db, keyring, config, logger, events });
    restarted.start();
    try {
      const runs = async () =>
        expectOk(await h.execute(ListSyncRuns, { projectId, environment: 'TEST', first: 10 })).stripeSyncRuns.edges.map(
          (edge) => edge.node,
        );
      const deadline = Date.now() + 20_000;
      while (!(await runs()).some((run) => run.trigger === 'API_VERSION')) {
        if (Date.now() > deadline) throw new Error('no API_VERSION run was queued');
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const queued = (await runs()).find((run) => run.trigger === 'API_VERSION')!;
      const run = await h.waitForRun(queued.id);
      expect(run).toMatchObject({ status: 'SUCCEEDED', objects: ['CUSTOMERS', 'SUBSCRIPTIONS'] });
      expect(await h.app.db.prisma.stripeCustomer.count({ where: { projectId, apiVersion: STRIPE_API_VERSION } })).toBe(4);
      expect(await h.app.db.prisma.stripeSubscriptionItem.count({ where: { projectId, NOT: { apiVersion: STRIPE_API_VERSION } } })).toBe(0);
      expect(await h.storedIds('customers', projectId)).toEqual(h.fakeIds(account.id, 'customers'));
    } finally {
      await restarted.stop();
    }
  });
});

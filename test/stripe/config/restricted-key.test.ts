import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNC_OBJECT_TYPES } from '../../../src/features/stripe/mirror/object-types.js';
import { expectOk } from '../../support/assertions.js';
import { NO_LEAKS } from '../support.js';
import { startSyncHarness, type SyncHarness } from '../sync/support.js';

/**
 * A restricted key that may read only some object types: saving it reports, per object type,
 * whether it may read it (one `limit=1` list each), `stripeConfig` shows that report, and the sync
 * skips the types it may not read, with the reason, instead of failing the run.
 */

let h: SyncHarness;
beforeAll(async () => {
  h = await startSyncHarness();
});
afterAll(() => h.close());

interface Permission {
  objectType: string;
  readable: boolean;
  reason: string | null;
}
const ConfigPermissions = parse(`
  query RestrictedKeyPermissions($projectId: ID!) {
    stripeConfig(projectId: $projectId) { test { keyPermissions { objectType readable reason } } }
  }`) as TypedDocumentNode<{ stripeConfig: { test: { keyPermissions: Permission[] | null } | null } | null }, { projectId: string }>;

const READABLE = ['products', 'prices', 'customers'] as const;

describe('a restricted key', () => {
  it('is reported per object type on save, and the sync skips what it may not read', async () => {
    const account = h.account('Restricted Ltd');
    h.fake.seed(account.id, 'test', 'products', 3);
    h.fake.seed(account.id, 'test', 'customers', 4);
    h.fake.seed(account.id, 'test', 'invoices', 2);
    const key = h.key(account.id, { kind: 'restricted', permissions: { read: READABLE } });
    expect(key).toMatch(/^rk_test_/);
    const project = await h.project();
    const mark = h.fake.requests.length;
    const configured = expectOk(await h.configure(project.id, { testSecretKey: key }));

    // One cheap list per object type.
    const probes = h.fake.requests.slice(mark).filter((request) => String(request.query.limit) === '1');
    expect(probes.length).toBeGreaterThanOrEqual(SYNC_OBJECT_TYPES.length);

    const config = expectOk(await h.execute(ConfigPermissions, { projectId: project.id }));
    const report = config.stripeConfig!.test!.keyPermissions!;
    expect(report.map((entry) => entry.objectType)).toEqual(SYNC_OBJECT_TYPES.map((type) => type.toUpperCase()));
    for (const entry of report) {
      const readable = (READABLE as readonly string[]).includes(entry.objectType.toLowerCase());
      expect(entry, entry.objectType).toMatchObject({ readable, reason: readable ? null : expect.stringMatching(/lacks the permission/) });
    }

    const run = await h.waitForRun(configured.configureStripe!.results[0]!.syncRunId!);
    expect(run.status).toBe('SUCCEEDED');
    const invoices = run.summary!.objectTypes.find((entry) => entry.objectType === 'INVOICES')!;
    expect(invoices.status).toBe('SKIPPED');
    expect(invoices.error).toMatch(/^skipped: the key may not read invoices/);
    expect(run.summary!.objectTypes.find((entry) => entry.objectType === 'CUSTOMERS')).toMatchObject({ status: 'SUCCEEDED', objects: 4 });
    expect(await h.storedIds('products', project.id)).toEqual(h.fakeIds(account.id, 'products'));
    expect(await h.storedIds('invoices', project.id)).toEqual([]);
    expect(await h.leaks()).toEqual(NO_LEAKS);
  });

  it('a secret key has no permission report', async () => {
    const { projectId } = await h.seededProject({ products: 1 });
    const config = expectOk(await h.execute(ConfigPermissions, { projectId }));
    expect(config.stripeConfig!.test!.keyPermissions).toBeNull();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBootstrapAdmin } from '../../src/features/credentials/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { operatorChosenKey } from '../support/processes.js';

/**
 * Replicas of one deployment start at once with the same COFFER_ADMIN_API_KEY: each registers it,
 * none fails to start, and the key works once.
 */
describe('the configured admin key, registered by replicas starting at once', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app?.close());

  it('is registered by one, found by the others, and signs in', async () => {
    const key = operatorChosenKey();
    const starts = await Promise.all(
      Array.from({ length: 6 }, () => ensureBootstrapAdmin({ db: app.db, keys: app.services.auth.keys, configuredKey: key })),
    );
    expect(starts.filter((start) => start.kind === 'registered-configured-key')).toHaveLength(1);
    expect(starts.filter((start) => start.kind === 'configured-key-unchanged')).toHaveLength(5);
    const me = await app.request({ query: '{ me { role } }' }, { credential: key });
    expect(me.json).toEqual({ data: { me: { role: 'ADMIN' } } });
  });
});

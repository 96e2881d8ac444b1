import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VaultListQueryVariables } from '../../src/generated/graphql/graphql.js';
import { createTestApp, errorCodes, type TestApp } from '../support/app.js';
import { expectOk } from '../support/assertions.js';
import { putSecret, uniqueName, VaultList, VaultReveal, VaultUpsert, VaultVersions } from './support.js';

/**
 * Writers racing on one name, and readers paging while writers insert. Every write of one
 * name is serialised on its row, so nothing is lost and `ifExists: FAIL` has one winner.
 */
describe('secrets under concurrency', () => {
  let app: TestApp;
  const WRITERS = 30;
  const asAdmin = () => ({ credential: app.admin.key });

  beforeAll(async () => {
    // Keep every version the race produces, so each one can be checked.
    app = await createTestApp({ env: { SECRET_VERSIONS_KEPT: '100' } });
  });
  afterAll(() => app.close());

  it(`${WRITERS} concurrent upserts of one name make versions 1..${WRITERS}, each exactly once, losing no write`, async () => {
    const name = uniqueName('RACE_REPLACE');
    const values = Array.from({ length: WRITERS }, (_, index) => `writer ${index}`);
    const responses = await Promise.all(values.map((value) => app.execute(VaultUpsert, { input: { name, value } }, asAdmin())));

    for (const response of responses) {
      expect(response.errors).toEqual([]);
      expect(response.status).toBe(200);
    }
    const returned = responses.map((response) => response.data?.upsertSecret!.currentVersion).sort((a, b) => (a ?? 0) - (b ?? 0));
    expect(returned).toEqual(Array.from({ length: WRITERS }, (_, index) => index + 1));
    expect(new Set(responses.map((response) => response.data?.upsertSecret!.id)).size).toBe(1);

    const versions = expectOk(await app.execute(VaultVersions, { name }, asAdmin())).secretVersions.map((entry) => entry.version);
    expect(versions).toEqual(Array.from({ length: WRITERS }, (_, index) => WRITERS - index));
    const current = expectOk(await app.execute(VaultReveal, { name }, asAdmin())).secret;
    expect(current.currentVersion).toBe(WRITERS);

    // Each writer's value is in exactly one version: none overwritten, none duplicated.
    const stored: string[] = [];
    for (const version of versions) stored.push(expectOk(await app.execute(VaultReveal, { name, version }, asAdmin())).secret.value);
    expect([...stored].sort()).toEqual([...values].sort());
  });

  it(`${WRITERS} concurrent creates with ifExists: FAIL: exactly one succeeds, the rest are CONFLICT`, async () => {
    const name = uniqueName('RACE_FAIL');
    const responses = await Promise.all(
      Array.from({ length: WRITERS }, (_, index) =>
        app.execute(VaultUpsert, { input: { name, value: `contender ${index}`, ifExists: 'FAIL' } }, asAdmin()),
      ),
    );
    const winners = responses.filter((response) => response.errors.length === 0);
    const losers = responses.filter((response) => response.errors.length > 0);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(WRITERS - 1);
    for (const loser of losers) {
      expect(errorCodes(loser)).toEqual(['CONFLICT']);
      expect(loser.status).toBeLessThan(500);
    }
    const winner = responses.indexOf(winners[0]!);
    expect(expectOk(await app.execute(VaultReveal, { name }, asAdmin())).secret).toMatchObject({
      currentVersion: 1,
      value: `contender ${winner}`,
    });
    expect(expectOk(await app.execute(VaultVersions, { name }, asAdmin())).secretVersions).toHaveLength(1);
  });

  it(`${WRITERS} concurrent check-and-set writes expecting the same version: exactly one succeeds`, async () => {
    const name = uniqueName('RACE_CAS');
    await putSecret(app, { name, value: 'base' });
    const responses = await Promise.all(
      Array.from({ length: WRITERS }, (_, index) =>
        app.execute(VaultUpsert, { input: { name, value: `cas ${index}`, expectedVersion: 1 } }, asAdmin()),
      ),
    );
    expect(responses.filter((response) => response.errors.length === 0)).toHaveLength(1);
    expect(responses.flatMap((response) => errorCodes(response))).toEqual(Array.from({ length: WRITERS - 1 }, () => 'CONFLICT'));
    expect(expectOk(await app.execute(VaultReveal, { name }, asAdmin())).secret.currentVersion).toBe(2);
  });

  /**
   * Pages through one prefix while inserts under it run alongside each page request. Inserts are
   * stamped at times spread over the existing secrets (the clock is moved for each), so they land
   * before, between and after the rows being paged: the hardest case for a cursor. A burst per
   * page, rather than a free-running writer, because a writer that never pauses starves readers
   * of the single embedded connection and the test would measure that instead.
   */
  async function pageWhileInserting(direction: 'forward' | 'backward') {
    const prefix = uniqueName(`PAGING_${direction.toUpperCase()}`);
    const start = app.clock.current.getTime();
    const existing = new Set<string>();
    for (let index = 0; index < 40; index += 1) {
      app.clock.current = new Date(start + index * 10);
      existing.add((await putSecret(app, { name: `${prefix}_OLD_${index}`, value: 'v' }))!.id);
    }

    let inserted = 0;
    const insertBurst = async () => {
      for (let burst = 0; burst < 3; burst += 1) {
        app.clock.current = new Date(start + ((inserted * 37) % 420));
        await putSecret(app, { name: `${prefix}_NEW_${inserted}`, value: 'v' });
        inserted += 1;
      }
    };

    const seen: string[] = [];
    let pages = 0;
    let cursor: string | null = null;
    try {
      for (;;) {
        const variables: VaultListQueryVariables =
          direction === 'forward'
            ? { filter: { namePrefix: prefix }, first: 7, after: cursor }
            : { filter: { namePrefix: prefix }, last: 7, before: cursor };
        const [response] = await Promise.all([app.execute(VaultList, variables, asAdmin()), insertBurst()]);
        const page = expectOk(response).secrets;
        seen.push(...page.edges.map((edge) => edge.node.id));
        pages += 1;
        const more = direction === 'forward' ? page.pageInfo.hasNextPage : page.pageInfo.hasPreviousPage;
        if (!more) break;
        if (pages > 100) throw new Error('paging does not end');
        cursor = (direction === 'forward' ? page.pageInfo.endCursor : page.pageInfo.startCursor) ?? null;
      }
    } finally {
      app.clock.current = new Date(start + 1_000);
    }
    return { existing, seen, pages, inserted };
  }

  for (const direction of ['forward', 'backward'] as const) {
    it(`paging ${direction} with 7 per page while secrets are inserted: every earlier secret exactly once, no duplicates`, async () => {
      const { existing, seen, pages, inserted } = await pageWhileInserting(direction);
      expect(inserted).toBeGreaterThan(0);
      expect(pages).toBeGreaterThanOrEqual(6);
      expect(seen.length).toBe(new Set(seen).size);
      for (const id of existing) expect(seen.filter((seenId) => seenId === id)).toHaveLength(1);
    });
  }
});

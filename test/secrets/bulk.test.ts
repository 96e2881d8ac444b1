import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { errorCodes, expectError, fieldsOf } from '../support/assertions.js';
import { findTrace } from '../support/leaks.js';
import { environmentCalls } from './support.js';

/**
 * Whole environments: `secretValues` (bulk reads), `isActive: false`, `copySecrets` and
 * `compareEnvironments`, through GraphQL.
 */

const UPSERT = `mutation ($input: UpsertSecretInput!) { upsertSecret(input: $input) { name currentVersion isActive } }`;
const UPDATE = `mutation ($input: UpdateSecretInput!) { updateSecret(input: $input) { name currentVersion isActive } }`;
const DELETE = `mutation ($name: String!, $scope: SecretScopeInput) { deleteSecret(name: $name, scope: $scope) { name } }`;
const REVEAL = `query ($name: String!, $scope: SecretScopeInput) { secret(name: $name, scope: $scope) { value isActive } }`;
const LIST = `query ($scope: SecretScopeInput) { secrets(scope: $scope, first: 50) { nodes { name isActive } } }`;
const VALUES = `query ($scope: SecretScopeInput!, $names: [String!], $raw: Boolean) {
  secretValues(scope: $scope, names: $names, raw: $raw) { name value version environment }
}`;
const COPY = `mutation ($p: ID!, $from: String!, $to: String!, $names: [String!], $overwrite: Boolean, $expected: [ExpectedVersionInput!]) {
  copySecrets(projectId: $p, from: $from, to: $to, names: $names, overwrite: $overwrite, expectedVersions: $expected) {
    name environment version created
  }
}`;
const COMPARE = `query ($p: ID!, $a: String!, $b: String!) {
  compareEnvironments(projectId: $p, a: $a, b: $b) { a b entries { name status versionInA versionInB } }
}`;
type Values = { secretValues: Array<{ name: string; value: string; version: number; environment: string | null }> };

describe('whole environments', () => {
  let app: TestApp;
  const { call, ok, scopeOf, environment } = environmentCalls(() => app, 'e');
  const put = (environmentName: string, name: string, value: string, extra: object = {}) =>
    ok(UPSERT, { input: { name, value, scope: scopeOf(environmentName), ...extra } });
  const values = async (variables: object, credential: string | null = app.owner.key) =>
    ((await ok(VALUES, variables, credential)) as Values).secretValues;
  const withRequestId = async (query: string, variables: object) => {
    const requestId = `bulk-${randomUUID()}`;
    const answer = await call(query, variables, app.owner.key, { 'x-request-id': requestId });
    return { answer, audit: await app.db.prisma.auditEvent.findMany({ where: { requestId }, orderBy: { targetName: 'asc' } }) };
  };
  const changeEvents = (environmentName: string) =>
    app.db.prisma.secretChangeEvent.findMany({
      where: { projectId: app.project.id, environment: environmentName },
      orderBy: { sequence: 'asc' },
    });

  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  describe('secretValues', () => {
    it('serves every active, live, unexpired secret of the environment by name, references expanded (raw: as stored)', async () => {
      const env = await environment();
      await put(env, 'DB_HOST', 'db.internal');
      await put(env, 'DB_URL', 'postgres://${DB_HOST}/app');
      await put(env, 'DB_URL', 'postgres://${DB_HOST}/app2');
      await put(env, 'DISABLED', 'off value', { isActive: false });
      await put(env, 'REMOVED', 'removed value');
      await ok(DELETE, { name: 'REMOVED', scope: scopeOf(env) });
      await put(env, 'SHORT_LIVED', 'short value', { expiresAt: new Date(app.clock.now().getTime() + 60_000).toISOString() });
      app.clock.advance(120_000);
      // Another environment's secrets are not served.
      await put(await environment(), 'ELSEWHERE', 'elsewhere value');

      expect(await values({ scope: scopeOf(env) })).toEqual([
        { name: 'DB_HOST', value: 'db.internal', version: 1, environment: env },
        { name: 'DB_URL', value: 'postgres://db.internal/app2', version: 2, environment: env },
      ]);
      expect((await values({ scope: scopeOf(env), raw: true })).map((entry) => entry.value)).toEqual([
        'db.internal',
        'postgres://${DB_HOST}/app2',
      ]);
    });

    it('names: only those, unknown and unserved names are simply absent', async () => {
      const env = await environment();
      await put(env, 'A', 'value a');
      await put(env, 'B', 'b uses ${A}');
      await put(env, 'C', 'value c');
      await put(env, 'OFF', 'value off', { isActive: false });
      const served = await values({ scope: scopeOf(env), names: ['B', 'NOT_THERE', 'OFF', 'B'] });
      expect(served).toEqual([{ name: 'B', value: 'b uses value a', version: 1, environment: env }]);
      expect(await values({ scope: scopeOf(env), names: [] })).toEqual([]);
    });

    it('an expired reserved secret stays readable on its own, but is never served in bulk', async () => {
      const env = await environment();
      const expiresAt = new Date(app.clock.now().getTime() + 60_000).toISOString();
      await ok(UPSERT, { input: { name: 'KEPT', value: 'kept value', scope: scopeOf(env), isReserved: true, expiresAt } }, app.admin.key);
      await put(env, 'FRESH', 'fresh value');
      app.clock.advance(120_000);
      expect(await ok(REVEAL, { name: 'KEPT', scope: scopeOf(env) })).toEqual({ secret: { value: 'kept value', isActive: true } });
      expect((await values({ scope: scopeOf(env) })).map((entry) => entry.name)).toEqual(['FRESH']);
      expect(await values({ scope: scopeOf(env), names: ['KEPT'] })).toEqual([]);
    });

    it('USER and ACCOUNT scopes have no environment', async () => {
      const name = `MINE_${randomUUID().replace(/-/g, '').slice(0, 8).toUpperCase()}`;
      await ok(UPSERT, { input: { name, value: 'my value', scope: { type: 'USER' } } }, app.stranger.key);
      expect(await values({ scope: { type: 'USER' } }, app.stranger.key)).toEqual([
        { name, value: 'my value', version: 1, environment: null },
      ]);
      await ok(UPSERT, { input: { name, value: 'account value', scope: { type: 'ACCOUNT' } } }, app.admin.key);
      expect(await values({ scope: { type: 'ACCOUNT' }, names: [name] }, app.admin.key)).toEqual([
        { name, value: 'account value', version: 1, environment: null },
      ]);
    });

    it('audits one record per value revealed, referenced secrets included', async () => {
      const env = await environment();
      await put(env, 'FIRST', 'first value');
      await put(env, 'SECOND', 'second value');
      await put(env, 'SECOND', 'uses ${OUTSIDE}');
      await put(env, 'OUTSIDE', 'outside value');
      const { answer, audit } = await withRequestId(VALUES, { scope: scopeOf(env), names: ['FIRST', 'SECOND'] });
      expect(answer.json.errors).toBeUndefined();
      expect(audit.map((row) => [row.action, row.outcome, row.targetName, row.environment, row.reason, row.actorId])).toEqual([
        ['secret.reveal', 'SUCCESS', 'FIRST', env, 'version 1, bulk read', app.owner.user.id],
        ['secret.reveal', 'SUCCESS', 'OUTSIDE', env, `version 1, through a reference from ${env}.SECOND`, app.owner.user.id],
        ['secret.reveal', 'SUCCESS', 'SECOND', env, 'version 2, bulk read', app.owner.user.id],
      ]);
      for (const value of ['first value', 'outside value', 'uses ${OUTSIDE}']) {
        expect(findTrace(JSON.stringify(audit), value)).toBeNull();
        expect(findTrace(JSON.stringify(app.logs), value)).toBeNull();
      }
    });

    it('more than 500 without names is BAD_USER_INPUT naming the limit, revealing and recording nothing; with names it serves', async () => {
      // 501 secrets in the admin's USER scope, written straight to the tables (each with a copy of one real version).
      await ok(UPSERT, { input: { name: 'MANY_0000', value: 'the real one', scope: { type: 'USER' } } }, app.admin.key);
      await app.db.prisma.$executeRaw`
        WITH s AS (
          INSERT INTO secrets (id, scope, owner_id, environment_id, name, current_version, created_at, updated_at)
          SELECT gen_random_uuid(), 'USER', ${app.admin.user.id}::uuid, '00000000-0000-0000-0000-000000000000'::uuid,
                 'MANY_' || lpad(n::text, 4, '0'), 1, now(), now()
          FROM generate_series(1, 500) n RETURNING id)
        INSERT INTO secret_versions (secret_id, version, key_id, wrapped_key, iv, tag, ciphertext, created_at)
        SELECT s.id, 1, v.key_id, v.wrapped_key, v.iv, v.tag, v.ciphertext, now() FROM s,
          (SELECT sv.* FROM secret_versions sv JOIN secrets x ON x.id = sv.secret_id
           WHERE x.name = 'MANY_0000' AND x.owner_id = ${app.admin.user.id}::uuid) v`;
      const requestId = `cap-${randomUUID()}`;
      const refused = await call(VALUES, { scope: { type: 'USER' } }, app.admin.key, { 'x-request-id': requestId });
      const error = expectError(refused, 'BAD_USER_INPUT');
      expect(error.message).toContain('at most 500');
      expect(fieldsOf(refused)).toEqual(['names']);
      expect(await app.db.prisma.auditEvent.count({ where: { requestId } })).toBe(0);

      expect(await values({ scope: { type: 'USER' }, names: ['MANY_0000', 'MANY_9999'] }, app.admin.key)).toEqual([
        { name: 'MANY_0000', value: 'the real one', version: 1, environment: null },
      ]);
      const tooMany = Array.from({ length: 501 }, (_, index) => `N_${index}`);
      expect(fieldsOf(expectErrorOf(await call(VALUES, { scope: { type: 'USER' }, names: tooMany }, app.admin.key)))).toEqual(['names']);
    });

    it('refuses a stranger as revealing would (NOT_FOUND), audited', async () => {
      const env = await environment();
      await put(env, 'PRIVATE', 'private value');
      const answer = await call(VALUES, { scope: scopeOf(env) }, app.stranger.key);
      expect(expectError(answer, 'NOT_FOUND').message).toBe('Project was not found.');
      expect(findTrace(answer.text, 'private value')).toBeNull();
      const denied = await app.db.prisma.auditEvent.findMany({ where: { actorId: app.stranger.user.id, action: 'secret.secretValues' } });
      expect(denied).toEqual([expect.objectContaining({ outcome: 'DENIED', reason: 'not the project owner' })]);
    });
  });

  describe('isActive: false', () => {
    it('is not served to bulk reads or references; its owner still sees and reveals it, flagged inactive', async () => {
      const env = await environment();
      await put(env, 'TOGGLED', 'toggled value');
      await put(env, 'USES_TOGGLED', 'via ${TOGGLED}');
      const off = (await ok(UPDATE, { input: { name: 'TOGGLED', scope: scopeOf(env), isActive: false } })) as {
        updateSecret: { isActive: boolean; currentVersion: number };
      };
      expect(off.updateSecret).toEqual({ name: 'TOGGLED', isActive: false, currentVersion: 1 });

      expect(await ok(LIST, { scope: scopeOf(env) })).toEqual({
        secrets: {
          nodes: expect.arrayContaining([
            { name: 'TOGGLED', isActive: false },
            { name: 'USES_TOGGLED', isActive: true },
          ]),
        },
      });
      for (const credential of [app.owner.key, app.admin.key]) {
        expect(await ok(REVEAL, { name: 'TOGGLED', scope: scopeOf(env) }, credential)).toEqual({
          secret: { value: 'toggled value', isActive: false },
        });
      }
      // Bulk reads leave it out; a value referencing it is not served.
      const bulk = await call(VALUES, { scope: scopeOf(env) });
      expect(expectError(bulk, 'UNRESOLVED_REFERENCE').extensions).toMatchObject({
        reason: 'INACTIVE',
        chain: [`${env}.USES_TOGGLED`, `${env}.TOGGLED`],
      });
      expect(findTrace(bulk.text, 'toggled value')).toBeNull();
      expect(await values({ scope: scopeOf(env), raw: true })).toEqual([
        { name: 'USES_TOGGLED', value: 'via ${TOGGLED}', version: 1, environment: env },
      ]);
      expect(
        expectError(await call(REVEAL, { name: 'USES_TOGGLED', scope: scopeOf(env) }), 'UNRESOLVED_REFERENCE').extensions,
      ).toMatchObject({
        reason: 'INACTIVE',
      });

      // Upsert sets it too; active again, it is served again.
      await put(env, 'TOGGLED', 'toggled value', { isActive: true });
      expect((await values({ scope: scopeOf(env) })).map((entry) => [entry.name, entry.value])).toEqual([
        ['TOGGLED', 'toggled value'],
        ['USES_TOGGLED', 'via toggled value'],
      ]);
    });
  });

  describe('copySecrets', () => {
    it('copies every served secret into another environment as new versions, audited and announced, never returning a value', async () => {
      const [from, to] = [await environment(), await environment()];
      await put(from, 'API_URL', 'https://staging.api');
      await put(from, 'API_KEY', 'staging-key');
      await put(from, 'API_KEY', 'staging-key-2');
      await put(from, 'LINKED', '${API_URL}/v1');
      await put(from, 'PAUSED', 'paused value', { isActive: false });
      await put(to, 'UNRELATED', 'stays');

      const { answer, audit } = await withRequestId(COPY, { p: app.project.id, from, to });
      expect(answer.json.errors, answer.text).toBeUndefined();
      expect(answer.json.data).toEqual({
        copySecrets: [
          { name: 'API_KEY', environment: to, version: 1, created: true },
          { name: 'API_URL', environment: to, version: 1, created: true },
          { name: 'LINKED', environment: to, version: 1, created: true },
        ],
      });
      for (const value of ['https://staging.api', 'staging-key-2', 'paused value']) expect(findTrace(answer.text, value)).toBeNull();
      // References are copied as written: promoted, ${API_URL} names the target's API_URL.
      expect(await values({ scope: scopeOf(to), raw: true })).toEqual([
        { name: 'API_KEY', value: 'staging-key-2', version: 1, environment: to },
        { name: 'API_URL', value: 'https://staging.api', version: 1, environment: to },
        { name: 'LINKED', value: '${API_URL}/v1', version: 1, environment: to },
        { name: 'UNRELATED', value: 'stays', version: 1, environment: to },
      ]);
      expect(audit.map((row) => [row.action, row.targetName, row.environment, row.reason])).toEqual([
        ['secret.create', 'API_KEY', to, `copied from ${from} (version 2)`],
        ['secret.create', 'API_URL', to, `copied from ${from} (version 1)`],
        ['secret.create', 'LINKED', to, `copied from ${from} (version 1)`],
      ]);
      expect((await changeEvents(to)).slice(1).map((event) => [event.kind, event.name, event.version])).toEqual([
        ['CREATED', 'API_KEY', 1],
        ['CREATED', 'API_URL', 1],
        ['CREATED', 'LINKED', 1],
      ]);
      expect(findTrace(JSON.stringify(await changeEvents(to)), 'staging-key-2')).toBeNull();
    });

    it('without overwrite, names taken at the target are a CONFLICT naming them, and nothing changes', async () => {
      const [from, to] = [await environment(), await environment()];
      await put(from, 'ONE', 'one from');
      await put(from, 'TWO', 'two from');
      await put(from, 'THREE', 'three from');
      await put(to, 'TWO', 'two to');
      await put(to, 'THREE', 'three to');
      const before = {
        rows: await app.db.prisma.secret.count(),
        versions: await app.db.prisma.secretVersion.count(),
        events: (await changeEvents(to)).length,
      };
      const { answer, audit } = await withRequestId(COPY, { p: app.project.id, from, to });
      const error = expectError(answer, 'CONFLICT');
      expect(error.message).toContain('THREE, TWO');
      expect(error.extensions).toMatchObject({ names: ['THREE', 'TWO'] });
      expect(audit).toEqual([]);
      expect({
        rows: await app.db.prisma.secret.count(),
        versions: await app.db.prisma.secretVersion.count(),
        events: (await changeEvents(to)).length,
      }).toEqual(before);
      expect((await values({ scope: scopeOf(to) })).map((entry) => entry.value)).toEqual(['three to', 'two to']);

      // With overwrite: new versions where the name was taken.
      const copied = await ok(COPY, { p: app.project.id, from, to, overwrite: true });
      expect(copied.copySecrets).toEqual([
        { name: 'ONE', environment: to, version: 1, created: true },
        { name: 'THREE', environment: to, version: 2, created: false },
        { name: 'TWO', environment: to, version: 2, created: false },
      ]);
      expect((await values({ scope: scopeOf(to) })).map((entry) => entry.value)).toEqual(['one from', 'three from', 'two from']);
      expect((await changeEvents(to)).slice(-3).map((event) => [event.kind, event.name, event.version])).toEqual([
        ['CREATED', 'ONE', 1],
        ['VERSION_CREATED', 'THREE', 2],
        ['VERSION_CREATED', 'TWO', 2],
      ]);
    });

    it('names and check-and-set: a stale expected version changes nothing; bad names and one environment twice are BAD_USER_INPUT', async () => {
      const [from, to] = [await environment(), await environment()];
      await put(from, 'PICKED', 'picked v1');
      await put(from, 'LEFT', 'left alone');
      await put(from, 'OFF', 'off', { isActive: false });
      await put(to, 'PICKED', 'old target');
      const stale = await call(COPY, {
        p: app.project.id,
        from,
        to,
        names: ['PICKED'],
        overwrite: true,
        expected: [{ name: 'PICKED', version: 0 }],
      });
      expect(expectError(stale, 'CONFLICT').message).toContain('PICKED is at version 1');
      expect((await values({ scope: scopeOf(to) })).map((entry) => entry.value)).toEqual(['old target']);

      const copied = await ok(COPY, {
        p: app.project.id,
        from,
        to,
        names: ['PICKED'],
        overwrite: true,
        expected: [{ name: 'PICKED', version: 1 }],
      });
      expect(copied.copySecrets).toEqual([{ name: 'PICKED', environment: to, version: 2, created: false }]);
      expect((await values({ scope: scopeOf(to) })).map((entry) => [entry.name, entry.value])).toEqual([['PICKED', 'picked v1']]);

      expect(fieldsOf(await call(COPY, { p: app.project.id, from, to, names: ['OFF', 'NOPE'] }))).toEqual(['names']);
      expect(fieldsOf(await call(COPY, { p: app.project.id, from, to: from }))).toEqual(['to']);
      expect(fieldsOf(await call(COPY, { p: app.project.id, from, to: 'no-such-env' }))).toEqual(['to']);
      expect(
        fieldsOf(await call(COPY, { p: app.project.id, from, to, expected: [{ name: 'LEFT_OUT', version: 0 }], names: ['PICKED'] })),
      ).toEqual(['expectedVersions']);
      expect((await values({ scope: scopeOf(to) })).map((entry) => [entry.name, entry.version])).toEqual([['PICKED', 2]]);
    });
  });

  describe('copySecrets, concurrently', () => {
    it('two copies into one environment: one wins, the other is a CONFLICT; a write meanwhile is neither lost nor deadlocked', async () => {
      const [from, to] = [await environment(), await environment()];
      for (const name of ['P', 'Q', 'R']) await put(from, name, `${name.toLowerCase()} value`);
      const [first, second, write] = await Promise.all([
        call(COPY, { p: app.project.id, from, to }),
        call(COPY, { p: app.project.id, from, to }),
        call(UPSERT, { input: { name: 'S', value: 's value', scope: scopeOf(to) } }),
      ]);
      expect(write.json.errors).toBeUndefined();
      const outcomes = [first, second].map((answer) => (answer.json.errors ? errorCodes(answer) : 'ok'));
      expect(outcomes.sort()).toEqual([['CONFLICT'], 'ok']);
      expect((await values({ scope: scopeOf(to) })).map((entry) => [entry.name, entry.version])).toEqual([
        ['P', 1],
        ['Q', 1],
        ['R', 1],
        ['S', 1],
      ]);
    });
  });

  describe('compareEnvironments', () => {
    it('tells per name: only in a, only in b, same or different, and never a value', async () => {
      const [a, b] = [await environment(), await environment()];
      const secretsOf = {
        [a]: { ONLY_A: 'alpha-only-value', SHARED_SAME: 'same-value-123', SHARED_DIFF: 'diff-value-a', REF: '${SHARED_DIFF}' },
        [b]: { ONLY_B: 'beta-only-value', SHARED_SAME: 'same-value-123', SHARED_DIFF: 'diff-value-b', REF: '${SHARED_DIFF}' },
      };
      for (const [environmentName, secrets] of Object.entries(secretsOf)) {
        for (const [name, value] of Object.entries(secrets)) await put(environmentName, name, value);
      }
      await put(b, 'SHARED_SAME', 'same-value-123');
      const { answer, audit } = await withRequestId(COMPARE, { p: app.project.id, a, b });
      expect(answer.json.errors, answer.text).toBeUndefined();
      expect(answer.json.data).toEqual({
        compareEnvironments: {
          a,
          b,
          entries: [
            { name: 'ONLY_A', status: 'ONLY_IN_A', versionInA: 1, versionInB: null },
            { name: 'ONLY_B', status: 'ONLY_IN_B', versionInA: null, versionInB: 1 },
            // Stored texts are compared: the same reference is the same text.
            { name: 'REF', status: 'SAME', versionInA: 1, versionInB: 1 },
            { name: 'SHARED_DIFF', status: 'DIFFERENT', versionInA: 1, versionInB: 1 },
            { name: 'SHARED_SAME', status: 'SAME', versionInA: 1, versionInB: 2 },
          ],
        },
      });
      expect(audit).toEqual([
        expect.objectContaining({
          action: 'secret.compareEnvironments',
          outcome: 'SUCCESS',
          environment: a,
          targetName: b,
          reason: `${a} vs ${b}: 2 same, 1 different, 1 only in ${a}, 1 only in ${b}`,
        }),
      ]);
      for (const value of Object.values(secretsOf).flatMap((secrets) => Object.values(secrets))) {
        if (value.startsWith('$')) continue;
        expect(findTrace(answer.text, value), value).toBeNull();
        expect(findTrace(JSON.stringify(audit), value), value).toBeNull();
        expect(findTrace(JSON.stringify(app.logs), value), value).toBeNull();
      }
    });

    it('refuses a stranger (NOT_FOUND) and names an unknown environment to the owner', async () => {
      const env = await environment();
      expect(expectError(await call(COMPARE, { p: app.project.id, a: env, b: 'production' }, app.stranger.key), 'NOT_FOUND').message).toBe(
        'Project was not found.',
      );
      expect(fieldsOf(await call(COMPARE, { p: app.project.id, a: env, b: 'nowhere' }))).toEqual(['b']);
      expect(fieldsOf(await call(COMPARE, { p: app.project.id, a: env, b: env }))).toEqual(['b']);
      expect(fieldsOf(await call(COMPARE, { p: app.project.id, a: 'Bad Name', b: env }))).toEqual(['a']);
    });
  });
});

function expectErrorOf(answer: Parameters<typeof expectError>[0]) {
  expectError(answer, 'BAD_USER_INPUT');
  return answer;
}

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineWithKey } from '../../src/features/machine-identities/machine-identities.factory.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { errorCodes, expectError, fieldsOf } from '../support/assertions.js';
import { findTrace } from '../support/leaks.js';
import { environmentCalls } from './support.js';

/**
 * `upsertSecrets`, through GraphQL: many secrets of one scope written all or nothing. Every item
 * is checked before anything is written; a failed check-and-set writes nothing; what is written is
 * audited, versioned and announced per secret, as upsertSecret does.
 */

const UPSERT = `mutation ($input: UpsertSecretInput!) { upsertSecret(input: $input) { name currentVersion } }`;
const DELETE = `mutation ($name: String!, $scope: SecretScopeInput) { deleteSecret(name: $name, scope: $scope) { name } }`;
const BULK = `mutation ($scope: SecretScopeInput!, $secrets: [UpsertSecretsItemInput!]!) {
  upsertSecrets(scope: $scope, secrets: $secrets) { name environment currentVersion createdById updatedById }
}`;
const VALUES = `query ($scope: SecretScopeInput!) { secretValues(scope: $scope, raw: true) { name value version } }`;
type Item = { name: string; value: string; expectedVersion?: number | null };

describe('upsertSecrets', () => {
  let app: TestApp;
  const { call, ok, scopeOf, environment } = environmentCalls(() => app, 'w');
  const put = (environmentName: string, name: string, value: string) =>
    ok(UPSERT, { input: { name, value, scope: scopeOf(environmentName) } });
  const values = async (environmentName: string) =>
    ((await ok(VALUES, { scope: scopeOf(environmentName) })) as { secretValues: Array<{ name: string; value: string; version: number }> })
      .secretValues;
  const bulk = async (environmentName: string, secrets: Item[], credential: string | null = app.owner.key) => {
    const requestId = `bulk-write-${randomUUID()}`;
    const answer = await call(BULK, { scope: scopeOf(environmentName), secrets }, credential, { 'x-request-id': requestId });
    return { answer, audit: await app.db.prisma.auditEvent.findMany({ where: { requestId }, orderBy: { targetName: 'asc' } }) };
  };
  /** Everything a write could leave behind in one environment: rows, versions, change events. */
  const footprint = async (environmentName: string) => {
    const env = await app.db.prisma.environment.findFirstOrThrow({ where: { projectId: app.project.id, name: environmentName } });
    return {
      rows: await app.db.prisma.secret.count({ where: { environmentId: env.id } }),
      versions: await app.db.prisma.secretVersion.count({ where: { secret: { environmentId: env.id } } }),
      events: await app.db.prisma.secretChangeEvent.count({ where: { projectId: app.project.id, environment: environmentName } }),
    };
  };

  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('writes every item in one go: created and replaced, one version, audit record and change event each, never a value', async () => {
    const env = await environment();
    await put(env, 'EXISTING', 'old value');
    await put(env, 'REVIVED', 'deleted value');
    await ok(DELETE, { name: 'REVIVED', scope: scopeOf(env) });
    const { answer, audit } = await bulk(env, [
      { name: 'NEW_ONE', value: 'new one value', expectedVersion: 0 },
      { name: 'EXISTING', value: 'existing value 2', expectedVersion: 1 },
      { name: 'REVIVED', value: 'revived value', expectedVersion: 0 },
      { name: 'NO_CHECK', value: 'unchecked value' },
    ]);
    expect(answer.json.errors, answer.text).toBeUndefined();
    const by = app.owner.user.id;
    expect(answer.json.data).toEqual({
      upsertSecrets: [
        { name: 'EXISTING', environment: env, currentVersion: 2, createdById: by, updatedById: by },
        { name: 'NEW_ONE', environment: env, currentVersion: 1, createdById: by, updatedById: by },
        { name: 'NO_CHECK', environment: env, currentVersion: 1, createdById: by, updatedById: by },
        { name: 'REVIVED', environment: env, currentVersion: 2, createdById: by, updatedById: by },
      ],
    });
    for (const value of ['new one value', 'existing value 2', 'revived value']) {
      expect(findTrace(answer.text, value)).toBeNull();
      expect(findTrace(JSON.stringify(audit), value)).toBeNull();
      expect(findTrace(JSON.stringify(app.logs), value)).toBeNull();
    }
    expect(await values(env)).toEqual([
      { name: 'EXISTING', value: 'existing value 2', version: 2 },
      { name: 'NEW_ONE', value: 'new one value', version: 1 },
      { name: 'NO_CHECK', value: 'unchecked value', version: 1 },
      { name: 'REVIVED', value: 'revived value', version: 2 },
    ]);
    expect(audit.map((row) => [row.action, row.outcome, row.targetName, row.environment, row.reason])).toEqual([
      ['secret.replace', 'SUCCESS', 'EXISTING', env, 'bulk write of 4'],
      ['secret.create', 'SUCCESS', 'NEW_ONE', env, 'bulk write of 4'],
      ['secret.create', 'SUCCESS', 'NO_CHECK', env, 'bulk write of 4'],
      ['secret.create', 'SUCCESS', 'REVIVED', env, 'bulk write of 4'],
    ]);
    const events = await app.db.prisma.secretChangeEvent.findMany({
      where: { projectId: app.project.id, environment: env },
      orderBy: { sequence: 'asc' },
    });
    expect(events.slice(-4).map((event) => [event.kind, event.name, event.version])).toEqual([
      ['VERSION_CREATED', 'EXISTING', 2],
      ['CREATED', 'NEW_ONE', 1],
      ['CREATED', 'NO_CHECK', 1],
      ['CREATED', 'REVIVED', 2],
    ]);
  });

  it('one invalid item writes nothing: BAD_USER_INPUT naming every item at fault, nothing audited', async () => {
    const env = await environment();
    await put(env, 'KEEP', 'kept value');
    const before = await footprint(env);
    const { answer, audit } = await bulk(env, [
      { name: 'FINE', value: 'fine value' },
      { name: 'KEEP', value: 'replaced value' },
      { name: 'EMPTY', value: '' },
      { name: 'BROKEN_REF', value: 'uses ${unclosed' },
    ]);
    const error = expectError(answer, 'BAD_USER_INPUT');
    expect(error.message).toContain('nothing was written');
    expect(fieldsOf(answer)).toEqual(['secrets.2.value', 'secrets.3.value']);
    expect(findTrace(answer.text, 'replaced value')).toBeNull();
    expect(audit).toEqual([]);
    expect(await footprint(env)).toEqual(before);
    expect(await values(env)).toEqual([{ name: 'KEEP', value: 'kept value', version: 1 }]);

    // A name given twice, or no secret name at all: refused the same way.
    const twice = await bulk(env, [
      { name: 'TWICE', value: 'a' },
      { name: 'OTHER', value: 'b' },
      { name: 'TWICE', value: 'c' },
    ]);
    expect(expectError(twice.answer, 'BAD_USER_INPUT').extensions?.fields).toEqual([
      { field: 'secrets', message: 'names given more than once: TWICE' },
    ]);
    expect(errorCodes((await bulk(env, [{ name: 'lower-case', value: 'x' }])).answer)).toEqual(['BAD_USER_INPUT']);
    expect(await footprint(env)).toEqual(before);
  });

  it('a failed check-and-set writes nothing: CONFLICT naming the secrets whose version moved', async () => {
    const env = await environment();
    await put(env, 'MOVED', 'v1');
    await put(env, 'MOVED', 'v2');
    await put(env, 'STILL', 'still v1');
    await put(env, 'APPEARED', 'appeared meanwhile');
    const before = await footprint(env);
    const { answer, audit } = await bulk(env, [
      { name: 'BRAND_NEW', value: 'brand new', expectedVersion: 0 },
      { name: 'STILL', value: 'still v2', expectedVersion: 1 },
      { name: 'MOVED', value: 'moved v3', expectedVersion: 1 },
      { name: 'APPEARED', value: 'mine', expectedVersion: 0 },
    ]);
    const error = expectError(answer, 'CONFLICT');
    expect(error.extensions).toMatchObject({ names: ['APPEARED', 'MOVED'] });
    expect(error.message).toContain('APPEARED at 1, MOVED at 2');
    expect(audit).toEqual([]);
    expect(await footprint(env)).toEqual(before);
    expect((await values(env)).map((entry) => [entry.name, entry.value])).toEqual([
      ['APPEARED', 'appeared meanwhile'],
      ['MOVED', 'v2'],
      ['STILL', 'still v1'],
    ]);
  });

  it(`more than 500 items is BAD_USER_INPUT naming the limit, and writes nothing; none is an empty answer`, async () => {
    const env = await environment();
    const items = Array.from({ length: 501 }, (_, index) => ({ name: `MANY_${index}`, value: `value ${index}` }));
    const { answer, audit } = await bulk(env, items);
    expectError(answer, 'BAD_USER_INPUT');
    expect(fieldsOf(answer)).toEqual(['secrets']);
    expect(answer.text).toContain('at most 500');
    expect(audit).toEqual([]);
    expect(await footprint(env)).toEqual({ rows: 0, versions: 0, events: 0 });
    expect(await ok(BULK, { scope: scopeOf(env), secrets: [] })).toEqual({ upsertSecrets: [] });
  });

  it('500 items are written in one transaction', { timeout: 120_000 }, async () => {
    const env = await environment();
    const items = Array.from({ length: 500 }, (_, index) => ({ name: `FULL_${index}`, value: `full value ${index}`, expectedVersion: 0 }));
    const { answer, audit } = await bulk(env, items);
    expect(answer.json.errors, answer.text).toBeUndefined();
    expect((answer.json.data as { upsertSecrets: unknown[] }).upsertSecrets).toHaveLength(500);
    expect(audit).toHaveLength(500);
    expect(await footprint(env)).toEqual({ rows: 500, versions: 500, events: 500 });
  });

  it('who may: the owner, an admin, a machine identity with SECRETS_WRITE there; a stranger is NOT_FOUND (audited), writing nothing', async () => {
    const env = await environment();
    const machine = async (permissions: Array<'SECRETS_READ' | 'SECRETS_WRITE'>) =>
      (
        await machineWithKey({
          db: app.db,
          keys: app.services.auth.keys,
          signals: app.services.signals,
          projectId: app.project.id,
          permissions,
          environments: [env],
        })
      ).key;
    expect(errorCodes((await bulk(env, [{ name: 'BY_ADMIN', value: 'a' }], app.admin.key)).answer)).toEqual([]);
    expect(errorCodes((await bulk(env, [{ name: 'BY_MACHINE', value: 'm' }], await machine(['SECRETS_WRITE']))).answer)).toEqual([]);
    expect(errorCodes((await bulk(env, [{ name: 'BY_READER', value: 'r' }], await machine(['SECRETS_READ']))).answer)).toEqual([
      'FORBIDDEN',
    ]);
    const stranger = await bulk(env, [{ name: 'BY_STRANGER', value: 's' }], app.stranger.key);
    expect(expectError(stranger.answer, 'NOT_FOUND').message).toBe('Project was not found.');
    expect(stranger.audit.map((row) => [row.action, row.outcome, row.reason])).toEqual([
      ['secret.upsertSecrets', 'DENIED', 'not the project owner'],
    ]);
    expect(errorCodes((await bulk(env, [{ name: 'ANONYMOUS', value: 'x' }], null)).answer)).toEqual(['UNAUTHENTICATED']);
    expect((await values(env)).map((entry) => entry.name)).toEqual(['BY_ADMIN', 'BY_MACHINE']);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { expectError } from '../support/assertions.js';

/** Project secrets live in an environment: (project, environment, name) is one secret. */

const UPSERT = `mutation ($input: UpsertSecretInput!) { upsertSecret(input: $input) { id name environment currentVersion } }`;
const REVEAL = `query ($name: String!, $scope: SecretScopeInput) { secret(name: $name, scope: $scope) { name environment value } }`;
const LIST = `query ($scope: SecretScopeInput) { secrets(scope: $scope, first: 50) { edges { node { name environment } } } }`;

describe('secrets in environments', () => {
  let app: TestApp;
  const project = (environment?: string) => ({ type: 'PROJECT', projectId: app.project.id, ...(environment ? { environment } : {}) });
  const call = (query: string, variables: object, credential = app.owner.key) => app.request({ query, variables }, { credential });

  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('one name holds a different value in each environment; omitted means production', async () => {
    for (const [environment, value] of [
      ['staging', 'sk_staging'],
      ['production', 'sk_production'],
      ['development', 'sk_development'],
    ] as const) {
      const answer = await call(UPSERT, { input: { name: 'STRIPE_KEY', value, scope: project(environment) } });
      expect(answer.json.data).toMatchObject({ upsertSecret: { name: 'STRIPE_KEY', environment, currentVersion: 1 } });
    }
    const reveal = async (scope: object) => (await call(REVEAL, { name: 'STRIPE_KEY', scope })).json.data;
    expect(await reveal(project('staging'))).toEqual({ secret: { name: 'STRIPE_KEY', environment: 'staging', value: 'sk_staging' } });
    expect(await reveal(project())).toEqual({ secret: { name: 'STRIPE_KEY', environment: 'production', value: 'sk_production' } });

    const list = await call(LIST, { scope: project('development') });
    expect(list.json.data).toEqual({ secrets: { edges: [{ node: { name: 'STRIPE_KEY', environment: 'development' } }] } });

    // A write in one environment leaves the others alone.
    await call(UPSERT, { input: { name: 'STRIPE_KEY', value: 'sk_staging_2', scope: project('staging') } });
    expect(await reveal(project('production'))).toMatchObject({ secret: { value: 'sk_production' } });
  });

  it('audit records name the environment', async () => {
    await call(UPSERT, { input: { name: 'AUDITED_IN_STAGING', value: 'v', scope: project('staging') } });
    const rows = await app.db.prisma.auditEvent.findMany({ where: { targetName: 'AUDITED_IN_STAGING' } });
    expect(rows.map((row) => [row.action, row.environment])).toEqual([['secret.create', 'staging']]);
  });

  it('an environment the project does not have is BAD_USER_INPUT naming it, and changes nothing', async () => {
    const answer = await call(UPSERT, { input: { name: 'NOWHERE', value: 'v', scope: project('qa') } });
    const error = expectError(answer, 'BAD_USER_INPUT');
    expect(error.extensions?.fields).toEqual([expect.objectContaining({ field: 'input.scope.environment' })]);
    expect(await app.db.prisma.secret.count({ where: { name: 'NOWHERE' } })).toBe(0);
    expectError(await call(REVEAL, { name: 'NOWHERE', scope: project('Not A Name') }), 'BAD_USER_INPUT');
  });

  it('environment is only for PROJECT scope', async () => {
    const answer = await call(
      UPSERT,
      { input: { name: 'ACCOUNT_THING', value: 'v', scope: { type: 'ACCOUNT', environment: 'staging' } } },
      app.admin.key,
    );
    const error = expectError(answer, 'BAD_USER_INPUT');
    expect(error.extensions?.fields).toEqual([expect.objectContaining({ field: 'input.scope.environment' })]);
  });

  it('a stranger learns nothing about which environments exist: NOT_FOUND either way', async () => {
    const real = await call(REVEAL, { name: 'STRIPE_KEY', scope: project('staging') }, app.stranger.key);
    const unknown = await call(REVEAL, { name: 'STRIPE_KEY', scope: project('qa') }, app.stranger.key);
    expect(expectError(real, 'NOT_FOUND').message).toBe(expectError(unknown, 'NOT_FOUND').message);
  });

  describe('managing environments (owners and admins)', () => {
    const ENVIRONMENTS = `query ($id: ID!) { project(id: $id) { environments { name } } }`;
    const CREATE = `mutation ($p: ID!, $n: String!) { createEnvironment(projectId: $p, name: $n) { id name } }`;
    const RENAME = `mutation ($p: ID!, $n: String!, $m: String!) { renameEnvironment(projectId: $p, name: $n, newName: $m) { id name } }`;
    const DELETE = `mutation ($p: ID!, $n: String!, $f: Boolean) { deleteEnvironment(projectId: $p, name: $n, force: $f) { name } }`;
    const names = async () =>
      (
        (await call(ENVIRONMENTS, { id: app.project.id })).json.data as { project: { environments: Array<{ name: string }> } }
      ).project.environments.map((environment) => environment.name);

    it('a new project has development, staging and production', async () => {
      expect((await names()).sort()).toEqual(['development', 'production', 'staging']);
    });

    it('creates one; a bad name is BAD_USER_INPUT and a taken one CONFLICT, changing nothing', async () => {
      expect((await call(CREATE, { p: app.project.id, n: 'qa' })).json.data).toMatchObject({ createEnvironment: { name: 'qa' } });
      expectError(await call(CREATE, { p: app.project.id, n: 'QA env' }), 'BAD_USER_INPUT');
      expectError(await call(CREATE, { p: app.project.id, n: 'qa' }), 'CONFLICT');
      expect((await names()).filter((name) => name === 'qa')).toHaveLength(1);
    });

    it('renaming keeps its secrets', async () => {
      await call(CREATE, { p: app.project.id, n: 'preview' });
      await call(UPSERT, { input: { name: 'PREVIEW_URL', value: 'https://preview', scope: project('preview') } });
      const renamed = await call(RENAME, { p: app.project.id, n: 'preview', m: 'review' });
      expect(renamed.json.data).toMatchObject({ renameEnvironment: { name: 'review' } });
      expect((await call(REVEAL, { name: 'PREVIEW_URL', scope: project('review') })).json.data).toMatchObject({
        secret: { environment: 'review', value: 'https://preview' },
      });
      expectError(await call(REVEAL, { name: 'PREVIEW_URL', scope: project('preview') }), 'BAD_USER_INPUT');
    });

    it('one holding secrets is deleted only with force, and then its secrets go too', async () => {
      await call(CREATE, { p: app.project.id, n: 'doomed' });
      await call(UPSERT, { input: { name: 'DOOMED_KEY', value: 'v', scope: project('doomed') } });
      expectError(await call(DELETE, { p: app.project.id, n: 'doomed' }), 'CONFLICT');
      expect(await names()).toContain('doomed');
      expect(await app.db.prisma.secret.count({ where: { name: 'DOOMED_KEY' } })).toBe(1);

      expect((await call(DELETE, { p: app.project.id, n: 'doomed', f: true })).json.data).toEqual({
        deleteEnvironment: { name: 'doomed' },
      });
      expect(await names()).not.toContain('doomed');
      expect(await app.db.prisma.secret.count({ where: { name: 'DOOMED_KEY' } })).toBe(0);
      const audit = await app.db.prisma.auditEvent.findMany({
        where: { targetType: 'environment', targetName: 'doomed' },
        orderBy: { at: 'asc' },
      });
      expect(audit.map((row) => [row.action, row.reason])).toEqual([
        ['environment.create', null],
        ['environment.delete', 'with 1 secret(s)'],
      ]);
    });

    it('an empty one is deleted without force; an unknown one is NOT_FOUND', async () => {
      await call(CREATE, { p: app.project.id, n: 'empty' });
      expect((await call(DELETE, { p: app.project.id, n: 'empty' })).json.data).toEqual({ deleteEnvironment: { name: 'empty' } });
      expectError(await call(DELETE, { p: app.project.id, n: 'empty' }), 'NOT_FOUND');
    });
  });
});

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
});

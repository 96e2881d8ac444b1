import { randomUUID } from 'node:crypto';
import { graphql } from '../../src/generated/graphql/index.js';
import type { SecretScopeInput, UpsertSecretInput } from '../../src/generated/graphql/graphql.js';
import { type CallOptions, type TestApp } from '../support/app.js';
import { expect } from 'vitest';
import { expectOk } from '../support/assertions.js';

/**
 * Typed documents and helpers shared by the secrets suites. Every document selects every
 * metadata field, so a test can assert on any of them; only `VaultReveal` selects `value`.
 */

export const VaultUpsert = graphql(`
  mutation VaultUpsert($input: UpsertSecretInput!) {
    upsertSecret(input: $input) {
      id scope projectId userId name description currentVersion isActive isReserved isExpired
      expiresAt lastUsedAt deletedAt createdAt updatedAt createdById updatedById
    }
  }
`);

export const VaultUpdate = graphql(`
  mutation VaultUpdate($input: UpdateSecretInput!) {
    updateSecret(input: $input) {
      id scope projectId userId name description currentVersion isActive isReserved isExpired
      expiresAt lastUsedAt deletedAt createdAt updatedAt createdById updatedById
    }
  }
`);

export const VaultDelete = graphql(`
  mutation VaultDelete($name: String!, $scope: SecretScopeInput) {
    deleteSecret(name: $name, scope: $scope) { id name currentVersion deletedAt updatedAt updatedById }
  }
`);

export const VaultRestore = graphql(`
  mutation VaultRestore($name: String!, $scope: SecretScopeInput) {
    restoreSecret(name: $name, scope: $scope) { id name currentVersion deletedAt updatedAt updatedById }
  }
`);

export const VaultRollback = graphql(`
  mutation VaultRollback($name: String!, $scope: SecretScopeInput, $version: Int!, $expectedVersion: Int) {
    rollbackSecret(name: $name, scope: $scope, version: $version, expectedVersion: $expectedVersion) { id name currentVersion updatedAt updatedById }
  }
`);

export const VaultDestroy = graphql(`
  mutation VaultDestroy($name: String!, $scope: SecretScopeInput) {
    destroySecret(name: $name, scope: $scope) { id name currentVersion }
  }
`);

/** The only document here that asks for a value. */
export const VaultReveal = graphql(`
  query VaultReveal($name: String!, $scope: SecretScopeInput, $version: Int) {
    secret(name: $name, scope: $scope, version: $version) { id name version currentVersion value lastUsedAt isExpired }
  }
`);

export const VaultMetadata = graphql(`
  query VaultMetadata($name: String!, $scope: SecretScopeInput, $version: Int) {
    secret(name: $name, scope: $scope, version: $version) {
      id scope projectId userId name description version currentVersion isActive isReserved isExpired
      expiresAt lastUsedAt deletedAt createdAt updatedAt createdById updatedById
    }
  }
`);

export const VaultList = graphql(`
  query VaultList($scope: SecretScopeInput, $filter: SecretFilter, $first: Int, $after: String, $last: Int, $before: String) {
    secrets(scope: $scope, filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      edges {
        cursor
        node {
          id scope projectId userId name description currentVersion isActive isReserved isExpired
          expiresAt lastUsedAt deletedAt createdAt updatedAt createdById updatedById
        }
      }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`);

export const VaultVersions = graphql(`
  query VaultVersions($name: String!, $scope: SecretScopeInput) {
    secretVersions(name: $name, scope: $scope) { version masterKeyId createdAt createdById }
  }
`);

export const VaultAuditEvents = graphql(`
  query VaultAuditEvents($filter: AuditEventFilter, $first: Int, $after: String) {
    auditEvents(filter: $filter, first: $first, after: $after) {
      edges {
        cursor
        node { id at actorId actorVia action targetType targetId targetName scope scopeOwnerId outcome reason requestId clientAddress }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const VaultRotate = graphql(`
  mutation VaultRotate($generateNewKey: Boolean) {
    rotateMasterKey(generateNewKey: $generateNewKey) { activeKeyId rewrapped remaining retiredKeyIds }
  }
`);

export type Scope = SecretScopeInput;

/** A fresh valid secret name: tests never share one. */
export const uniqueName = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12).toUpperCase()}`;

export const scopesOf = (app: TestApp) => ({
  ACCOUNT: { type: 'ACCOUNT' } satisfies Scope,
  PROJECT: { type: 'PROJECT', projectId: app.project.id } satisfies Scope,
  USER: { type: 'USER', userId: app.owner.user.id } satisfies Scope,
});

/** Writes a secret as `credential` (admin by default) and returns its metadata; fails the test on any error. */
export async function putSecret(app: TestApp, input: UpsertSecretInput, options: CallOptions = { credential: app.admin.key }) {
  return expectOk(await app.execute(VaultUpsert, { input }, options)).upsertSecret;
}

/** Row counts of the vault's tables, to prove a refused call changed nothing. */
export async function vaultCounts(app: TestApp) {
  const [row] = await app.db.prisma.$queryRaw<Array<{ secrets: bigint; versions: bigint; live: bigint }>>`
    SELECT (SELECT count(*) FROM secrets) AS secrets,
           (SELECT count(*) FROM secret_versions) AS versions,
           (SELECT count(*) FROM secrets WHERE deleted_at IS NULL) AS live`;
  return { secrets: Number(row?.secrets), versions: Number(row?.versions), live: Number(row?.live) };
}

/** Audit records about one secret name, newest first, straight from the table. */
export const auditOf = (app: TestApp, targetName: string) =>
  app.db.prisma.auditEvent.findMany({ where: { targetName }, orderBy: [{ at: 'desc' }, { id: 'desc' }] });

const CREATE_ENVIRONMENT = `mutation ($p: ID!, $n: String!) { createEnvironment(projectId: $p, name: $n) { name } }`;

/**
 * Untyped GraphQL over the test app for the whole-environment suites: `call` answers as it came,
 * `ok` expects no error, `environment()` creates a fresh environment of the owner's project (tests
 * never share one). `app` is read when called: it is created in `beforeAll`.
 */
export function environmentCalls(app: () => TestApp, prefix: string) {
  let counter = 0;
  const call = (query: string, variables: object, credential: string | null = app().owner.key, headers: Record<string, string> = {}) =>
    app().request({ query, variables }, { credential, headers });
  const ok = async (query: string, variables: object, credential: string | null = app().owner.key) => {
    const answer = await call(query, variables, credential);
    expect(answer.json.errors, answer.text).toBeUndefined();
    return answer.json.data as Record<string, unknown>;
  };
  const scopeOf = (environment: string) => ({ type: 'PROJECT', projectId: app().project.id, environment });
  const environment = async () => {
    const name = `${prefix}${(counter += 1)}-${randomUUID().slice(0, 8)}`;
    await ok(CREATE_ENVIRONMENT, { p: app().project.id, n: name });
    return name;
  };
  return { call, ok, scopeOf, environment };
}

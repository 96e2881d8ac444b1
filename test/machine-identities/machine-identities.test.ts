import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { createHttpServer } from '../../src/app.js';
import { machineWithKey } from '../../src/features/machine-identities/machine-identities.factory.js';
import { projectOwnedBy } from '../../src/features/projects/projects.factory.js';
import type { MachineIdentityPermission } from '../../src/generated/prisma/enums.js';
import { createTestApp, errorCodes, type TestApp } from '../support/app.js';
import { fieldsOf } from '../support/assertions.js';
import { subscribeSse } from '../support/sse.js';

/**
 * Machine identities through GraphQL: managed by a project's owner; their keys authenticate them
 * and nothing more; every route outside their grant is refused, and (for secrets) audited; the grant
 * follows revocation, disabling, narrowing and expiry at once; keys work only from allowed ranges.
 */

const CREATE = `mutation($projectId: ID!, $input: CreateMachineIdentityInput!) {
  createMachineIdentity(projectId: $projectId, input: $input) { id name environments permissions allowedCidrs expiresAt disabledAt }
}`;
const CREATE_KEY = `mutation($id: ID!, $input: CreateMachineIdentityApiKeyInput!) {
  createMachineIdentityApiKey(machineIdentityId: $id, input: $input) { key apiKey { id prefix machineIdentityId revokedAt } }
}`;
const UPDATE = `mutation($id: ID!, $input: UpdateMachineIdentityInput!) {
  updateMachineIdentity(id: $id, input: $input) { id permissions environments disabledAt }
}`;
const SECRET = `query($name: String!, $scope: SecretScopeInput) { secret(name: $name, scope: $scope) { value } }`;
const UPSERT = `mutation($input: UpsertSecretInput!) { upsertSecret(input: $input) { currentVersion } }`;

let app: TestApp;
let unique = 0;
const next = () => `${(unique += 1)}`;

const scopeOf = (projectId: string, environment = 'production') => ({ type: 'PROJECT', projectId, environment });

async function ok<T = Record<string, unknown>>(answer: Promise<{ json: { data?: unknown; errors?: unknown } }>): Promise<T> {
  const { json } = await answer;
  expect(json.errors ?? []).toEqual([]);
  return json.data as T;
}

/** A secret of the project (written by the admin) in `environment`. */
async function secretIn(projectId: string, environment: string, value = 'the-value') {
  const name = `MI_${next()}`;
  await ok(
    app.request(
      { query: UPSERT, variables: { input: { name, value, scope: scopeOf(projectId, environment) } } },
      { credential: app.admin.key },
    ),
  );
  return name;
}

/** Every machine key the tests used: none may appear in a log line or an audit record. */
const issuedKeys: string[] = [];

async function machine(permissions: MachineIdentityPermission[], options: { environments?: string[]; projectId?: string } = {}) {
  const made = await machineWithKey({
    db: app.db,
    keys: app.services.auth.keys,
    signals: app.services.signals,
    projectId: options.projectId ?? app.project.id,
    permissions,
    environments: options.environments ?? ['production'],
  });
  issuedKeys.push(made.key);
  return made;
}

const readAs = (key: string, name: string, projectId = app.project.id, environment = 'production') =>
  app.request({ query: SECRET, variables: { name, scope: scopeOf(projectId, environment) } }, { credential: key });

const lastAudit = () => app.db.prisma.auditEvent.findFirstOrThrow({ orderBy: [{ at: 'desc' }, { id: 'desc' }] });

beforeAll(async () => {
  app = await createTestApp();
});
afterAll(async () => {
  await app.close();
});

describe('managing machine identities', () => {
  it('the owner creates one and a key for it; the key is shown once and listed without it', async () => {
    const created = await ok<{ createMachineIdentity: { id: string; permissions: string[]; environments: string[] } }>(
      app.request(
        {
          query: CREATE,
          variables: {
            projectId: app.project.id,
            input: { name: 'deployer', environments: ['staging', 'staging'], permissions: ['SECRETS_READ'], allowedCidrs: ['10.0.0.0/8'] },
          },
        },
        { credential: app.owner.key },
      ),
    );
    const identity = created.createMachineIdentity;
    expect(identity).toMatchObject({ environments: ['staging'], permissions: ['SECRETS_READ'] });
    const keyed = await ok<{ createMachineIdentityApiKey: { key: string; apiKey: { id: string; prefix: string } } }>(
      app.request({ query: CREATE_KEY, variables: { id: identity.id, input: { name: 'ci' } } }, { credential: app.owner.key }),
    );
    expect(keyed.createMachineIdentityApiKey.key).toMatch(/^cof_/);
    const listed = await ok<{ project: { machineIdentities: Array<{ id: string; apiKeys: Array<Record<string, unknown>> }> } }>(
      app.request(
        {
          query: 'query($id: ID!) { project(id: $id) { machineIdentities { id apiKeys { id prefix revokedAt } } } }',
          variables: { id: app.project.id },
        },
        { credential: app.owner.key },
      ),
    );
    const mine = listed.project.machineIdentities.find((row) => row.id === identity.id)!;
    expect(mine.apiKeys).toEqual([
      { id: keyed.createMachineIdentityApiKey.apiKey.id, prefix: expect.stringMatching(/…$/), revokedAt: null },
    ]);
    expect(JSON.stringify(listed)).not.toContain(keyed.createMachineIdentityApiKey.key);
    const byRoot = await ok<{ machineIdentities: Array<{ id: string }> }>(
      app.request(
        { query: 'query($p: ID!) { machineIdentities(projectId: $p) { id } }', variables: { p: app.project.id } },
        { credential: app.admin.key },
      ),
    );
    expect(byRoot.machineIdentities.map((row) => row.id)).toContain(identity.id);
    // The key is never stored: only its HMAC.
    const row = await app.db.prisma.apiKey.findUniqueOrThrow({ where: { id: keyed.createMachineIdentityApiKey.apiKey.id } });
    expect(Buffer.from(row.secretHash).toString()).not.toContain(keyed.createMachineIdentityApiKey.key);
    expect(row.userId).toBeNull();
  });

  it('bad input is BAD_USER_INPUT naming each field, and writes nothing', async () => {
    const before = await app.db.prisma.machineIdentity.count();
    const answer = await app.request(
      {
        query: CREATE,
        variables: {
          projectId: app.project.id,
          input: {
            name: 'bad',
            environments: ['nowhere'],
            permissions: [],
            allowedCidrs: ['10.0.0.0/33', 'not-an-address'],
            expiresAt: new Date(app.clock.now().getTime() - 1000).toISOString(),
          },
        },
      },
      { credential: app.owner.key },
    );
    expect(errorCodes(answer)).toEqual(['BAD_USER_INPUT']);
    expect(fieldsOf(answer).sort()).toEqual(['input.allowedCidrs', 'input.environments', 'input.expiresAt', 'input.permissions']);
    expect(await app.db.prisma.machineIdentity.count()).toBe(before);
  });

  it("a stranger is told another project's identities do not exist", async () => {
    const { identity } = await machine(['SECRETS_READ']);
    const answer = await app.request(
      { query: UPDATE, variables: { id: identity.id, input: { permissions: ['SECRETS_WRITE'] } } },
      { credential: app.stranger.key },
    );
    expect(errorCodes(answer)).toEqual(['NOT_FOUND']);
    const created = await app.request(
      { query: CREATE, variables: { projectId: app.project.id, input: { name: 'x', environments: [], permissions: ['SECRETS_READ'] } } },
      { credential: app.stranger.key },
    );
    expect(errorCodes(created)).toEqual(['NOT_FOUND']);
  });
});

describe('what a machine identity may reach', () => {
  it('SECRETS_READ reads and reveals its environment, and nothing else of the secrets API', async () => {
    const reader = await machine(['SECRETS_READ']);
    const name = await secretIn(app.project.id, 'production', 'prod-value');
    expect(await ok(readAs(reader.key, name))).toEqual({ secret: { value: 'prod-value' } });
    const listed = await ok<{ secrets: { totalCount: number } }>(
      app.request(
        {
          query: 'query($s: SecretScopeInput) { secrets(scope: $s, first: 50) { totalCount } }',
          variables: { s: scopeOf(app.project.id) },
        },
        { credential: reader.key },
      ),
    );
    expect(listed.secrets.totalCount).toBeGreaterThan(0);

    // A write needs SECRETS_WRITE: refused, audited with the machine as the actor.
    const write = await app.request(
      { query: UPSERT, variables: { input: { name, value: 'overwritten', scope: scopeOf(app.project.id) } } },
      { credential: reader.key },
    );
    expect(errorCodes(write)).toEqual(['FORBIDDEN']);
    expect(await lastAudit()).toMatchObject({
      outcome: 'DENIED',
      actorId: null,
      actorMachineIdentityId: reader.identity.id,
      actorVia: `api-key:${reader.apiKey.id}`,
      action: 'secret.upsertSecret',
    });
    expect(await ok(readAs(app.admin.key, name))).toEqual({ secret: { value: 'prod-value' } });
  });

  it('another environment, another project, ACCOUNT and USER scopes are FORBIDDEN, and each attempt is audited', async () => {
    const reader = await machine(['SECRETS_READ', 'SECRETS_WRITE']);
    const staging = await secretIn(app.project.id, 'staging');
    const other = await projectOwnedBy({ db: app.db, ownerId: app.owner.user.id });
    const elsewhere = await secretIn(other.id, 'production');
    const attempts: Array<[string, () => Promise<{ json: { errors?: Array<{ extensions?: Record<string, unknown> }> } }>]> = [
      ['another environment', () => readAs(reader.key, staging, app.project.id, 'staging')],
      ['another project', () => readAs(reader.key, elsewhere, other.id)],
      ['a project that does not exist', () => readAs(reader.key, 'X', '00000000-0000-4000-8000-000000000000')],
      ['ACCOUNT', () => app.request({ query: SECRET, variables: { name: 'X' } }, { credential: reader.key })],
      ['USER', () => app.request({ query: SECRET, variables: { name: 'X', scope: { type: 'USER' } } }, { credential: reader.key })],
      [
        'USER of someone',
        () =>
          app.request(
            { query: SECRET, variables: { name: 'X', scope: { type: 'USER', userId: app.owner.user.id } } },
            { credential: reader.key },
          ),
      ],
      [
        'a write in another environment',
        () =>
          app.request(
            { query: UPSERT, variables: { input: { name: 'Y', value: 'v', scope: scopeOf(app.project.id, 'staging') } } },
            { credential: reader.key },
          ),
      ],
      [
        'destroySecret',
        () =>
          app.request(
            {
              query: 'mutation($n: String!, $s: SecretScopeInput) { destroySecret(name: $n, scope: $s) { id } }',
              variables: { n: staging, s: scopeOf(app.project.id) },
            },
            { credential: reader.key },
          ),
      ],
    ];
    for (const [what, attempt] of attempts) {
      const before = await app.db.prisma.auditEvent.count({ where: { actorMachineIdentityId: reader.identity.id, outcome: 'DENIED' } });
      expect(errorCodes(await attempt()), what).toEqual(['FORBIDDEN']);
      const after = await app.db.prisma.auditEvent.count({ where: { actorMachineIdentityId: reader.identity.id, outcome: 'DENIED' } });
      expect(after, `${what} is audited`).toBe(before + 1);
    }
  });

  it('every user, account, identity-management, key, token, audit and master-key operation is FORBIDDEN', async () => {
    const everything = await machine(['SECRETS_READ', 'SECRETS_WRITE', 'STRIPE_CONFIG_READ', 'STRIPE_SYNC_RUN', 'STRIPE_MIRROR_READ']);
    const operations = [
      '{ me { id } }',
      '{ users(first: 1) { totalCount } }',
      '{ projects(first: 1) { totalCount } }',
      `{ project(id: "${app.project.id}") { id } }`,
      `{ machineIdentities(projectId: "${app.project.id}") { id } }`,
      '{ auditEvents(first: 1) { edges { node { id } } } }',
      '{ masterKeys { id } }',
      `{ stripeWebhookUrls(projectId: "${app.project.id}") { url } }`,
      `{ notificationEndpoints(projectId: "${app.project.id}") { id } }`,
      'mutation { createApiKey(input: { name: "escalate" }) { key } }',
      `mutation { issueToken(input: { userId: "${app.owner.user.id}" }) { token } }`,
      'mutation { createProject(input: { name: "mine" }) { id } }',
      `mutation { createMachineIdentity(projectId: "${app.project.id}", input: { name: "child", environments: [], permissions: [SECRETS_READ] }) { id } }`,
      `mutation { createMachineIdentityApiKey(machineIdentityId: "${everything.identity.id}", input: { name: "more" }) { key } }`,
      `mutation { updateMachineIdentity(id: "${everything.identity.id}", input: { environments: ["staging"] }) { id } }`,
      `mutation { revokeMachineIdentityApiKey(id: "${everything.apiKey.id}") { id } }`,
      `mutation { createEnvironment(projectId: "${app.project.id}", name: "mine") { id } }`,
      'mutation { rotateMasterKey { activeKeyId } }',
      `mutation { configureStripe(projectId: "${app.project.id}", input: { testPublishableKey: "pk_test_${'a'.repeat(24)}" }) { results { changedFields } } }`,
    ];
    for (const query of operations)
      expect(errorCodes(await app.request({ query }, { credential: everything.key })), query).toEqual(['FORBIDDEN']);
    // It still works afterwards: none of that revoked or changed it.
    expect(errorCodes(await readAs(everything.key, await secretIn(app.project.id, 'production')))).toEqual([]);
  });

  it('node(id:) and nodes(ids:) show it only the secrets of its grant', async () => {
    const reader = await machine(['SECRETS_READ']);
    const mine = await secretIn(app.project.id, 'production');
    const theirs = await secretIn(app.project.id, 'staging');
    const idOf = async (name: string) => (await app.db.prisma.secret.findFirstOrThrow({ where: { name } })).id;
    const ids = [await idOf(mine), await idOf(theirs), app.project.id, reader.identity.id, app.owner.user.id, reader.apiKey.id];
    const answer = await ok<{ nodes: Array<{ __typename: string } | null> }>(
      app.request({ query: 'query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }', variables: { ids } }, { credential: reader.key }),
    );
    expect(answer.nodes.map((node) => node?.__typename ?? null)).toEqual(['SecretMetadata', null, null, null, null, null]);
    const writerOnly = await machine(['SECRETS_WRITE']);
    const hidden = await ok<{ node: unknown }>(
      app.request({ query: 'query($id: ID!) { node(id: $id) { id } }', variables: { id: ids[0] } }, { credential: writerOnly.key }),
    );
    expect(hidden.node).toBeNull();
  });

  it('SECRETS_WRITE writes there; the audit trail names the machine identity', async () => {
    const writer = await machine(['SECRETS_WRITE']);
    const name = `MI_WRITE_${next()}`;
    await ok(
      app.request(
        { query: UPSERT, variables: { input: { name, value: 'w1', scope: scopeOf(app.project.id) } } },
        { credential: writer.key },
      ),
    );
    const trail = await ok<{ auditEvents: { edges: Array<{ node: Record<string, unknown> }> } }>(
      app.request(
        {
          query: `query($name: String, $machine: ID) { auditEvents(first: 5, filter: { targetName: $name, actorMachineIdentityId: $machine }) {
            edges { node { action outcome actorId actorVia actorMachineIdentityId } } } }`,
          variables: { name, machine: writer.identity.id },
        },
        { credential: app.admin.key },
      ),
    );
    expect(trail.auditEvents.edges.map((edge) => edge.node)).toContainEqual({
      action: 'secret.create',
      outcome: 'SUCCESS',
      actorId: null,
      actorVia: `api-key:${writer.apiKey.id}`,
      actorMachineIdentityId: writer.identity.id,
    });
    // Reading back is SECRETS_READ, which it lacks.
    expect(errorCodes(await readAs(writer.key, name))).toEqual(['FORBIDDEN']);
  });
});

describe('revocation, disabling, narrowing and expiry take effect at once', () => {
  it('a revoked key is refused on the next request (even one verified a moment ago)', async () => {
    const reader = await machine(['SECRETS_READ']);
    const name = await secretIn(app.project.id, 'production');
    await ok(readAs(reader.key, name));
    await ok(
      app.request(
        { query: `mutation { revokeMachineIdentityApiKey(id: "${reader.apiKey.id}") { revokedAt } }` },
        { credential: app.owner.key },
      ),
    );
    expect(errorCodes(await readAs(reader.key, name))).toEqual(['UNAUTHENTICATED']);
  });

  it('disabling refuses every key; enabling lets them in again; narrowing the grant refuses what was removed', async () => {
    const reader = await machine(['SECRETS_READ', 'SECRETS_WRITE']);
    const name = await secretIn(app.project.id, 'production');
    await ok(readAs(reader.key, name));
    await ok(
      app.request({ query: UPDATE, variables: { id: reader.identity.id, input: { disabled: true } } }, { credential: app.owner.key }),
    );
    expect(errorCodes(await readAs(reader.key, name))).toEqual(['UNAUTHENTICATED']);
    await ok(
      app.request({ query: UPDATE, variables: { id: reader.identity.id, input: { disabled: false } } }, { credential: app.owner.key }),
    );
    await ok(readAs(reader.key, name));
    await ok(
      app.request(
        { query: UPDATE, variables: { id: reader.identity.id, input: { permissions: ['SECRETS_WRITE'] } } },
        { credential: app.owner.key },
      ),
    );
    expect(errorCodes(await readAs(reader.key, name))).toEqual(['FORBIDDEN']);
    await ok(
      app.request(
        { query: UPDATE, variables: { id: reader.identity.id, input: { permissions: ['SECRETS_READ'], environments: ['staging'] } } },
        { credential: app.owner.key },
      ),
    );
    expect(errorCodes(await readAs(reader.key, name))).toEqual(['FORBIDDEN']);
    await ok(
      app.request({ query: `mutation { deleteMachineIdentity(id: "${reader.identity.id}") { id } }` }, { credential: app.owner.key }),
    );
    expect(errorCodes(await readAs(reader.key, name, app.project.id, 'staging'))).toEqual(['UNAUTHENTICATED']);
  });

  it('an identity and a key stop working when they expire', async () => {
    const name = await secretIn(app.project.id, 'production');
    const created = await ok<{ createMachineIdentity: { id: string } }>(
      app.request(
        {
          query: CREATE,
          variables: {
            projectId: app.project.id,
            input: {
              name: `expiring-${next()}`,
              environments: ['production'],
              permissions: ['SECRETS_READ'],
              expiresAt: new Date(app.clock.now().getTime() + 3_600_000).toISOString(),
            },
          },
        },
        { credential: app.owner.key },
      ),
    );
    const keyOf = async (expiresAt?: Date) =>
      (
        await ok<{ createMachineIdentityApiKey: { key: string } }>(
          app.request(
            {
              query: CREATE_KEY,
              variables: { id: created.createMachineIdentity.id, input: { name: 'k', expiresAt: expiresAt?.toISOString() } },
            },
            { credential: app.owner.key },
          ),
        )
      ).createMachineIdentityApiKey.key;
    const lasting = await keyOf();
    const short = await keyOf(new Date(app.clock.now().getTime() + 60_000));
    await ok(readAs(lasting, name));
    await ok(readAs(short, name));
    app.clock.advance(120_000);
    expect(errorCodes(await readAs(short, name))).toEqual(['UNAUTHENTICATED']);
    await ok(readAs(lasting, name));
    app.clock.advance(3_600_000);
    expect(errorCodes(await readAs(lasting, name))).toEqual(['UNAUTHENTICATED']);
  });
});

describe('bulk reads, copies, comparisons and inactive secrets', () => {
  const VALUES = 'query($s: SecretScopeInput!) { secretValues(scope: $s) { name value } }';
  const COPY =
    'mutation($p: ID!, $from: String!, $to: String!, $names: [String!]) { copySecrets(projectId: $p, from: $from, to: $to, names: $names) { name } }';
  const COMPARE =
    'query($p: ID!, $a: String!, $b: String!) { compareEnvironments(projectId: $p, a: $a, b: $b) { entries { name status } } }';

  it('secretValues serves its environment only, and never an inactive secret', async () => {
    const project = await projectOwnedBy({ db: app.db, ownerId: app.owner.user.id });
    const reader = await machine(['SECRETS_READ'], { projectId: project.id });
    const active = await secretIn(project.id, 'production', 'on');
    const inactive = await secretIn(project.id, 'production', 'off');
    await ok(
      app.request(
        {
          query: 'mutation($input: UpdateSecretInput!) { updateSecret(input: $input) { id } }',
          variables: { input: { name: inactive, scope: scopeOf(project.id), isActive: false } },
        },
        { credential: app.admin.key },
      ),
    );
    const served = await ok<{ secretValues: Array<{ name: string; value: string }> }>(
      app.request({ query: VALUES, variables: { s: scopeOf(project.id) } }, { credential: reader.key }),
    );
    expect(served.secretValues).toEqual([{ name: active, value: 'on' }]);
    // One by one: the inactive secret is not served to the machine, while its owner still reads it.
    expect(errorCodes(await readAs(reader.key, inactive, project.id))).toEqual(['NOT_FOUND']);
    expect(await ok(readAs(app.owner.key, inactive, project.id))).toEqual({ secret: { value: 'off' } });
    expect(
      errorCodes(await app.request({ query: VALUES, variables: { s: scopeOf(project.id, 'staging') } }, { credential: reader.key })),
    ).toEqual(['FORBIDDEN']);
  });

  it('copySecrets needs SECRETS_READ on from and SECRETS_WRITE on to, both in its grant; compareEnvironments needs SECRETS_READ on both', async () => {
    const project = await projectOwnedBy({ db: app.db, ownerId: app.owner.user.id });
    const name = await secretIn(project.id, 'staging', 'promoted');
    const both = await machine(['SECRETS_READ', 'SECRETS_WRITE'], { projectId: project.id, environments: ['staging', 'production'] });
    const readOnly = await machine(['SECRETS_READ'], { projectId: project.id, environments: ['staging', 'production'] });
    const stagingOnly = await machine(['SECRETS_READ', 'SECRETS_WRITE'], { projectId: project.id, environments: ['staging'] });
    const copy = (key: string) =>
      app.request({ query: COPY, variables: { p: project.id, from: 'staging', to: 'production', names: [name] } }, { credential: key });
    expect(errorCodes(await copy(readOnly.key))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await copy(stagingOnly.key))).toEqual(['FORBIDDEN']);
    expect(await ok(copy(both.key))).toEqual({ copySecrets: [{ name }] });
    expect(await ok(readAs(both.key, name, project.id, 'production'))).toEqual({ secret: { value: 'promoted' } });
    const compare = (key: string) =>
      app.request({ query: COMPARE, variables: { p: project.id, a: 'staging', b: 'production' } }, { credential: key });
    expect(errorCodes(await compare(readOnly.key))).toEqual([]);
    expect(errorCodes(await compare(stagingOnly.key))).toEqual(['FORBIDDEN']);
    const writerOnly = await machine(['SECRETS_WRITE'], { projectId: project.id, environments: ['staging', 'production'] });
    expect(errorCodes(await compare(writerOnly.key))).toEqual(['FORBIDDEN']);
  });
});

describe('grants follow their environments', () => {
  it('a renamed environment stays granted under its new name; a new one of the old name is not granted; a deleted one leaves the grant', async () => {
    const project = await projectOwnedBy({ db: app.db, ownerId: app.owner.user.id });
    const reader = await machine(['SECRETS_READ'], { projectId: project.id, environments: ['staging', 'production'] });
    const name = await secretIn(project.id, 'staging', 'staged');
    await ok(readAs(reader.key, name, project.id, 'staging'));
    const asOwner = { credential: app.owner.key };
    await ok(
      app.request(
        {
          query: 'mutation($p: ID!) { renameEnvironment(projectId: $p, name: "staging", newName: "preview") { id } }',
          variables: { p: project.id },
        },
        asOwner,
      ),
    );
    expect(await ok(readAs(reader.key, name, project.id, 'preview'))).toEqual({ secret: { value: 'staged' } });
    await ok(
      app.request(
        { query: 'mutation($p: ID!) { createEnvironment(projectId: $p, name: "staging") { id } }', variables: { p: project.id } },
        asOwner,
      ),
    );
    const newcomer = await secretIn(project.id, 'staging');
    expect(errorCodes(await readAs(reader.key, newcomer, project.id, 'staging'))).toEqual(['FORBIDDEN']);
    await ok(
      app.request(
        {
          query: 'mutation($p: ID!) { deleteEnvironment(projectId: $p, name: "preview", force: true) { id } }',
          variables: { p: project.id },
        },
        asOwner,
      ),
    );
    const identity = await app.db.prisma.machineIdentity.findUniqueOrThrow({ where: { id: reader.identity.id } });
    expect(identity.environments).toEqual(['production']);
  });
});

describe('the change stream', () => {
  const CHANGES = `subscription($projectId: ID!, $environment: String) {
    secretChanges(projectId: $projectId, environment: $environment) { name environment actorVia }
  }`;
  const open = (key: string, variables: Record<string, unknown>) =>
    subscribeSse<{ secretChanges: { name: string; environment: string; actorVia: string } }>(
      'http://coffer.test/graphql',
      { query: CHANGES, variables, credential: key },
      { fetch: app.yoga.fetch },
    );

  it('SECRETS_READ follows one environment of its grant; another one, or all of them, is FORBIDDEN', async () => {
    const reader = await machine(['SECRETS_READ']);
    for (const variables of [{ projectId: app.project.id }, { projectId: app.project.id, environment: 'staging' }]) {
      const refused = await open(reader.key, variables);
      expect(await refused.result(20_000)).toMatchObject({ errors: [{ extensions: { code: 'FORBIDDEN' } }] });
      await refused.close();
    }
    const writer = await machine(['SECRETS_WRITE']);
    const unpermitted = await open(writer.key, { projectId: app.project.id, environment: 'production' });
    expect(await unpermitted.result(20_000)).toMatchObject({ errors: [{ extensions: { code: 'FORBIDDEN' } }] });
    await unpermitted.close();
  });

  it('streams its environment, and ends with a coded error when the grant is narrowed', async () => {
    const reader = await machine(['SECRETS_READ']);
    const stream = await open(reader.key, { projectId: app.project.id, environment: 'production' });
    await stream.result(300).catch(() => null);
    await secretIn(app.project.id, 'staging');
    const name = await secretIn(app.project.id, 'production');
    const first = await stream.result(20_000);
    expect(first?.data?.secretChanges).toMatchObject({ name, environment: 'production' });
    await ok(
      app.request(
        { query: UPDATE, variables: { id: reader.identity.id, input: { environments: ['staging'] } } },
        { credential: app.owner.key },
      ),
    );
    expect(await stream.result(20_000)).toMatchObject({ errors: [{ extensions: { code: 'FORBIDDEN' } }] });
    expect(await stream.result(20_000)).toBeNull();
    await stream.close();
  });

  it('ends with UNAUTHENTICATED when its key is revoked', async () => {
    const reader = await machine(['SECRETS_READ']);
    const stream = await open(reader.key, { projectId: app.project.id, environment: 'production' });
    await stream.result(300).catch(() => null);
    await ok(
      app.request({ query: `mutation { revokeMachineIdentityApiKey(id: "${reader.apiKey.id}") { id } }` }, { credential: app.owner.key }),
    );
    expect(await stream.result(20_000)).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
    await stream.close();
  });
});

describe('Stripe permissions', () => {
  it("STRIPE_CONFIG_READ reads its own project's (masked) configuration only", async () => {
    const configReader = await machine(['STRIPE_CONFIG_READ']);
    const other = await projectOwnedBy({ db: app.db, ownerId: app.owner.user.id });
    const query = 'query($p: ID!) { stripeConfig(projectId: $p) { projectId } }';
    await ok(app.request({ query, variables: { p: app.project.id } }, { credential: configReader.key }));
    expect(errorCodes(await app.request({ query, variables: { p: other.id } }, { credential: configReader.key }))).toEqual(['FORBIDDEN']);
    const mirrorReader = await machine(['STRIPE_MIRROR_READ']);
    expect(errorCodes(await app.request({ query, variables: { p: app.project.id } }, { credential: mirrorReader.key }))).toEqual([
      'FORBIDDEN',
    ]);
    await ok(
      app.request(
        {
          query: 'query($p: ID!) { stripeProducts(projectId: $p, environment: TEST, first: 1) { totalCount } }',
          variables: { p: app.project.id },
        },
        { credential: mirrorReader.key },
      ),
    );
  });
});

describe('allowed address ranges', () => {
  it('behind a proxy (TRUST_PROXY_HOPS=1): a key works from inside its ranges and is FORBIDDEN from outside', async () => {
    const proxied = await createTestApp({ env: { TRUST_PROXY_HOPS: '1' } });
    try {
      const { identity } = await machineWithKey({
        db: proxied.db,
        keys: proxied.services.auth.keys,
        signals: proxied.services.signals,
        projectId: proxied.project.id,
        permissions: ['SECRETS_READ'],
        allowedCidrs: ['127.0.0.0/8', '2001:db8::/32'],
      });
      const { key } = await machineWithKey({
        db: proxied.db,
        keys: proxied.services.auth.keys,
        signals: proxied.services.signals,
        projectId: proxied.project.id,
        permissions: ['SECRETS_READ'],
        name: `anywhere-${next()}`,
      });
      const ranged = await proxied.db.prisma.apiKey.findFirstOrThrow({ where: { machineIdentityId: identity.id } });
      expect(ranged).toBeTruthy();
      const keyed = await proxied.request(
        { query: CREATE_KEY, variables: { id: identity.id, input: { name: 'ranged' } } },
        { credential: proxied.owner.key },
      );
      const rangedKey = (keyed.json.data as { createMachineIdentityApiKey: { key: string } }).createMachineIdentityApiKey.key;
      const from = (credential: string, address: string) =>
        proxied.request(
          {
            query: 'query($s: SecretScopeInput) { secrets(scope: $s, first: 1) { totalCount } }',
            variables: { s: scopeOf(proxied.project.id) },
          },
          { credential, headers: { 'x-forwarded-for': `198.51.100.1, ${address}` } },
        );
      expect(errorCodes(await from(rangedKey, '127.0.0.1'))).toEqual([]);
      expect(errorCodes(await from(rangedKey, '2001:db8::7'))).toEqual([]);
      expect(errorCodes(await from(rangedKey, '203.0.113.9'))).toEqual(['FORBIDDEN']);
      // Also once the key is in the cache: the address is checked on every request.
      expect(errorCodes(await from(rangedKey, '127.0.0.1'))).toEqual([]);
      expect(errorCodes(await from(rangedKey, '10.1.2.3'))).toEqual(['FORBIDDEN']);
      // An identity without ranges works from anywhere.
      expect(errorCodes(await from(key, '203.0.113.9'))).toEqual([]);
    } finally {
      await proxied.close();
    }
  });

  it('over a real socket from 127.0.0.1: allowed by 127.0.0.0/8, FORBIDDEN under 10.0.0.0/8 only', async () => {
    const { server, close } = createHttpServer(app.yoga);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
      const loopback = await machine(['SECRETS_READ']);
      const { identity: elsewhereIdentity, key: elsewhereKey } = await machine(['SECRETS_READ']);
      await ok(
        app.request(
          { query: UPDATE, variables: { id: loopback.identity.id, input: { allowedCidrs: ['127.0.0.0/8'] } } },
          { credential: app.owner.key },
        ),
      );
      await ok(
        app.request(
          { query: UPDATE, variables: { id: elsewhereIdentity.id, input: { allowedCidrs: ['10.0.0.0/8'] } } },
          { credential: app.owner.key },
        ),
      );
      const call = async (key: string) => {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': key },
          body: JSON.stringify({
            query: 'query($s: SecretScopeInput) { secrets(scope: $s, first: 1) { totalCount } }',
            variables: { s: scopeOf(app.project.id) },
          }),
        });
        return errorCodes({ json: (await response.json()) as { errors?: Array<{ extensions?: Record<string, unknown> }> } });
      };
      expect(await call(loopback.key)).toEqual([]);
      expect(await call(elsewhereKey)).toEqual(['FORBIDDEN']);
    } finally {
      await close();
    }
  });
});

describe('no machine key leaks', () => {
  // Declared last: runs after every other test of the file has used its keys.
  it('appears in no log line and no audit record', async () => {
    const logs = JSON.stringify(app.logs);
    const audit = JSON.stringify(await app.db.prisma.auditEvent.findMany());
    expect(issuedKeys.length).toBeGreaterThan(10);
    for (const key of issuedKeys) {
      expect(logs.includes(key)).toBe(false);
      expect(audit.includes(key)).toBe(false);
      // Not even the secret part alone.
      expect(logs.includes(key.slice(17))).toBe(false);
    }
    expect(app.logs.length).toBeGreaterThan(10);
  });
});

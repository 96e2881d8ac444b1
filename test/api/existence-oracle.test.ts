import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { getNamedType, isInputObjectType, type GraphQLInputType } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHttpServer } from '../../src/app.js';
import { createApiKey } from '../../src/features/credentials/index.js';
import { machineWithKey } from '../../src/features/machine-identities/machine-identities.factory.js';
import { buildSchema } from '../../src/schema.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { errorCodes } from '../support/assertions.js';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe.js';
import { SseTimeout, subscribeSse } from '../support/sse.js';

/**
 * No existence oracle: to a signed-in stranger (neither the owner nor an admin), every root field
 * that names something by id answers someone else's project, sync run, user or API key exactly as
 * it answers an id that names nothing — same data, same errors (message, code, path), same HTTP
 * status — and a refused mutation changes nothing.
 *
 * The table is checked against the schema: every ID argument of a root field, at any depth of its
 * input objects, must have a row, so a new field cannot be forgotten.
 */

type Kind = 'project' | 'run' | 'user' | 'apiKey' | 'secret' | 'endpoint' | 'delivery' | 'machineIdentity' | 'machineKey';

/** What a stranger gets with either id: NOT_FOUND for the kind, FORBIDDEN (admins only), or ok (the id is ignored). */
type Expected = 'NOT_FOUND' | 'FORBIDDEN' | 'ok';

interface Row {
  /** `Query.secret`: the root field. */
  field: string;
  /** `scope.projectId`: the ID argument the row probes, as the schema check derives it. */
  arg: string;
  kind: Kind;
  expected: Expected;
  query: string;
  variables: (id: string) => Record<string, unknown>;
}

const NOT_FOUND_MESSAGE: Record<Kind, string> = {
  project: 'Project was not found.',
  run: 'Sync run was not found.',
  user: 'User was not found.',
  apiKey: 'API key was not found.',
  secret: 'Secret was not found.',
  endpoint: 'Notification endpoint was not found.',
  delivery: 'Notification delivery was not found.',
  machineIdentity: 'Machine identity was not found.',
  machineKey: 'Machine identity API key was not found.',
};

/** A secret with two versions, and a deleted one, in both the owner's project and the owner's USER scope. */
const LIVE = 'ORACLE_LIVE';
const DELETED = 'ORACLE_DELETED';

/** The secret fields, each probed through a PROJECT and a USER scope (`$scope`, or `$input` holding it). */
const secretFields: Array<{ field: string; query: string; input?: boolean; adminOnly?: boolean }> = [
  { field: 'Query.secrets', query: 'query($scope: SecretScopeInput) { secrets(scope: $scope, first: 5) { edges { node { name } } } }' },
  { field: 'Query.secret', query: `query($scope: SecretScopeInput) { secret(name: "${LIVE}", scope: $scope) { value } }` },
  {
    field: 'Query.secretVersions',
    query: `query($scope: SecretScopeInput) { secretVersions(name: "${LIVE}", scope: $scope) { version } }`,
  },
  {
    field: 'Query.secretValues',
    query: `query($scope: SecretScopeInput!) { secretValues(scope: $scope, names: ["${LIVE}"]) { name value } }`,
  },
  { field: 'Mutation.upsertSecret', input: true, query: 'mutation($input: UpsertSecretInput!) { upsertSecret(input: $input) { id } }' },
  {
    field: 'Mutation.upsertSecrets',
    query: `mutation($scope: SecretScopeInput!) { upsertSecrets(scope: $scope, secrets: [{ name: "${LIVE}", value: "overwritten" }]) { id } }`,
  },
  { field: 'Mutation.updateSecret', input: true, query: 'mutation($input: UpdateSecretInput!) { updateSecret(input: $input) { id } }' },
  { field: 'Mutation.deleteSecret', query: `mutation($scope: SecretScopeInput) { deleteSecret(name: "${LIVE}", scope: $scope) { id } }` },
  {
    field: 'Mutation.restoreSecret',
    query: `mutation($scope: SecretScopeInput) { restoreSecret(name: "${DELETED}", scope: $scope) { id } }`,
  },
  {
    field: 'Mutation.rollbackSecret',
    query: `mutation($scope: SecretScopeInput) { rollbackSecret(name: "${LIVE}", scope: $scope, version: 1) { id } }`,
  },
  {
    field: 'Mutation.destroySecret',
    adminOnly: true,
    query: `mutation($scope: SecretScopeInput) { destroySecret(name: "${LIVE}", scope: $scope) { id } }`,
  },
];

const secretRows: Row[] = secretFields.flatMap(({ field, query, input, adminOnly }) =>
  (
    [
      ['project', 'projectId', 'PROJECT'],
      ['user', 'userId', 'USER'],
    ] as const
  ).map(([kind, key, type]): Row => {
    const scope = (id: string) => ({ type, [key]: id });
    return {
      field,
      arg: `${input ? 'input.' : ''}scope.${key}`,
      kind,
      // destroySecret is refused before its scope is looked at, whatever it names.
      expected: adminOnly ? 'FORBIDDEN' : 'NOT_FOUND',
      query,
      variables: (id) =>
        input ? { input: { name: LIVE, value: 'overwritten', description: 'overwritten', scope: scope(id) } } : { scope: scope(id) },
    };
  }),
);

/** A field taking `projectId` (and an environment where it needs one). */
const projectRow = (
  field: string,
  query: string,
  variables: (id: string) => Record<string, unknown> = (projectId) => ({ projectId }),
): Row => ({
  field,
  arg: 'projectId',
  kind: 'project',
  expected: 'NOT_FOUND',
  query,
  variables,
});

const mirror = (name: string) =>
  projectRow(
    `Query.${name}`,
    `query($projectId: ID!) { ${name}(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
  );

const credentials = { testPublishableKey: `pk_test_${'o'.repeat(24)}` };

const notificationRows: Row[] = [
  projectRow('Subscription.secretChanges', 'subscription($projectId: ID!) { secretChanges(projectId: $projectId) { sequence } }'),
  projectRow('Query.notificationEndpoints', 'query($projectId: ID!) { notificationEndpoints(projectId: $projectId) { id } }'),
  projectRow(
    'Mutation.createNotificationEndpoint',
    'mutation($projectId: ID!) { createNotificationEndpoint(projectId: $projectId, input: { url: "https://probe.example.com/hook" }) { signingSecret } }',
  ),
  ...(
    [
      [
        'Query.notificationDeliveries',
        'endpointId',
        'endpoint',
        'query($id: ID!) { notificationDeliveries(endpointId: $id, first: 5) { id } }',
      ],
      ['Mutation.deleteNotificationEndpoint', 'id', 'endpoint', 'mutation($id: ID!) { deleteNotificationEndpoint(id: $id) { id } }'],
      [
        'Mutation.setNotificationEndpointEnabled',
        'id',
        'endpoint',
        'mutation($id: ID!) { setNotificationEndpointEnabled(id: $id, enabled: false) { id } }',
      ],
      ['Mutation.retryNotificationDelivery', 'id', 'delivery', 'mutation($id: ID!) { retryNotificationDelivery(id: $id) { id } }'],
    ] as const
  ).map(([field, arg, kind, query]) => ({ field, arg, kind, expected: 'NOT_FOUND' as const, query, variables: (id: string) => ({ id }) })),
];

const machineIdentityRows: Row[] = [
  projectRow('Query.machineIdentities', 'query($projectId: ID!) { machineIdentities(projectId: $projectId) { id } }'),
  projectRow(
    'Mutation.createMachineIdentity',
    'mutation($projectId: ID!) { createMachineIdentity(projectId: $projectId, input: { name: "probe", environments: [], permissions: [SECRETS_READ] }) { id } }',
  ),
  ...(
    [
      [
        'Mutation.updateMachineIdentity',
        'id',
        'machineIdentity',
        'mutation($id: ID!) { updateMachineIdentity(id: $id, input: { disabled: true }) { id } }',
      ],
      ['Mutation.deleteMachineIdentity', 'id', 'machineIdentity', 'mutation($id: ID!) { deleteMachineIdentity(id: $id) { id } }'],
      [
        'Mutation.createMachineIdentityApiKey',
        'machineIdentityId',
        'machineIdentity',
        'mutation($id: ID!) { createMachineIdentityApiKey(machineIdentityId: $id, input: { name: "probe" }) { key } }',
      ],
      ['Mutation.revokeMachineIdentityApiKey', 'id', 'machineKey', 'mutation($id: ID!) { revokeMachineIdentityApiKey(id: $id) { id } }'],
    ] as const
  ).map(([field, arg, kind, query]) => ({ field, arg, kind, expected: 'NOT_FOUND' as const, query, variables: (id: string) => ({ id }) })),
];

const rows: Row[] = [
  ...notificationRows,
  ...machineIdentityRows,
  {
    field: 'Query.project',
    arg: 'id',
    kind: 'project',
    expected: 'NOT_FOUND',
    query: 'query($id: ID!) { project(id: $id) { id name } }',
    variables: (id) => ({ id }),
  },
  {
    field: 'Mutation.updateProject',
    arg: 'id',
    kind: 'project',
    expected: 'NOT_FOUND',
    query: 'mutation($id: ID!) { updateProject(id: $id, input: { name: "taken over" }) { id } }',
    variables: (id) => ({ id }),
  },
  {
    field: 'Mutation.createEnvironment',
    arg: 'projectId',
    kind: 'project',
    expected: 'NOT_FOUND',
    query: 'mutation($id: ID!) { createEnvironment(projectId: $id, name: "probe") { id } }',
    variables: (id) => ({ id }),
  },
  {
    field: 'Mutation.renameEnvironment',
    arg: 'projectId',
    kind: 'project',
    expected: 'NOT_FOUND',
    query: 'mutation($id: ID!) { renameEnvironment(projectId: $id, name: "production", newName: "probe") { id } }',
    variables: (id) => ({ id }),
  },
  {
    field: 'Mutation.deleteEnvironment',
    arg: 'projectId',
    kind: 'project',
    expected: 'NOT_FOUND',
    query: 'mutation($id: ID!) { deleteEnvironment(projectId: $id, name: "production") { id } }',
    variables: (id) => ({ id }),
  },
  // For non-admins `ownerId` is ignored: they see their own projects whoever they name.
  {
    field: 'Query.projects',
    arg: 'ownerId',
    kind: 'user',
    expected: 'ok',
    query: 'query($ownerId: ID) { projects(ownerId: $ownerId, first: 5) { edges { node { id } } } }',
    variables: (ownerId) => ({ ownerId }),
  },
  ...secretRows,
  projectRow(
    'Mutation.copySecrets',
    'mutation($projectId: ID!) { copySecrets(projectId: $projectId, from: "production", to: "staging", overwrite: true) { name } }',
  ),
  projectRow(
    'Query.compareEnvironments',
    'query($projectId: ID!) { compareEnvironments(projectId: $projectId, a: "production", b: "staging") { entries { name status } } }',
  ),
  projectRow('Query.stripeConfig', 'query($projectId: ID!) { stripeConfig(projectId: $projectId) { projectId hasTestCredentials } }'),
  projectRow('Query.stripeWebhookUrls', 'query($projectId: ID!) { stripeWebhookUrls(projectId: $projectId) { url } }'),
  projectRow(
    'Query.stripeSyncRuns',
    'query($projectId: ID!) { stripeSyncRuns(projectId: $projectId, first: 5) { totalCount edges { node { id } } } }',
  ),
  mirror('stripeProducts'),
  mirror('stripePrices'),
  mirror('stripeCustomers'),
  mirror('stripeSubscriptions'),
  mirror('stripeInvoices'),
  mirror('stripePaymentIntents'),
  mirror('stripeCharges'),
  mirror('stripeRefunds'),
  mirror('stripeCheckoutSessions'),
  mirror('stripeSetupIntents'),
  mirror('stripePaymentMethods'),
  mirror('stripeDisputes'),
  mirror('stripeCreditNotes'),
  mirror('stripeCoupons'),
  mirror('stripePromotionCodes'),
  mirror('stripeTaxIds'),
  mirror('stripeSubscriptionSchedules'),
  mirror('stripeBalanceTransactions'),
  mirror('stripeWebhookEvents'),
  projectRow(
    'Mutation.configureStripe',
    'mutation($projectId: ID!, $input: StripeCredentialsInput!) { configureStripe(projectId: $projectId, input: $input) { results { changedFields } } }',
    (projectId) => ({ projectId, input: credentials }),
  ),
  projectRow(
    'Mutation.validateStripeCredentials',
    'mutation($projectId: ID!, $input: StripeCredentialsInput!) { validateStripeCredentials(projectId: $projectId, input: $input) { valid } }',
    (projectId) => ({ projectId, input: credentials }),
  ),
  projectRow(
    'Mutation.removeStripeConfig',
    'mutation($projectId: ID!) { removeStripeConfig(projectId: $projectId, environment: TEST) { projectId } }',
  ),
  projectRow(
    'Mutation.retryStripeWebhookSetup',
    'mutation($projectId: ID!) { retryStripeWebhookSetup(projectId: $projectId, environment: TEST) { ok } }',
  ),
  projectRow('Mutation.startStripeSync', 'mutation($projectId: ID!) { startStripeSync(projectId: $projectId, environment: TEST) { id } }'),
  projectRow('Subscription.projectEvents', 'subscription($projectId: ID!) { projectEvents(projectId: $projectId) { kind } }'),
  projectRow(
    'Subscription.stripeSyncProgress',
    'subscription($projectId: ID!) { stripeSyncProgress(projectId: $projectId, environment: TEST) { runId kind } }',
  ),
  {
    field: 'Query.stripeSyncRun',
    arg: 'id',
    kind: 'run',
    expected: 'NOT_FOUND',
    query: 'query($id: ID!) { stripeSyncRun(id: $id) { id status } }',
    variables: (id) => ({ id }),
  },
  {
    field: 'Mutation.cancelStripeSync',
    arg: 'runId',
    kind: 'run',
    expected: 'NOT_FOUND',
    query: 'mutation($runId: ID!) { cancelStripeSync(runId: $runId) { id status } }',
    variables: (runId) => ({ runId }),
  },
  {
    field: 'Mutation.revokeApiKey',
    arg: 'id',
    kind: 'apiKey',
    expected: 'NOT_FOUND',
    query: 'mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }',
    variables: (id) => ({ id }),
  },
  // Acting for another user and reading the audit trail are for admins, whoever is named.
  {
    field: 'Mutation.createApiKey',
    arg: 'input.userId',
    kind: 'user',
    expected: 'FORBIDDEN',
    query: 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }',
    variables: (userId) => ({ input: { name: 'oracle', userId } }),
  },
  {
    field: 'Mutation.issueToken',
    arg: 'input.userId',
    kind: 'user',
    expected: 'FORBIDDEN',
    query: 'mutation($input: IssueTokenInput!) { issueToken(input: $input) { token } }',
    variables: (userId) => ({ input: { userId } }),
  },
  ...(['disableUser', 'enableUser'] as const).map((name): Row => ({
    field: `Mutation.${name}`,
    arg: 'id',
    kind: 'user',
    expected: 'FORBIDDEN',
    query: `mutation($id: ID!) { ${name}(id: $id) { id disabledAt } }`,
    variables: (id) => ({ id }),
  })),
  // node(id:)/nodes(ids:) answer null for what the viewer may not see, exactly as for an unknown id.
  ...(['project', 'run', 'user', 'apiKey', 'secret', 'machineIdentity'] as const).map((kind): Row => ({
    field: 'Query.node',
    arg: 'id',
    kind,
    expected: 'ok',
    query: 'query($id: ID!) { node(id: $id) { __typename id } }',
    variables: (id) => ({ id }),
  })),
  ...(['project', 'secret'] as const).map((kind): Row => ({
    field: 'Query.nodes',
    arg: 'ids',
    kind,
    expected: 'ok',
    query: 'query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }',
    variables: (id) => ({ ids: [id] }),
  })),
  {
    field: 'Query.auditEvents',
    arg: 'filter.actorId',
    kind: 'user',
    expected: 'FORBIDDEN',
    query: 'query($filter: AuditEventFilter) { auditEvents(filter: $filter, first: 5) { edges { node { action } } } }',
    variables: (actorId) => ({ filter: { actorId } }),
  },
  {
    field: 'Query.auditEvents',
    arg: 'filter.actorMachineIdentityId',
    kind: 'machineIdentity',
    expected: 'FORBIDDEN',
    query: 'query($filter: AuditEventFilter) { auditEvents(filter: $filter, first: 5) { edges { node { action } } } }',
    variables: (actorMachineIdentityId) => ({ filter: { actorMachineIdentityId } }),
  },
];

/** Every ID argument of every root field, as `Query.secret scope.projectId`. */
function idArgumentsOfSchema(): string[] {
  const schema = buildSchema();
  const idPaths = (path: string, type: GraphQLInputType, seen: ReadonlySet<string>): string[] => {
    const named = getNamedType(type);
    if (named.name === 'ID') return [path];
    if (!isInputObjectType(named) || seen.has(named.name)) return [];
    return Object.values(named.getFields()).flatMap((field) =>
      idPaths(`${path}.${field.name}`, field.type, new Set([...seen, named.name])),
    );
  };
  return [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((root) =>
    root
      ? Object.values(root.getFields()).flatMap((field) =>
          field.args.flatMap((arg) => idPaths(arg.name, arg.type, new Set())).map((path) => `${root.name}.${field.name} ${path}`),
        )
      : [],
  );
}

/** What a client can observe of one answer. */
interface Observed {
  status: number;
  /** The body (HTTP) or every message until the operation ended (SSE, graphql-ws). */
  body: unknown;
}

describe('no existence oracle: a stranger cannot tell what exists', () => {
  let app: TestApp;
  let fake: FakeStripe;
  let http: ReturnType<typeof createHttpServer>;
  let base: string;
  let real: Record<Kind, string>;

  beforeAll(async () => {
    fake = await startFakeStripe();
    app = await createTestApp({ env: { STRIPE_API_BASE: fake.url, PUBLIC_URL: 'https://coffer.example.com' } });
    http = createHttpServer(app.yoga);
    await new Promise<void>((resolve) => http.server.listen(0, '127.0.0.1', resolve));
    base = `127.0.0.1:${(http.server.address() as AddressInfo).port}`;

    // The owner's project has everything a stranger might probe for: Stripe credentials, a sync
    // run (queued by configuring; no worker runs here), secrets live and deleted.
    const asAdmin = { credential: app.admin.key };
    const account = fake.addAccount({ name: 'Oracle' });
    const configure =
      'mutation($projectId: ID!, $input: StripeCredentialsInput!) { configureStripe(projectId: $projectId, input: $input) { config { id } } }';
    const configured = await app.request(
      { query: configure, variables: { projectId: app.project.id, input: { testSecretKey: fake.addKey(account.id) } } },
      asAdmin,
    );
    expect(configured.json.errors, configured.text).toBeUndefined();
    const run = await app.db.prisma.stripeSyncRun.findFirstOrThrow({ where: { projectId: app.project.id } });
    const asOwner = { credential: app.owner.key };
    for (const scope of [{ type: 'PROJECT', projectId: app.project.id }, { type: 'USER' }]) {
      for (const [name, value] of [
        [LIVE, 'first'],
        [LIVE, 'second'],
        [DELETED, 'gone'],
      ] as const) {
        const upsert = 'mutation($input: UpsertSecretInput!) { upsertSecret(input: $input) { id } }';
        expect((await app.request({ query: upsert, variables: { input: { name, value, scope } } }, asOwner)).json.errors).toBeUndefined();
      }
      const remove = `mutation($scope: SecretScopeInput) { deleteSecret(name: "${DELETED}", scope: $scope) { id } }`;
      expect((await app.request({ query: remove, variables: { scope } }, asOwner)).json.errors).toBeUndefined();
    }
    const { apiKey } = await createApiKey({ db: app.db, keys: app.services.auth.keys, userId: app.owner.user.id, name: 'not yours' });
    const secret = await app.db.prisma.secret.findFirstOrThrow({ where: { name: LIVE, scope: 'PROJECT', ownerId: app.project.id } });
    const machine = await machineWithKey({
      db: app.db,
      keys: app.services.auth.keys,
      signals: app.services.signals,
      projectId: app.project.id,
      permissions: ['SECRETS_READ'],
    });
    // A notification endpoint of the owner's project, with a delivery queued by a change after it.
    const createEndpoint = `mutation($p: ID!) { createNotificationEndpoint(projectId: $p, input: { url: "https://hooks.example.com/coffer" }) { endpoint { id } } }`;
    const endpoint = await app.request({ query: createEndpoint, variables: { p: app.project.id } }, asOwner);
    expect(endpoint.json.errors, endpoint.text).toBeUndefined();
    const upsertAfter = 'mutation($input: UpsertSecretInput!) { upsertSecret(input: $input) { id } }';
    const scope = { type: 'PROJECT', projectId: app.project.id };
    await app.request({ query: upsertAfter, variables: { input: { name: 'ORACLE_NOTIFIED', value: 'v', scope } } }, asOwner);
    const delivery = await app.db.prisma.notificationDelivery.findFirstOrThrow({ where: { projectId: app.project.id } });
    real = {
      project: app.project.id,
      run: run.id,
      user: app.owner.user.id,
      apiKey: apiKey.id,
      secret: secret.id,
      endpoint: delivery.endpointId,
      delivery: delivery.id,
      machineIdentity: machine.identity.id,
      machineKey: machine.apiKey.id,
    };
  });

  afterAll(async () => {
    await http?.close();
    await app?.close();
    await fake?.close();
  });

  /** Everything a refused mutation could have touched (not the audit trail: denials are recorded). */
  async function state() {
    const { prisma } = app.db;
    const byId = { orderBy: { id: 'asc' } } as const;
    return {
      users: await prisma.user.findMany(byId),
      projects: await prisma.project.findMany(byId),
      // Not lastUsedAt: the stranger's own key is being used meanwhile.
      apiKeys: await prisma.apiKey.findMany({ ...byId, omit: { lastUsedAt: true } }),
      machineIdentities: await prisma.machineIdentity.findMany(byId),
      secrets: await prisma.secret.findMany(byId),
      secretVersions: await prisma.secretVersion.findMany({ orderBy: [{ secretId: 'asc' }, { version: 'asc' }] }),
      stripeEnvironments: await prisma.stripeEnvironmentState.findMany({ orderBy: [{ projectId: 'asc' }, { environment: 'asc' }] }),
      stripeCredentials: await prisma.stripeCredential.count(),
      syncRuns: await prisma.stripeSyncRun.findMany(byId),
      stripeRequests: fake.requests.length,
    };
  }

  async function overHttp(row: Row, id: string): Promise<Observed> {
    const response = await app.request({ query: row.query, variables: row.variables(id) }, { credential: app.stranger.key });
    return { status: response.status, body: response.json };
  }

  /**
   * A refused subscription ends at once; one still open after this long is reported as open. Long
   * enough for a loaded CI runner: only a stream that really stays open (an oracle) waits it out.
   */
  const STILL_OPEN_AFTER_MS = 10_000;

  /** Every SSE message until the stream ends; a stream still open after a while is reported as such. */
  async function overSse(row: Row, id: string): Promise<Observed> {
    const stream = await subscribeSse(`http://${base}/graphql`, {
      query: row.query,
      variables: row.variables(id),
      credential: app.stranger.key,
    });
    const deadline = Date.now() + STILL_OPEN_AFTER_MS;
    const messages: unknown[] = [];
    let open = false;
    try {
      for (;;) {
        const message = await stream.result(Math.max(1, deadline - Date.now()));
        if (message === null) break;
        messages.push(message);
      }
    } catch (error) {
      if (!(error instanceof SseTimeout)) throw error;
      open = true;
    } finally {
      await stream.close();
    }
    return { status: stream.status, body: { messages, open } };
  }

  /** The operation's outcome over graphql-ws: its messages, then how it ended. */
  async function overWebSocket(row: Row, id: string): Promise<Observed> {
    const client = createClient({
      url: `ws://${base}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { 'x-api-key': app.stranger.key },
      retryAttempts: 0,
    });
    const messages: unknown[] = [];
    const ending = await new Promise<unknown>((resolve) => {
      const timer = setTimeout(() => resolve('still open'), STILL_OPEN_AFTER_MS);
      client.subscribe(
        { query: row.query, variables: row.variables(id) },
        {
          next: (value) => void messages.push(value),
          error: (error) => {
            clearTimeout(timer);
            resolve({ error: JSON.parse(JSON.stringify(error)) as unknown });
          },
          complete: () => {
            clearTimeout(timer);
            resolve('complete');
          },
        },
      );
    });
    await client.dispose();
    return { status: 0, body: { messages, ending } };
  }

  const transportsOf = (row: Row) =>
    row.field.startsWith('Subscription.')
      ? ([
          ['SSE', overSse],
          ['graphql-ws', overWebSocket],
        ] as const)
      : ([['HTTP', overHttp]] as const);

  /** The errors of an answer, wherever its transport put them. */
  function errorsOf(observed: Observed): Array<{ message?: string; extensions?: { code?: string } }> {
    const body = observed.body as {
      errors?: [];
      messages?: Array<{ errors?: [] }>;
      ending?: { error?: [] };
    };
    return [...(body.errors ?? []), ...(body.messages ?? []).flatMap((message) => message.errors ?? []), ...(body.ending?.error ?? [])];
  }

  for (const row of rows) {
    for (const [transport, call] of transportsOf(row)) {
      it(`${row.field} (${row.arg}) over ${transport}: someone else's ${row.kind} answers as a random id does`, async () => {
        const before = await state();
        const answerForReal = await call(row, real[row.kind]);
        const answerForRandom = await call(row, randomUUID());
        expect(answerForReal).toEqual(answerForRandom);

        const errors = errorsOf(answerForReal);
        if (row.expected === 'ok') expect(errors).toEqual([]);
        else expect(errorCodes({ errors })).toEqual([row.expected]);
        if (row.expected === 'NOT_FOUND') expect(errors[0]?.message).toBe(NOT_FOUND_MESSAGE[row.kind]);
        expect(await state()).toEqual(before);
      });
    }
  }

  it("denials are still audited with their reason: someone else's scope and an unknown one", async () => {
    const reveal = `query($scope: SecretScopeInput) { secret(name: "${LIVE}", scope: $scope) { value } }`;
    const probes = [
      { scope: { type: 'PROJECT', projectId: app.project.id }, reason: 'not the project owner' },
      { scope: { type: 'PROJECT', projectId: randomUUID() }, reason: 'no such project' },
      { scope: { type: 'USER', userId: app.owner.user.id }, reason: 'another user' },
      { scope: { type: 'USER', userId: randomUUID() }, reason: 'no such user' },
    ];
    for (const { scope, reason } of probes) {
      const requestId = `oracle-${randomUUID()}`;
      await app.request({ query: reveal, variables: { scope } }, { credential: app.stranger.key, headers: { 'x-request-id': requestId } });
      const audited = await app.db.prisma.auditEvent.findMany({ where: { requestId } });
      expect(audited, reason).toEqual([
        expect.objectContaining({ outcome: 'DENIED', actorId: app.stranger.user.id, action: 'secret.secret', targetName: LIVE, reason }),
      ]);
    }
  });

  it('covers every ID argument of every root field of the schema', () => {
    const schema = idArgumentsOfSchema();
    const table = [...new Set(rows.map((row) => `${row.field} ${row.arg}`))];
    expect(
      schema.filter((entry) => !table.includes(entry)),
      'root field arguments without a row',
    ).toEqual([]);
    expect(
      table.filter((entry) => !schema.includes(entry)),
      'rows naming no argument of the schema',
    ).toEqual([]);
    const probes = rows.map((row) => `${row.field} ${row.arg} ${row.kind}`);
    expect(new Set(probes).size).toBe(probes.length);
  });
});

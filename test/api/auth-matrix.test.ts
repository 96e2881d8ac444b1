import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectOwnedBy } from '../../src/features/projects/projects.factory.js';
import { graphql } from '../../src/generated/graphql/index.js';
import { buildSchema } from '../../src/schema.js';
import { createTestApp, errorCodes, type TestApp } from '../support/app.js';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe.js';
import { SseTimeout, subscribeSse } from '../support/sse.js';
import { createApiKey } from '../../src/features/credentials/index.js';
import { userWithApiKey } from '../../src/features/credentials/credentials.factory.js';
import { machineWithKey } from '../../src/features/machine-identities/machine-identities.factory.js';
import type { MachineIdentityPermission } from '../../src/generated/prisma/enums.js';

/**
 * Who may call what. Every root field of the schema must have a row here: the last test fails
 * when an operation is added without deciding (and proving) who may use it.
 *
 * Two columns are machine identities of the row's project (environments production and staging):
 * `machine` holds exactly the row's `permission`(s) (every permission when the row names none),
 * and `machineWithout` holds every permission but those. A machine may be let in only where the
 * row names the permission that lets it in.
 */
type Caller = 'anonymous' | 'stranger' | 'owner' | 'admin' | 'machine' | 'machineWithout';
const CALLERS = ['anonymous', 'stranger', 'owner', 'admin', 'machine', 'machineWithout'] as const satisfies readonly Caller[];
const ALL_PERMISSIONS: MachineIdentityPermission[] = [
  'SECRETS_READ',
  'SECRETS_WRITE',
  'STRIPE_CONFIG_READ',
  'STRIPE_SYNC_RUN',
  'STRIPE_MIRROR_READ',
];
/** `hidden`: no error, and no object either (node(id:) answers null, as for an id that names nothing). */
type Outcome = 'ok' | 'hidden' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT';

interface Row {
  operation: string;
  run: (
    app: TestApp,
    credential: string | null,
  ) => Promise<{ json: { data?: unknown; errors?: Array<{ extensions?: Record<string, unknown> }> }; status: number }>;
  expected: Record<Caller, Outcome>;
  /** The permission(s) a machine identity needs for this operation (none: no machine may use it). */
  permission?: MachineIdentityPermission | MachineIdentityPermission[];
  /** The project the row acts on, which the machine identities belong to (default: the matrix project). */
  machineProject?: (app: TestApp) => Promise<string>;
  /** Rows that can be `hidden`: whether the answer holds the object(s) asked for. */
  found?: (data: unknown) => boolean;
}

const Me = graphql(`query MatrixMe { me { id } }`);
const Users = graphql(`query MatrixUsers { users(first: 5) { edges { node { id } } } }`);
const Projects = graphql(`query MatrixProjects { projects(first: 5) { edges { node { id } } } }`);
const Project = graphql(`query MatrixProject($id: ID!) { project(id: $id) { id name } }`);
const CreateUser = graphql(`mutation MatrixCreateUser($input: CreateUserInput!) { createUser(input: $input) { id } }`);
const CreateApiKey = graphql(`mutation MatrixCreateApiKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`);
const RevokeApiKey = graphql(`mutation MatrixRevokeApiKey($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`);
const IssueToken = graphql(`mutation MatrixIssueToken($input: IssueTokenInput!) { issueToken(input: $input) { token } }`);
const CreateProject = graphql(`mutation MatrixCreateProject($input: CreateProjectInput!) { createProject(input: $input) { id } }`);
const UpdateProject = graphql(
  `mutation MatrixUpdateProject($id: ID!, $input: UpdateProjectInput!) { updateProject(id: $id, input: $input) { id } }`,
);
const Secrets = graphql(`query MatrixSecrets($scope: SecretScopeInput) { secrets(scope: $scope, first: 5) { edges { node { name } } } }`);
const Secret = graphql(`query MatrixSecret($name: String!, $scope: SecretScopeInput) { secret(name: $name, scope: $scope) { value } }`);
const SecretVersions = graphql(
  `query MatrixSecretVersions($name: String!, $scope: SecretScopeInput) { secretVersions(name: $name, scope: $scope) { version } }`,
);
const UpsertSecret = graphql(`mutation MatrixUpsertSecret($input: UpsertSecretInput!) { upsertSecret(input: $input) { currentVersion } }`);
const UpsertSecrets = graphql(
  `mutation MatrixUpsertSecrets($scope: SecretScopeInput!, $secrets: [UpsertSecretsItemInput!]!) { upsertSecrets(scope: $scope, secrets: $secrets) { name currentVersion } }`,
);
const DisableUser = graphql(`mutation MatrixDisableUser($id: ID!) { disableUser(id: $id) { id disabledAt } }`);
const EnableUser = graphql(`mutation MatrixEnableUser($id: ID!) { enableUser(id: $id) { id disabledAt } }`);
const UpdateSecret = graphql(`mutation MatrixUpdateSecret($input: UpdateSecretInput!) { updateSecret(input: $input) { currentVersion } }`);
const DeleteSecret = graphql(
  `mutation MatrixDeleteSecret($name: String!, $scope: SecretScopeInput) { deleteSecret(name: $name, scope: $scope) { deletedAt } }`,
);
const RestoreSecret = graphql(
  `mutation MatrixRestoreSecret($name: String!, $scope: SecretScopeInput) { restoreSecret(name: $name, scope: $scope) { deletedAt } }`,
);
const RollbackSecret = graphql(
  `mutation MatrixRollbackSecret($name: String!, $scope: SecretScopeInput) { rollbackSecret(name: $name, scope: $scope, version: 1) { currentVersion } }`,
);
const DestroySecret = graphql(
  `mutation MatrixDestroySecret($name: String!, $scope: SecretScopeInput) { destroySecret(name: $name, scope: $scope) { id } }`,
);
const AuditEvents = graphql(`query MatrixAuditEvents { auditEvents(first: 5) { edges { node { action } } } }`);
const RotateMasterKey = graphql(`mutation MatrixRotateMasterKey { rotateMasterKey { activeKeyId } }`);
const MasterKeys = graphql(`query MatrixMasterKeys { masterKeys { id state } }`);
const PurgeMasterKeys = graphql(`mutation MatrixPurgeMasterKeys { purgeRetiredMasterKeys { purgedKeyIds } }`);
const RotateRootKey = graphql(`mutation MatrixRotateRootKey { rotateRootKey { rootKeyId } }`);
const StripeConfigQuery = graphql(
  `query MatrixStripeConfig($projectId: ID!) { stripeConfig(projectId: $projectId) { projectId testPublishableKey } }`,
);
const StripeWebhookUrls = graphql(`query MatrixStripeWebhookUrls($projectId: ID!) { stripeWebhookUrls(projectId: $projectId) { url } }`);
const ConfigureStripe = graphql(
  `mutation MatrixConfigureStripe($projectId: ID!, $input: StripeCredentialsInput!) { configureStripe(projectId: $projectId, input: $input) { results { changedFields } } }`,
);
const ValidateStripe = graphql(
  `mutation MatrixValidateStripe($projectId: ID!, $input: StripeCredentialsInput!) { validateStripeCredentials(projectId: $projectId, input: $input) { valid } }`,
);
const RemoveStripe = graphql(
  `mutation MatrixRemoveStripe($projectId: ID!) { removeStripeConfig(projectId: $projectId, environment: TEST) { projectId } }`,
);
const RetryStripeWebhook = graphql(
  `mutation MatrixRetryStripeWebhook($projectId: ID!) { retryStripeWebhookSetup(projectId: $projectId, environment: TEST) { ok } }`,
);
const ProjectEvents = `subscription MatrixProjectEvents($projectId: ID!) { projectEvents(projectId: $projectId) { kind } }`;
const StripeSyncRuns = graphql(
  `query MatrixStripeSyncRuns($projectId: ID!) { stripeSyncRuns(projectId: $projectId, first: 5) { totalCount edges { node { id } } } }`,
);
const StripeSyncRunQuery = graphql(`query MatrixStripeSyncRun($id: ID!) { stripeSyncRun(id: $id) { id status } }`);
const StartStripeSync = graphql(
  `mutation MatrixStartStripeSync($projectId: ID!) { startStripeSync(projectId: $projectId, environment: TEST) { id status } }`,
);
const CancelStripeSync = graphql(`mutation MatrixCancelStripeSync($runId: ID!) { cancelStripeSync(runId: $runId) { id status } }`);
const StripeProducts = graphql(
  `query MatrixStripeProducts($projectId: ID!) { stripeProducts(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
);
const StripePrices = graphql(
  `query MatrixStripePrices($projectId: ID!) { stripePrices(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
);
const StripeCustomers = graphql(
  `query MatrixStripeCustomers($projectId: ID!) { stripeCustomers(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
);
const StripeSubscriptions = graphql(
  `query MatrixStripeSubscriptions($projectId: ID!) { stripeSubscriptions(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
);
const StripeInvoices = graphql(
  `query MatrixStripeInvoices($projectId: ID!) { stripeInvoices(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
);
const StripePaymentIntents = graphql(
  `query MatrixStripePaymentIntents($projectId: ID!) { stripePaymentIntents(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
);
const StripeCharges = graphql(
  `query MatrixStripeCharges($projectId: ID!) { stripeCharges(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
);
const StripeRefunds = graphql(
  `query MatrixStripeRefunds($projectId: ID!) { stripeRefunds(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
);
const StripeCheckoutSessions = graphql(
  `query MatrixStripeCheckoutSessions($projectId: ID!) { stripeCheckoutSessions(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
);
const StripeSetupIntents = graphql(
  `query MatrixStripeSetupIntents($projectId: ID!) { stripeSetupIntents(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
);
const StripePaymentMethods = graphql(
  `query MatrixStripePaymentMethods($projectId: ID!) { stripePaymentMethods(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
);
const StripeDisputes = graphql(
  `query MatrixStripeDisputes($projectId: ID!) { stripeDisputes(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
);
const StripeCreditNotes = graphql(
  `query MatrixStripeCreditNotes($projectId: ID!) { stripeCreditNotes(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
);
const StripeCoupons = graphql(
  `query MatrixStripeCoupons($projectId: ID!) { stripeCoupons(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
);
const StripePromotionCodes = graphql(
  `query MatrixStripePromotionCodes($projectId: ID!) { stripePromotionCodes(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
);
const StripeTaxIds = graphql(
  `query MatrixStripeTaxIds($projectId: ID!) { stripeTaxIds(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
);
const StripeSubscriptionSchedules = graphql(
  `query MatrixStripeSubscriptionSchedules($projectId: ID!) { stripeSubscriptionSchedules(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
);
const StripeBalanceTransactions = graphql(
  `query MatrixStripeBalanceTransactions($projectId: ID!) { stripeBalanceTransactions(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
);
const StripeWebhookEvents = graphql(
  `query MatrixStripeWebhookEvents($projectId: ID!) { stripeWebhookEvents(projectId: $projectId, environment: TEST, first: 5) { totalCount edges { node { id } } } }`,
);
const NodeQuery = graphql(`query MatrixNode($id: ID!) { node(id: $id) { __typename id } }`);
const NodesQuery = graphql(`query MatrixNodes($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`);
const StripeSyncProgress = `subscription MatrixStripeSyncProgress($projectId: ID!) { stripeSyncProgress(projectId: $projectId, environment: TEST) { runId kind } }`;

let unique = 0;
const next = () => `${Date.now()}-${(unique += 1)}`;

/** A fresh environment of the matrix project, made by its owner, for one row to act on. */
async function matrixEnvironment(app: TestApp): Promise<string> {
  const name = `m-${next()}`;
  const answer = await app.request(
    {
      query: 'mutation ($p: ID!, $n: String!) { createEnvironment(projectId: $p, name: $n) { id } }',
      variables: { p: app.project.id, n: name },
    },
    { credential: app.owner.key },
  );
  if (answer.json.errors) throw new Error(JSON.stringify(answer.json.errors));
  return name;
}

/** A machine identity is refused whatever its permissions: user, account and management operations. */
const noMachines = { machine: 'FORBIDDEN', machineWithout: 'FORBIDDEN' } as const;
const everyone = { anonymous: 'UNAUTHENTICATED', stranger: 'ok', owner: 'ok', admin: 'ok', ...noMachines } as const;
const adminOnly = { anonymous: 'UNAUTHENTICATED', stranger: 'FORBIDDEN', owner: 'FORBIDDEN', admin: 'ok', ...noMachines } as const;
// Someone else's project (or run) is NOT_FOUND to a stranger, as if it did not exist: test/api/existence-oracle.test.ts.
const ownerOrAdmin = { anonymous: 'UNAUTHENTICATED', stranger: 'NOT_FOUND', owner: 'ok', admin: 'ok', ...noMachines } as const;
/** ownerOrAdmin, and a machine identity of the project holding the row's permission. */
const ownerAdminOrGranted = { ...ownerOrAdmin, machine: 'ok', machineWithout: 'FORBIDDEN' } as const;

/** A fresh secret in the owner's project, written directly so every caller's attempt starts equal. */
async function projectSecret(app: TestApp, { deleted = false } = {}) {
  const name = `MATRIX_${next().replace(/\D/g, '_')}`;
  const scope = { type: 'PROJECT' as const, projectId: app.project.id };
  const created = await app.request(
    {
      query: 'mutation($input: UpsertSecretInput!) { upsertSecret(input: $input) { id } }',
      variables: { input: { name, value: 'v1', scope } },
    },
    { credential: app.admin.key },
  );
  if (created.json.errors) throw new Error(JSON.stringify(created.json.errors));
  await app.request(
    {
      query: 'mutation($input: UpsertSecretInput!) { upsertSecret(input: $input) { id } }',
      variables: { input: { name, value: 'v2', scope } },
    },
    { credential: app.admin.key },
  );
  if (deleted)
    await app.request(
      {
        query: 'mutation($name: String!, $scope: SecretScopeInput) { deleteSecret(name: $name, scope: $scope) { id } }',
        variables: { name, scope },
      },
      { credential: app.admin.key },
    );
  return { name, scope };
}

/**
 * Opens a subscription over SSE and reads its first frame. An allowed subscription stays open
 * (first frame is a keep-alive, an event, or nothing); a denied one sends its error and ends.
 */
async function firstFrame(app: TestApp, credential: string | null, query: string, variables: Record<string, unknown>) {
  const stream = await subscribeSse('http://coffer.test/graphql', { query, variables, credential }, { fetch: app.yoga.fetch });
  const first = await stream.result(300).catch((error: unknown) => {
    if (error instanceof SseTimeout) return null;
    throw error;
  });
  await stream.close();
  return { status: stream.status, json: first ?? {} };
}

// Change streams and notification endpoints (features/secret-changes).
const CreateEndpoint = `mutation MatrixCreateEndpoint($projectId: ID!) {
  createNotificationEndpoint(projectId: $projectId, input: { url: "https://hooks.example.com/coffer" }) { endpoint { id } signingSecret }
}`;
const SecretChanges = `subscription MatrixSecretChanges($projectId: ID!) {
  secretChanges(projectId: $projectId, environment: "production", afterSequence: 0) { sequence kind }
}`;

/** A notification endpoint on the owner's project, created by the admin. */
async function notificationEndpoint(app: TestApp) {
  const created = await app.request({ query: CreateEndpoint, variables: { projectId: app.project.id } }, { credential: app.admin.key });
  const id = (created.json.data as { createNotificationEndpoint?: { endpoint: { id: string } } } | null)?.createNotificationEndpoint
    ?.endpoint.id;
  if (!id) throw new Error(created.text);
  return id;
}

/** A queued delivery to a fresh endpoint (a change to a project secret queues one; no worker sends it here). */
async function notificationDelivery(app: TestApp) {
  const endpointId = await notificationEndpoint(app);
  await projectSecret(app);
  const listed = await app.request(
    { query: 'query($id: ID!) { notificationDeliveries(endpointId: $id) { id } }', variables: { id: endpointId } },
    { credential: app.admin.key },
  );
  const id = (listed.json.data as { notificationDeliveries?: Array<{ id: string }> } | null)?.notificationDeliveries?.[0]?.id;
  if (!id) throw new Error(listed.text);
  return id;
}

const changeStreamRows: Row[] = [
  {
    operation: 'Subscription.secretChanges',
    expected: ownerAdminOrGranted,
    permission: 'SECRETS_READ',
    run: (app, credential) => firstFrame(app, credential, SecretChanges, { projectId: app.project.id }),
  },
  {
    operation: 'Query.notificationEndpoints',
    expected: ownerOrAdmin,
    run: (app, credential) =>
      app.request(
        {
          query: 'query($projectId: ID!) { notificationEndpoints(projectId: $projectId) { id url } }',
          variables: { projectId: app.project.id },
        },
        { credential },
      ),
  },
  {
    operation: 'Query.notificationDeliveries',
    expected: ownerOrAdmin,
    run: async (app, credential) =>
      app.request(
        {
          query: 'query($id: ID!) { notificationDeliveries(endpointId: $id) { id status } }',
          variables: { id: await notificationEndpoint(app) },
        },
        { credential },
      ),
  },
  {
    operation: 'Mutation.createNotificationEndpoint',
    expected: ownerOrAdmin,
    run: (app, credential) => app.request({ query: CreateEndpoint, variables: { projectId: app.project.id } }, { credential }),
  },
  {
    operation: 'Mutation.deleteNotificationEndpoint',
    expected: ownerOrAdmin,
    run: async (app, credential) =>
      app.request(
        { query: 'mutation($id: ID!) { deleteNotificationEndpoint(id: $id) { id } }', variables: { id: await notificationEndpoint(app) } },
        { credential },
      ),
  },
  {
    operation: 'Mutation.setNotificationEndpointEnabled',
    expected: ownerOrAdmin,
    run: async (app, credential) =>
      app.request(
        {
          query: 'mutation($id: ID!) { setNotificationEndpointEnabled(id: $id, enabled: false) { id enabled } }',
          variables: { id: await notificationEndpoint(app) },
        },
        { credential },
      ),
  },
  {
    operation: 'Mutation.retryNotificationDelivery',
    expected: ownerOrAdmin,
    run: async (app, credential) =>
      app.request(
        {
          query: 'mutation($id: ID!) { retryNotificationDelivery(id: $id) { id status } }',
          variables: { id: await notificationDelivery(app) },
        },
        { credential },
      ),
  },
];

/**
 * The sync operations need a project whose test environment has a secret key Stripe (the fake)
 * accepted, or startStripeSync answers BAD_USER_INPUT. One such project per app, owned by the
 * owner, configured by the admin; the sync queued by configuring is canceled so no run is active.
 * No sync worker runs here: a started run stays QUEUED until it is canceled.
 */
const stripeProjects = new WeakMap<TestApp, Promise<{ projectId: string; firstRunId: string }>>();
let fake: FakeStripe;

/** One machine identity (with one key) per project and set of permissions, made on first use. */
const machineKeys = new WeakMap<TestApp, Map<string, ReturnType<typeof machineWithKey>>>();
function machineKeyOf(app: TestApp, projectId: string, permissions: MachineIdentityPermission[]) {
  let known = machineKeys.get(app);
  if (!known) machineKeys.set(app, (known = new Map()));
  const id = `${projectId}|${permissions.join(',')}`;
  let made = known.get(id);
  if (!made) {
    made = machineWithKey({
      db: app.db,
      keys: app.services.auth.keys,
      signals: app.services.signals,
      projectId,
      permissions,
      environments: ['production', 'staging'],
    });
    known.set(id, made);
  }
  return made;
}

function stripeProject(app: TestApp) {
  let ready = stripeProjects.get(app);
  if (!ready) {
    ready = (async () => {
      const project = await projectOwnedBy({ db: app.db, ownerId: app.owner.user.id });
      const account = fake.addAccount({ name: 'Matrix Sync' });
      const configured = await app.execute(
        ConfigureStripe,
        { projectId: project.id, input: { testSecretKey: fake.addKey(account.id) } },
        { credential: app.admin.key },
      );
      if (configured.json.errors) throw new Error(JSON.stringify(configured.json.errors));
      const firstRunId = await cancelActiveRun(app, project.id);
      if (!firstRunId) throw new Error('configuring Stripe queued no sync');
      return { projectId: project.id, firstRunId };
    })();
    stripeProjects.set(app, ready);
  }
  return ready;
}

/** Cancels the project's active sync run (as the admin), so every caller starts equal. Returns its id. */
async function cancelActiveRun(app: TestApp, projectId: string): Promise<string | null> {
  const active = await app.db.prisma.stripeSyncRun.findFirst({ where: { projectId, activeSlot: 'active' } });
  if (!active) return null;
  const canceled = await app.execute(CancelStripeSync, { runId: active.id }, { credential: app.admin.key });
  if (canceled.json.errors || canceled.data?.cancelStripeSync!.status !== 'CANCELED')
    throw new Error(`could not cancel run ${active.id}: ${canceled.text}`);
  return active.id;
}

/** A mirror query row: owner or admin, on the Stripe project. */
const mirrorRow = (
  operation: string,
  run: (app: TestApp, credential: string | null, projectId: string) => ReturnType<Row['run']>,
  permission: MachineIdentityPermission = 'STRIPE_MIRROR_READ',
): Row => ({
  operation,
  expected: ownerAdminOrGranted,
  permission,
  machineProject: async (app) => (await stripeProject(app)).projectId,
  run: async (app, credential) => run(app, credential, (await stripeProject(app)).projectId),
});

/** node(id:) on one object: visible to exactly whom the object's own fields are. */
const nodeRow = (
  typename: string,
  expected: Record<Caller, Outcome>,
  idOf: (app: TestApp) => Promise<string>,
  machine: Pick<Row, 'permission' | 'machineProject'> = {},
): Row => ({
  operation: `Query.node (${typename})`,
  expected,
  ...machine,
  found: (data) => (data as { node: { __typename: string } | null }).node?.__typename === typename,
  run: async (app, credential) => app.execute(NodeQuery, { id: await idOf(app) }, { credential }),
});
const ownerOrAdminNode = {
  anonymous: 'UNAUTHENTICATED',
  stranger: 'hidden',
  owner: 'ok',
  admin: 'ok',
  machine: 'hidden',
  machineWithout: 'hidden',
} as const;
/** Also visible to a machine identity of its project with the row's permission. */
const grantedNode = { ...ownerOrAdminNode, machine: 'ok' } as const;

async function projectSecretId(app: TestApp) {
  const { name } = await projectSecret(app);
  return (await app.db.prisma.secret.findFirstOrThrow({ where: { name, ownerId: app.project.id } })).id;
}

const nodeRows: Row[] = [
  nodeRow('Project', ownerOrAdminNode, (app) => Promise.resolve(app.project.id)),
  nodeRow('SecretMetadata', grantedNode, projectSecretId, { permission: 'SECRETS_READ' }),
  nodeRow('StripeSyncRun', grantedNode, async (app) => (await stripeProject(app)).firstRunId, {
    permission: 'STRIPE_SYNC_RUN',
    machineProject: async (app) => (await stripeProject(app)).projectId,
  }),
  nodeRow('MachineIdentity', ownerOrAdminNode, async (app) => (await machineKeyOf(app, app.project.id, ['SECRETS_READ'])).identity.id),
  nodeRow('User', ownerOrAdminNode, (app) => Promise.resolve(app.owner.user.id)),
  nodeRow('ApiKey', ownerOrAdminNode, async (app) => {
    const { apiKey } = await createApiKey({ db: app.db, keys: app.services.auth.keys, userId: app.owner.user.id, name: 'node' });
    return apiKey.id;
  }),
  nodeRow(
    'AuditEvent',
    { anonymous: 'UNAUTHENTICATED', stranger: 'hidden', owner: 'hidden', admin: 'ok', machine: 'hidden', machineWithout: 'hidden' },
    async (app) => {
      const event = await app.db.prisma.auditEvent.findFirstOrThrow({ orderBy: { at: 'desc' } });
      return event.id;
    },
  ),
  {
    operation: 'Query.nodes',
    expected: ownerOrAdminNode,
    found: (data) => (data as { nodes: Array<unknown> }).nodes.every((node) => node !== null),
    run: async (app, credential) =>
      app.execute(NodesQuery, { ids: [app.project.id, await projectSecretId(app), (await stripeProject(app)).firstRunId] }, { credential }),
  },
];

/** A fresh machine identity of the matrix project (made directly), for one row to act on. */
const freshIdentity = async (app: TestApp) =>
  (
    await machineWithKey({
      db: app.db,
      keys: app.services.auth.keys,
      signals: app.services.signals,
      projectId: app.project.id,
      permissions: ['SECRETS_READ'],
    })
  ).identity.id;

// Machine identities are managed by the project's owner and admins; never by a machine identity.
const machineIdentityRows: Row[] = [
  {
    operation: 'Query.machineIdentities',
    expected: ownerOrAdmin,
    run: (app, credential) =>
      app.request(
        { query: 'query($p: ID!) { machineIdentities(projectId: $p) { id } }', variables: { p: app.project.id } },
        { credential },
      ),
  },
  {
    operation: 'Mutation.createMachineIdentity',
    expected: ownerOrAdmin,
    run: (app, credential) =>
      app.request(
        {
          query: `mutation($p: ID!, $input: CreateMachineIdentityInput!) { createMachineIdentity(projectId: $p, input: $input) { id } }`,
          variables: { p: app.project.id, input: { name: `m-${next()}`, environments: ['production'], permissions: ['SECRETS_READ'] } },
        },
        { credential },
      ),
  },
  {
    operation: 'Mutation.updateMachineIdentity',
    expected: ownerOrAdmin,
    run: async (app, credential) =>
      app.request(
        {
          query: 'mutation($id: ID!) { updateMachineIdentity(id: $id, input: { permissions: [SECRETS_WRITE] }) { id } }',
          variables: { id: await freshIdentity(app) },
        },
        { credential },
      ),
  },
  {
    operation: 'Mutation.deleteMachineIdentity',
    expected: ownerOrAdmin,
    run: async (app, credential) =>
      app.request(
        { query: 'mutation($id: ID!) { deleteMachineIdentity(id: $id) { id } }', variables: { id: await freshIdentity(app) } },
        { credential },
      ),
  },
  {
    operation: 'Mutation.createMachineIdentityApiKey',
    expected: ownerOrAdmin,
    run: async (app, credential) =>
      app.request(
        {
          query: 'mutation($id: ID!) { createMachineIdentityApiKey(machineIdentityId: $id, input: { name: "k" }) { key } }',
          variables: { id: await freshIdentity(app) },
        },
        { credential },
      ),
  },
  {
    operation: 'Mutation.revokeMachineIdentityApiKey',
    expected: ownerOrAdmin,
    run: async (app, credential) => {
      const { apiKey } = await machineWithKey({
        db: app.db,
        keys: app.services.auth.keys,
        signals: app.services.signals,
        projectId: app.project.id,
        permissions: ['SECRETS_READ'],
      });
      return app.request(
        { query: 'mutation($id: ID!) { revokeMachineIdentityApiKey(id: $id) { id revokedAt } }', variables: { id: apiKey.id } },
        { credential },
      );
    },
  },
];

const rows: Row[] = [
  ...nodeRows,
  ...machineIdentityRows,
  { operation: 'Query.me', expected: everyone, run: (app, credential) => app.execute(Me, {}, { credential }) },
  { operation: 'Query.users', expected: adminOnly, run: (app, credential) => app.execute(Users, {}, { credential }) },
  { operation: 'Query.projects', expected: everyone, run: (app, credential) => app.execute(Projects, {}, { credential }) },
  {
    operation: 'Query.project',
    expected: ownerOrAdmin,
    run: (app, credential) => app.execute(Project, { id: app.project.id }, { credential }),
  },
  {
    operation: 'Mutation.createUser',
    expected: adminOnly,
    run: (app, credential) => app.execute(CreateUser, { input: { email: `new-${next()}@example.test` } }, { credential }),
  },
  {
    operation: 'Mutation.disableUser',
    expected: adminOnly,
    run: async (app, credential) => {
      const { user, key } = await userWithApiKey({ db: app.db, keys: app.services.auth.keys });
      const response = await app.execute(DisableUser, { id: user.id }, { credential });
      // Allowed: the user's key is refused at once; refused: nothing changed, the key still works.
      const after = await app.execute(Me, {}, { credential: key });
      if (Boolean(response.data?.disableUser) !== (errorCodes(after)[0] === 'UNAUTHENTICATED'))
        throw new Error(`disableUser answered ${response.text} and the key then ${after.text}`);
      return response;
    },
  },
  {
    operation: 'Mutation.enableUser',
    expected: adminOnly,
    run: async (app, credential) => {
      const { user } = await userWithApiKey({ db: app.db, keys: app.services.auth.keys });
      await app.db.prisma.user.update({ where: { id: user.id }, data: { disabledAt: new Date() } });
      return app.execute(EnableUser, { id: user.id }, { credential });
    },
  },
  {
    operation: 'Mutation.createApiKey',
    expected: everyone,
    run: (app, credential) => app.execute(CreateApiKey, { input: { name: 'matrix' } }, { credential }),
  },
  {
    operation: 'Mutation.createApiKey (for another user)',
    expected: { anonymous: 'UNAUTHENTICATED', stranger: 'FORBIDDEN', owner: 'FORBIDDEN', admin: 'ok', ...noMachines },
    run: (app, credential) => app.execute(CreateApiKey, { input: { name: 'matrix', userId: app.admin.user.id } }, { credential }),
  },
  {
    operation: 'Mutation.revokeApiKey',
    // Someone else's key is reported as not found: its existence is not confirmed.
    expected: { anonymous: 'UNAUTHENTICATED', stranger: 'NOT_FOUND', owner: 'ok', admin: 'ok', ...noMachines },
    run: async (app, credential) => {
      const { apiKey } = await createApiKey({ db: app.db, keys: app.services.auth.keys, userId: app.owner.user.id, name: 'to revoke' });
      return app.execute(RevokeApiKey, { id: apiKey.id }, { credential });
    },
  },
  {
    operation: 'Mutation.issueToken',
    expected: adminOnly,
    run: (app, credential) => app.execute(IssueToken, { input: { userId: app.owner.user.id } }, { credential }),
  },
  {
    operation: 'Mutation.createProject',
    expected: everyone,
    run: (app, credential) => app.execute(CreateProject, { input: { name: `p-${next()}` } }, { credential }),
  },
  {
    operation: 'Mutation.updateProject',
    expected: ownerOrAdmin,
    run: (app, credential) => app.execute(UpdateProject, { id: app.project.id, input: { name: `renamed-${next()}` } }, { credential }),
  },
  {
    operation: 'Mutation.createEnvironment',
    expected: ownerOrAdmin,
    run: (app, credential) =>
      app.request(
        {
          query: 'mutation ($p: ID!, $n: String!) { createEnvironment(projectId: $p, name: $n) { id } }',
          variables: { p: app.project.id, n: `e-${next()}` },
        },
        { credential },
      ),
  },
  {
    operation: 'Mutation.renameEnvironment',
    expected: ownerOrAdmin,
    run: async (app, credential) =>
      app.request(
        {
          query: 'mutation ($p: ID!, $n: String!, $m: String!) { renameEnvironment(projectId: $p, name: $n, newName: $m) { id } }',
          variables: { p: app.project.id, n: await matrixEnvironment(app), m: `r-${next()}` },
        },
        { credential },
      ),
  },
  {
    operation: 'Mutation.deleteEnvironment',
    expected: ownerOrAdmin,
    run: async (app, credential) =>
      app.request(
        {
          query: 'mutation ($p: ID!, $n: String!) { deleteEnvironment(projectId: $p, name: $n) { id } }',
          variables: { p: app.project.id, n: await matrixEnvironment(app) },
        },
        { credential },
      ),
  },
  // Secrets: per-scope matrices live in test/secrets/authorization.test.ts; here PROJECT scope stands for all.
  {
    operation: 'Query.secrets',
    expected: ownerAdminOrGranted,
    permission: 'SECRETS_READ',
    run: (app, credential) => app.execute(Secrets, { scope: { type: 'PROJECT', projectId: app.project.id } }, { credential }),
  },
  {
    operation: 'Query.secret',
    expected: ownerAdminOrGranted,
    permission: 'SECRETS_READ',
    run: async (app, credential) => app.execute(Secret, await projectSecret(app), { credential }),
  },
  {
    operation: 'Query.secretVersions',
    expected: ownerAdminOrGranted,
    permission: 'SECRETS_READ',
    run: async (app, credential) => app.execute(SecretVersions, await projectSecret(app), { credential }),
  },
  {
    operation: 'Mutation.upsertSecret',
    expected: ownerAdminOrGranted,
    permission: 'SECRETS_WRITE',
    run: (app, credential) =>
      app.execute(
        UpsertSecret,
        { input: { name: 'MATRIX_UPSERT', value: 'v', scope: { type: 'PROJECT', projectId: app.project.id } } },
        { credential },
      ),
  },
  {
    operation: 'Mutation.upsertSecrets',
    expected: ownerAdminOrGranted,
    permission: 'SECRETS_WRITE',
    run: (app, credential) =>
      app.execute(
        UpsertSecrets,
        {
          scope: { type: 'PROJECT', projectId: app.project.id },
          secrets: [
            { name: 'MATRIX_BULK_A', value: 'a' },
            { name: 'MATRIX_BULK_B', value: 'b' },
          ],
        },
        { credential },
      ),
    found: (data) => (data as { upsertSecrets: unknown[] | null }).upsertSecrets?.length === 2,
  },
  {
    operation: 'Mutation.updateSecret',
    expected: ownerAdminOrGranted,
    permission: 'SECRETS_WRITE',
    run: async (app, credential) =>
      app.execute(UpdateSecret, { input: { ...(await projectSecret(app)), isActive: false } }, { credential }),
  },
  {
    operation: 'Mutation.deleteSecret',
    expected: ownerAdminOrGranted,
    permission: 'SECRETS_WRITE',
    run: async (app, credential) => app.execute(DeleteSecret, await projectSecret(app), { credential }),
  },
  {
    operation: 'Mutation.restoreSecret',
    expected: ownerAdminOrGranted,
    permission: 'SECRETS_WRITE',
    run: async (app, credential) => app.execute(RestoreSecret, await projectSecret(app, { deleted: true }), { credential }),
  },
  {
    operation: 'Mutation.rollbackSecret',
    expected: ownerAdminOrGranted,
    permission: 'SECRETS_WRITE',
    run: async (app, credential) => app.execute(RollbackSecret, await projectSecret(app), { credential }),
  },
  {
    operation: 'Query.secretValues',
    expected: ownerAdminOrGranted,
    permission: 'SECRETS_READ',
    run: async (app, credential) =>
      app.request(
        {
          query: 'query($scope: SecretScopeInput!, $names: [String!]) { secretValues(scope: $scope, names: $names) { name value } }',
          variables: { scope: { type: 'PROJECT', projectId: app.project.id }, names: [(await projectSecret(app)).name] },
        },
        { credential },
      ),
    found: (data) => (data as { secretValues: unknown[] }).secretValues.length === 1,
  },
  {
    operation: 'Mutation.copySecrets',
    expected: ownerAdminOrGranted,
    // Reads `from`, writes `to`.
    permission: ['SECRETS_READ', 'SECRETS_WRITE'],
    run: async (app, credential) =>
      app.request(
        {
          query:
            'mutation($p: ID!, $to: String!, $names: [String!]) { copySecrets(projectId: $p, from: "production", to: $to, names: $names) { name version } }',
          // staging: an environment the matrix's machine identities are granted.
          variables: { p: app.project.id, to: 'staging', names: [(await projectSecret(app)).name] },
        },
        { credential },
      ),
    found: (data) => (data as { copySecrets: unknown[] | null }).copySecrets?.length === 1,
  },
  {
    operation: 'Query.compareEnvironments',
    expected: ownerAdminOrGranted,
    permission: 'SECRETS_READ',
    run: async (app, credential) =>
      app.request(
        {
          query: 'query($p: ID!, $b: String!) { compareEnvironments(projectId: $p, a: "production", b: $b) { entries { name status } } }',
          variables: { p: app.project.id, b: 'staging' },
        },
        { credential },
      ),
  },
  {
    operation: 'Mutation.destroySecret',
    expected: adminOnly,
    run: async (app, credential) => app.execute(DestroySecret, await projectSecret(app), { credential }),
  },
  { operation: 'Query.auditEvents', expected: adminOnly, run: (app, credential) => app.execute(AuditEvents, {}, { credential }) },
  {
    operation: 'Mutation.rotateMasterKey',
    expected: adminOnly,
    run: (app, credential) => app.execute(RotateMasterKey, {}, { credential }),
  },
  { operation: 'Query.masterKeys', expected: adminOnly, run: (app, credential) => app.execute(MasterKeys, {}, { credential }) },
  {
    operation: 'Mutation.purgeRetiredMasterKeys',
    expected: adminOnly,
    run: (app, credential) => app.execute(PurgeMasterKeys, {}, { credential }),
  },
  { operation: 'Mutation.rotateRootKey', expected: adminOnly, run: (app, credential) => app.execute(RotateRootKey, {}, { credential }) },
  // Stripe: publishable keys need no call to Stripe, so these rows test authorization alone.
  {
    operation: 'Query.stripeConfig',
    expected: ownerAdminOrGranted,
    permission: 'STRIPE_CONFIG_READ',
    run: (app, credential) => app.execute(StripeConfigQuery, { projectId: app.project.id }, { credential }),
  },
  {
    operation: 'Query.stripeWebhookUrls',
    expected: ownerOrAdmin,
    run: (app, credential) => app.execute(StripeWebhookUrls, { projectId: app.project.id }, { credential }),
  },
  {
    operation: 'Mutation.configureStripe',
    expected: ownerOrAdmin,
    run: (app, credential) =>
      app.execute(
        ConfigureStripe,
        { projectId: app.project.id, input: { testPublishableKey: `pk_test_${'a'.repeat(24)}` } },
        { credential },
      ),
  },
  {
    operation: 'Mutation.validateStripeCredentials',
    expected: ownerOrAdmin,
    run: (app, credential) =>
      app.execute(
        ValidateStripe,
        { projectId: app.project.id, input: { testPublishableKey: `pk_test_${'b'.repeat(24)}` } },
        { credential },
      ),
  },
  {
    operation: 'Mutation.removeStripeConfig',
    expected: ownerOrAdmin,
    run: async (app, credential) => {
      await app.execute(
        ConfigureStripe,
        { projectId: app.project.id, input: { testPublishableKey: `pk_test_${'c'.repeat(24)}` } },
        { credential: app.admin.key },
      );
      return app.execute(RemoveStripe, { projectId: app.project.id }, { credential });
    },
  },
  {
    operation: 'Mutation.retryStripeWebhookSetup',
    // Allowed callers get past authorization to the next check: no secret key is configured.
    expected: { anonymous: 'UNAUTHENTICATED', stranger: 'NOT_FOUND', owner: 'BAD_USER_INPUT', admin: 'BAD_USER_INPUT', ...noMachines },
    run: (app, credential) => app.execute(RetryStripeWebhook, { projectId: app.project.id }, { credential }),
  },
  {
    operation: 'Subscription.projectEvents',
    expected: ownerOrAdmin,
    run: (app, credential) => firstFrame(app, credential, ProjectEvents, { projectId: app.project.id }),
  },
  // Stripe sync: every operation names a project (or a run of one), so owner or admin.
  mirrorRow(
    'Query.stripeSyncRuns',
    (app, credential, projectId) => app.execute(StripeSyncRuns, { projectId }, { credential }),
    'STRIPE_SYNC_RUN',
  ),
  {
    operation: 'Query.stripeSyncRun',
    expected: ownerAdminOrGranted,
    permission: 'STRIPE_SYNC_RUN',
    machineProject: async (app) => (await stripeProject(app)).projectId,
    run: async (app, credential) => app.execute(StripeSyncRunQuery, { id: (await stripeProject(app)).firstRunId }, { credential }),
  },
  {
    operation: 'Mutation.startStripeSync',
    expected: ownerAdminOrGranted,
    permission: 'STRIPE_SYNC_RUN',
    machineProject: async (app) => (await stripeProject(app)).projectId,
    run: async (app, credential) => {
      const { projectId } = await stripeProject(app);
      const response = await app.execute(StartStripeSync, { projectId }, { credential });
      // An allowed caller really queued a run (no CONFLICT, no BAD_USER_INPUT); it is canceled for the next caller.
      const canceled = await cancelActiveRun(app, projectId);
      if (response.data?.startStripeSync && canceled !== response.data.startStripeSync.id)
        throw new Error('the started run was not the active one');
      return response;
    },
  },
  {
    operation: 'Mutation.cancelStripeSync',
    expected: ownerAdminOrGranted,
    permission: 'STRIPE_SYNC_RUN',
    machineProject: async (app) => (await stripeProject(app)).projectId,
    run: async (app, credential) => {
      const { projectId } = await stripeProject(app);
      const started = await app.execute(StartStripeSync, { projectId }, { credential: app.admin.key });
      if (!started.data?.startStripeSync) throw new Error(started.text);
      const response = await app.execute(CancelStripeSync, { runId: started.data.startStripeSync.id }, { credential });
      if (response.data?.cancelStripeSync && response.data.cancelStripeSync.status !== 'CANCELED')
        throw new Error(`cancel left the run ${response.data.cancelStripeSync.status}`);
      await cancelActiveRun(app, projectId);
      return response;
    },
  },
  mirrorRow('Query.stripeProducts', (app, credential, projectId) => app.execute(StripeProducts, { projectId }, { credential })),
  mirrorRow('Query.stripePrices', (app, credential, projectId) => app.execute(StripePrices, { projectId }, { credential })),
  mirrorRow('Query.stripeCustomers', (app, credential, projectId) => app.execute(StripeCustomers, { projectId }, { credential })),
  mirrorRow('Query.stripeSubscriptions', (app, credential, projectId) => app.execute(StripeSubscriptions, { projectId }, { credential })),
  mirrorRow('Query.stripeInvoices', (app, credential, projectId) => app.execute(StripeInvoices, { projectId }, { credential })),
  mirrorRow('Query.stripePaymentIntents', (app, credential, projectId) => app.execute(StripePaymentIntents, { projectId }, { credential })),
  mirrorRow('Query.stripeCharges', (app, credential, projectId) => app.execute(StripeCharges, { projectId }, { credential })),
  mirrorRow('Query.stripeRefunds', (app, credential, projectId) => app.execute(StripeRefunds, { projectId }, { credential })),
  mirrorRow('Query.stripeCheckoutSessions', (app, credential, projectId) =>
    app.execute(StripeCheckoutSessions, { projectId }, { credential }),
  ),
  mirrorRow('Query.stripeSetupIntents', (app, credential, projectId) => app.execute(StripeSetupIntents, { projectId }, { credential })),
  mirrorRow('Query.stripePaymentMethods', (app, credential, projectId) => app.execute(StripePaymentMethods, { projectId }, { credential })),
  mirrorRow('Query.stripeDisputes', (app, credential, projectId) => app.execute(StripeDisputes, { projectId }, { credential })),
  mirrorRow('Query.stripeCreditNotes', (app, credential, projectId) => app.execute(StripeCreditNotes, { projectId }, { credential })),
  mirrorRow('Query.stripeCoupons', (app, credential, projectId) => app.execute(StripeCoupons, { projectId }, { credential })),
  mirrorRow('Query.stripePromotionCodes', (app, credential, projectId) => app.execute(StripePromotionCodes, { projectId }, { credential })),
  mirrorRow('Query.stripeTaxIds', (app, credential, projectId) => app.execute(StripeTaxIds, { projectId }, { credential })),
  mirrorRow('Query.stripeSubscriptionSchedules', (app, credential, projectId) =>
    app.execute(StripeSubscriptionSchedules, { projectId }, { credential }),
  ),
  mirrorRow('Query.stripeBalanceTransactions', (app, credential, projectId) =>
    app.execute(StripeBalanceTransactions, { projectId }, { credential }),
  ),
  mirrorRow('Query.stripeWebhookEvents', (app, credential, projectId) => app.execute(StripeWebhookEvents, { projectId }, { credential })),
  mirrorRow(
    'Subscription.stripeSyncProgress',
    (app, credential, projectId) => firstFrame(app, credential, StripeSyncProgress, { projectId }),
    'STRIPE_SYNC_RUN',
  ),
  ...changeStreamRows,
];

describe('authorization matrix', () => {
  let app: TestApp;
  beforeAll(async () => {
    fake = await startFakeStripe();
    app = await createTestApp({ env: { STRIPE_API_BASE: fake.url, PUBLIC_URL: 'https://coffer.example.com' } });
  });
  afterAll(async () => {
    await app.close();
    await fake.close();
  });

  async function credentialOf(row: Row, caller: Caller): Promise<string | null> {
    if (caller === 'machine' || caller === 'machineWithout') {
      const projectId = row.machineProject ? await row.machineProject(app) : app.project.id;
      const needed = row.permission === undefined ? [] : [row.permission].flat();
      const granted = needed.length > 0 ? needed : ALL_PERMISSIONS;
      const withheld = ALL_PERMISSIONS.filter((permission) => !needed.includes(permission));
      return (await machineKeyOf(app, projectId, caller === 'machine' ? granted : withheld)).key;
    }
    return caller === 'anonymous' ? null : caller === 'stranger' ? app.stranger.key : caller === 'owner' ? app.owner.key : app.admin.key;
  }

  for (const row of rows) {
    for (const caller of CALLERS) {
      const expected = row.expected[caller];
      it(`${row.operation} as ${caller}: ${expected}`, async () => {
        const response = await row.run(app, await credentialOf(row, caller));
        if (expected === 'ok' || expected === 'hidden') {
          expect(response.json.errors ?? []).toEqual([]);
          if (row.found) expect(row.found(response.json.data), JSON.stringify(response.json.data)).toBe(expected === 'ok');
        } else expect(errorCodes(response)).toEqual([expected]);
        expect(response.status).toBeLessThan(500);
      });
    }
  }

  it('covers every root field of the schema', () => {
    const schema = buildSchema();
    const fields = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) =>
      type ? Object.keys(type.getFields()).map((name) => `${type.name}.${name}`) : [],
    );
    const covered = new Set(rows.map((row) => row.operation.split(' ')[0]));
    expect(fields.filter((field) => !covered.has(field))).toEqual([]);
  });

  it('gives every row both machine-identity columns, and lets a machine in only through a named permission', () => {
    const incomplete = rows.filter((row) => CALLERS.some((caller) => !(caller in row.expected))).map((row) => row.operation);
    expect(incomplete).toEqual([]);
    const unexplained = rows.filter((row) => !row.permission && row.expected.machine === 'ok').map((row) => row.operation);
    expect(unexplained).toEqual([]);
    // A machine lacking the permission never gets what one holding it gets.
    const leaky = rows.filter((row) => row.permission && row.expected.machineWithout === 'ok').map((row) => row.operation);
    expect(leaky).toEqual([]);
  });
});

import { graphql } from '../generated/graphql/index.js';

// The operations the client (and the CLI) send, typed by codegen against schema.graphql.

export const MeDocument = graphql(`query CofferClientMe { me { id email name role } }`);

export const SecretDocument = graphql(`
  query CofferClientSecret($name: String!, $scope: SecretScopeInput, $version: Int) {
    secret(name: $name, scope: $scope, version: $version) { name version environment value }
  }
`);

export const SecretsDocument = graphql(`
  query CofferClientSecrets($scope: SecretScopeInput, $filter: SecretFilter, $first: Int, $after: String) {
    secrets(scope: $scope, filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        id name scope projectId environment currentVersion description
        isActive isReserved isExpired expiresAt deletedAt createdAt updatedAt
      }
    }
  }
`);

export const SecretValuesDocument = graphql(`
  query CofferClientSecretValues($scope: SecretScopeInput!, $names: [String!], $raw: Boolean) {
    secretValues(scope: $scope, names: $names, raw: $raw) { name value version environment }
  }
`);

export const SecretVersionsDocument = graphql(`
  query CofferClientSecretVersions($name: String!, $scope: SecretScopeInput) {
    secretVersions(name: $name, scope: $scope) { version createdAt createdById }
  }
`);

export const UpsertSecretDocument = graphql(`
  mutation CofferClientUpsertSecret($input: UpsertSecretInput!) {
    upsertSecret(input: $input) { id name environment currentVersion }
  }
`);

export const UpsertSecretsDocument = graphql(`
  mutation CofferClientUpsertSecrets($scope: SecretScopeInput!, $secrets: [UpsertSecretsItemInput!]!) {
    upsertSecrets(scope: $scope, secrets: $secrets) { id name environment currentVersion }
  }
`);

export const RollbackSecretDocument = graphql(`
  mutation CofferClientRollbackSecret($name: String!, $scope: SecretScopeInput, $version: Int!, $expectedVersion: Int) {
    rollbackSecret(name: $name, scope: $scope, version: $version, expectedVersion: $expectedVersion) { id name environment currentVersion }
  }
`);

export const DeleteSecretDocument = graphql(`
  mutation CofferClientDeleteSecret($name: String!, $scope: SecretScopeInput) {
    deleteSecret(name: $name, scope: $scope) { id name environment currentVersion deletedAt }
  }
`);

export const RestoreSecretDocument = graphql(`
  mutation CofferClientRestoreSecret($name: String!, $scope: SecretScopeInput) {
    restoreSecret(name: $name, scope: $scope) { id name environment currentVersion deletedAt }
  }
`);

export const SecretChangesDocument = graphql(`
  subscription CofferClientSecretChanges($projectId: ID!, $environment: String, $afterSequence: Int) {
    secretChanges(projectId: $projectId, environment: $environment, afterSequence: $afterSequence) {
      sequence kind name environment projectId version at actorVia
    }
  }
`);

export const UsersDocument = graphql(`
  query CofferClientUsers($first: Int, $after: String) {
    users(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { id email name role disabledAt createdAt }
    }
  }
`);

export const CreateUserDocument = graphql(`
  mutation CofferClientCreateUser($input: CreateUserInput!) { createUser(input: $input) { id email name role } }
`);

export const DisableUserDocument = graphql(`
  mutation CofferClientDisableUser($id: ID!) { disableUser(id: $id) { id email role disabledAt } }
`);

export const EnableUserDocument = graphql(`
  mutation CofferClientEnableUser($id: ID!) { enableUser(id: $id) { id email role disabledAt } }
`);

export const IssueTokenDocument = graphql(`
  mutation CofferClientIssueToken($input: IssueTokenInput!) { issueToken(input: $input) { token expiresAt } }
`);

export const CreateApiKeyDocument = graphql(`
  mutation CofferClientCreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) { key apiKey { id name prefix userId expiresAt createdAt } }
  }
`);

export const ApiKeysDocument = graphql(`
  query CofferClientApiKeys { me { id apiKeys { id name prefix userId expiresAt lastUsedAt revokedAt createdAt } } }
`);

export const RevokeApiKeyDocument = graphql(`
  mutation CofferClientRevokeApiKey($id: ID!) { revokeApiKey(id: $id) { id name revokedAt } }
`);

export const ProjectsDocument = graphql(`
  query CofferClientProjects($first: Int, $after: String) {
    projects(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { id name ownerId createdAt environments { name } }
    }
  }
`);

export const CreateProjectDocument = graphql(`
  mutation CofferClientCreateProject($input: CreateProjectInput!) { createProject(input: $input) { id name ownerId createdAt } }
`);

export const RotateMasterKeyDocument = graphql(`
  mutation CofferClientRotateMasterKey($generateNewKey: Boolean, $maxBatches: Int) {
    rotateMasterKey(generateNewKey: $generateNewKey, maxBatches: $maxBatches) { activeKeyId rewrapped remaining retiredKeyIds }
  }
`);

export const PurgeRetiredMasterKeysDocument = graphql(`
  mutation CofferClientPurgeRetiredMasterKeys { purgeRetiredMasterKeys { purgedKeyIds note } }
`);

export const RotateRootKeyDocument = graphql(`
  mutation CofferClientRotateRootKey($generate: Boolean) {
    rotateRootKey(generate: $generate) { rootKeyId previousRootKeyIds resealedTerms }
  }
`);

export const DestroySecretDocument = graphql(`
  mutation CofferClientDestroySecret($name: String!, $scope: SecretScopeInput) {
    destroySecret(name: $name, scope: $scope) { id name }
  }
`);

export const StripeConfigDocument = graphql(`
  query CofferClientStripeConfig($projectId: ID!) {
    stripeConfig(projectId: $projectId) {
      projectId isActive hasTestCredentials hasLiveCredentials
      testSecretKey testPublishableKey testConfiguredAt liveSecretKey livePublishableKey liveConfiguredAt
      test { accountId keyPermissions { objectType readable reason } }
      live { accountId keyPermissions { objectType readable reason } }
    }
  }
`);

export const ConfigureStripeDocument = graphql(`
  mutation CofferClientConfigureStripe($projectId: ID!, $input: StripeCredentialsInput!) {
    configureStripe(projectId: $projectId, input: $input) {
      results { environment changedFields accountChanged }
      config {
        projectId hasTestCredentials hasLiveCredentials testSecretKey liveSecretKey
        test { keyPermissions { objectType readable reason } }
        live { keyPermissions { objectType readable reason } }
      }
    }
  }
`);

export const StripeSyncRunFieldsFragment = graphql(`
  fragment CofferClientStripeSyncRunFields on StripeSyncRun {
    id projectId environment accountId status trigger objects attempts error
    createdAt startedAt finishedAt cancelRequestedAt
    progress { objectType status objects pages retries error listed insertedByVerification markedDeleted }
  }
`);

export const StripeSyncEventFieldsFragment = graphql(`
  fragment CofferClientStripeSyncEventFields on StripeSyncProgressEvent {
    runId sequence kind runStatus objectType objectStatus pages objects runObjects total retries message at
  }
`);

export const StartStripeSyncDocument = graphql(`
  mutation CofferClientStartStripeSync($projectId: ID!, $environment: StripeEnvironment!, $objects: [StripeSyncObject!]) {
    startStripeSync(projectId: $projectId, environment: $environment, objects: $objects) { ...CofferClientStripeSyncRunFields }
  }
`);

export const CancelStripeSyncDocument = graphql(`
  mutation CofferClientCancelStripeSync($runId: ID!) {
    cancelStripeSync(runId: $runId) { ...CofferClientStripeSyncRunFields }
  }
`);

export const StripeSyncRunDocument = graphql(`
  query CofferClientStripeSyncRun($id: ID!) { stripeSyncRun(id: $id) { ...CofferClientStripeSyncRunFields } }
`);

export const StripeSyncRunsDocument = graphql(`
  query CofferClientStripeSyncRuns($projectId: ID!, $environment: StripeEnvironment, $first: Int) {
    stripeSyncRuns(projectId: $projectId, environment: $environment, first: $first) { nodes { ...CofferClientStripeSyncRunFields } }
  }
`);

export const StripeSyncRunEventsDocument = graphql(`
  query CofferClientStripeSyncRunEvents($id: ID!, $afterSequence: Int, $first: Int) {
    stripeSyncRun(id: $id) { id status events(afterSequence: $afterSequence, first: $first) { ...CofferClientStripeSyncEventFields } }
  }
`);

export const StripeSyncProgressDocument = graphql(`
  subscription CofferClientStripeSyncProgress($projectId: ID!, $environment: StripeEnvironment!) {
    stripeSyncProgress(projectId: $projectId, environment: $environment) { ...CofferClientStripeSyncEventFields }
  }
`);

import { GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { allow, and, deny, shield, type IRules } from 'graphql-shield';
import { actsForSelfUnlessAdmin, isAdmin, isAuthenticated, isProjectOwner, isSelfOrAdmin, subscriberOwnsProject } from '../auth/rules.js';
import { canDestroySecret, canUseSecretScope } from '../features/secrets/secrets.rules.js';
import { isSyncRunOwner } from '../features/stripe-sync/sync.rules.js';
import { forbidden } from './errors.js';

/**
 * Who may do what, for the whole API. Root fields without a rule are denied: a new operation is
 * closed until someone decides here who may call it (and the auth-matrix test makes them).
 */
const rootRules = {
  Query: {
    me: isAuthenticated,
    users: isAdmin,
    projects: isAuthenticated,
    project: isProjectOwner,
    secrets: canUseSecretScope,
    secret: canUseSecretScope,
    secretVersions: canUseSecretScope,
    auditEvents: isAdmin,
    masterKeys: isAdmin,
    stripeConfig: isProjectOwner,
    stripeWebhookUrls: isProjectOwner,
    stripeSyncRuns: isProjectOwner,
    stripeSyncRun: isSyncRunOwner,
    stripeProducts: isProjectOwner,
    stripePrices: isProjectOwner,
    stripeCustomers: isProjectOwner,
    stripeSubscriptions: isProjectOwner,
    stripeInvoices: isProjectOwner,
    stripePaymentIntents: isProjectOwner,
  },
  Mutation: {
    createUser: isAdmin,
    createApiKey: and(isAuthenticated, actsForSelfUnlessAdmin),
    revokeApiKey: isAuthenticated,
    issueToken: isAdmin,
    createProject: isAuthenticated,
    updateProject: isProjectOwner,
    upsertSecret: canUseSecretScope,
    updateSecret: canUseSecretScope,
    deleteSecret: canUseSecretScope,
    restoreSecret: canUseSecretScope,
    rollbackSecret: canUseSecretScope,
    destroySecret: canDestroySecret,
    rotateMasterKey: isAdmin,
    purgeRetiredMasterKeys: isAdmin,
    rotateRootKey: isAdmin,
    configureStripe: isProjectOwner,
    validateStripeCredentials: isProjectOwner,
    removeStripeConfig: isProjectOwner,
    retryStripeWebhookSetup: isProjectOwner,
    startStripeSync: isProjectOwner,
    cancelStripeSync: isSyncRunOwner,
  },
  Subscription: {
    projectEvents: subscriberOwnsProject,
    stripeSyncProgress: subscriberOwnsProject,
  },
};

/** Rules on fields of non-root types, where what you may see depends on the object. */
const fieldRules = {
  User: { '*': allow, apiKeys: isSelfOrAdmin },
};

/**
 * Non-root object types are reachable only through guarded root fields, so they default to
 * allow (shield's fallback would otherwise deny every PageInfo and edge); root types deny.
 */
export function buildPermissions(schema: GraphQLSchema) {
  const rules: IRules = { ...fieldRules };
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(type instanceof GraphQLObjectType) || type.name.startsWith('__') || type.name in rules) continue;
    const isRoot = ['Query', 'Mutation', 'Subscription'].includes(type.name);
    rules[type.name] = isRoot ? { ...rootRules[type.name as keyof typeof rootRules], '*': deny } : allow;
  }
  return shield(rules, {
    allowExternalErrors: true,
    // Shield's defaults would turn denials into yoga's masked "Unexpected error."
    fallbackError: () => forbidden(),
    fallbackRule: deny,
  });
}

export const ROOT_RULES = rootRules;

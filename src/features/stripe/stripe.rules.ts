import type { FeaturePermissions } from '../../graphql/permissions.js';
import { isProjectOwner, subscriberOwnsProject } from '../projects/index.js';
import { isSyncRunOwner } from '../stripe-sync/sync.rules.js';

export const stripePermissions: FeaturePermissions = {
  Query: {
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
    configureStripe: isProjectOwner,
    validateStripeCredentials: isProjectOwner,
    removeStripeConfig: isProjectOwner,
    retryStripeWebhookSetup: isProjectOwner,
    startStripeSync: isProjectOwner,
    cancelStripeSync: isSyncRunOwner,
  },
  Subscription: { stripeSyncProgress: subscriberOwnsProject },
};

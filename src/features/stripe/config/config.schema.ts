import type { Database } from '../../../db/database.js';
import type { StripeCredentialKind, StripeEnvironment } from '../../../generated/prisma/enums.js';
import { StripeWebhookMode } from '../../../generated/prisma/enums.js';
import { builder } from '../../../graphql/builder.js';
import type { ObjectPermission } from '../mirror/object-types.js';
import { actingDeps, StripeEnvironmentEnum } from '../shared.schema.js';
import { StripeSyncObjectEnum } from '../sync/sync.schema.js';
import { webhookUrl, type WebhookSetupResult } from '../webhooks/managed-webhooks.js';
import type { EnvironmentWithCredentials } from './config.repository.js';
import {
  configureStripe,
  ENVIRONMENTS,
  environmentsOf,
  removeStripeEnvironment,
  retryWebhookSetup,
  validateStripeCredentials,
  type AccountCheck,
  type ConfigureOutcome,
} from './config.service.js';
const WebhookModeEnum = builder.enumType(StripeWebhookMode, {
  name: 'StripeWebhookMode',
  description: 'NONE: no webhook secret. MANAGED: Coffer created the endpoint. MANUAL: you gave the signing secret.',
});
const WebhookStatusEnum = builder.enumType('StripeWebhookStatusKind', {
  values: ['NOT_CONFIGURED', 'ACTIVE', 'FAILED', 'MANUAL'] as const,
});

/** The configuration as clients see it: every credential masked, never decrypted for a read. */
interface StripeConfigView {
  projectId: string;
  environments: EnvironmentWithCredentials[];
}

const envOf = (view: StripeConfigView, environment: StripeEnvironment) =>
  view.environments.find((state) => state.environment === environment);
const masked = (view: StripeConfigView, environment: StripeEnvironment, kind: StripeCredentialKind) =>
  envOf(view, environment)?.credentials.find((row) => row.kind === kind)?.masked ?? null;
const hasSecretKey = (view: StripeConfigView, environment: StripeEnvironment) => masked(view, environment, 'SECRET_KEY') !== null;

const StripeWebhookStatus = builder.objectRef<EnvironmentWithCredentials>('StripeWebhookStatus').implement({
  fields: (t) => ({
    mode: t.expose('webhookMode', { type: WebhookModeEnum }),
    status: t.field({
      type: WebhookStatusEnum,
      resolve: (state) => {
        if (state.webhookMode === 'MANUAL') return 'MANUAL';
        if (state.webhookMode === 'MANAGED') return state.webhookEndpointId ? 'ACTIVE' : 'FAILED';
        return 'NOT_CONFIGURED';
      },
    }),
    endpointId: t.exposeString('webhookEndpointId', { nullable: true }),
    url: t.exposeString('webhookUrl', { nullable: true }),
    enabledEvents: t.exposeStringList('webhookEnabledEvents'),
    lastError: t.exposeString('webhookLastError', { nullable: true }),
    signingSecret: t.string({
      nullable: true,
      description: 'Masked.',
      resolve: (state) => state.credentials.find((row) => row.kind === 'WEBHOOK_SECRET')?.masked ?? null,
    }),
  }),
});

const StripeObjectPermission = builder.objectRef<ObjectPermission>('StripeObjectPermission').implement({
  description: 'Whether the restricted key may read one object type (checked with one list call when the key was saved).',
  fields: (t) => ({
    objectType: t.field({ type: StripeSyncObjectEnum, resolve: (entry) => entry.objectType }),
    readable: t.exposeBoolean('readable'),
    reason: t.exposeString('reason', { nullable: true, description: 'Why the key may not read it; the sync skips the type with it.' }),
  }),
});

const StripeEnvironmentStatus = builder.objectRef<EnvironmentWithCredentials>('StripeEnvironmentStatus').implement({
  fields: (t) => ({
    environment: t.expose('environment', { type: StripeEnvironmentEnum }),
    accountId: t.exposeString('accountId', { nullable: true }),
    accountName: t.exposeString('accountName', { nullable: true }),
    livemode: t.exposeBoolean('livemode'),
    configuredAt: t.expose('configuredAt', { type: 'DateTime', nullable: true }),
    webhook: t.field({ type: StripeWebhookStatus, resolve: (state) => state }),
    syncDue: t.boolean({
      description: 'A sync has been requested (new account) and has not run yet.',
      resolve: (state) => state.syncRequestedAt !== null,
    }),
    syncRequestedAt: t.expose('syncRequestedAt', { type: 'DateTime', nullable: true }),
    lastSyncSummary: t.field({ type: 'JSON', nullable: true, resolve: (state) => state.lastSyncSummary ?? null }),
    keyPermissions: t.field({
      type: [StripeObjectPermission],
      nullable: true,
      description: 'For a restricted key: per object type, whether it may read it. Null for a secret key.',
      resolve: (state) => (state.keyPermissions as ObjectPermission[] | null) ?? null,
    }),
  }),
});

const StripeKeyStatus = builder.objectRef<{ environment: StripeEnvironment; maskedKey: string | null }>('StripeKeyStatus').implement({
  fields: (t) => ({
    environment: t.expose('environment', { type: StripeEnvironmentEnum }),
    hasKey: t.boolean({ resolve: (key) => key.maskedKey !== null }),
    maskedKey: t.exposeString('maskedKey', { nullable: true }),
  }),
});

const StripeConfig = builder.objectRef<StripeConfigView>('StripeConfig').implement({
  description: "A project's Stripe set-up. Credentials are masked (`sk_test_...abcd`) on every read.",
  fields: (t) => ({
    id: t.id({ description: 'Same as projectId: one configuration per project.', resolve: (view) => view.projectId }),
    projectId: t.exposeID('projectId'),
    isActive: t.boolean({ resolve: (view) => ENVIRONMENTS.some((environment) => hasSecretKey(view, environment)) }),
    hasTestCredentials: t.boolean({ resolve: (view) => hasSecretKey(view, 'TEST') }),
    hasLiveCredentials: t.boolean({ resolve: (view) => hasSecretKey(view, 'LIVE') }),
    testSecretKey: t.string({ nullable: true, resolve: (view) => masked(view, 'TEST', 'SECRET_KEY') }),
    testPublishableKey: t.string({ nullable: true, resolve: (view) => masked(view, 'TEST', 'PUBLISHABLE_KEY') }),
    testWebhookSecret: t.string({ nullable: true, resolve: (view) => masked(view, 'TEST', 'WEBHOOK_SECRET') }),
    liveSecretKey: t.string({ nullable: true, resolve: (view) => masked(view, 'LIVE', 'SECRET_KEY') }),
    livePublishableKey: t.string({ nullable: true, resolve: (view) => masked(view, 'LIVE', 'PUBLISHABLE_KEY') }),
    liveWebhookSecret: t.string({ nullable: true, resolve: (view) => masked(view, 'LIVE', 'WEBHOOK_SECRET') }),
    testConfiguredAt: t.field({ type: 'DateTime', nullable: true, resolve: (view) => envOf(view, 'TEST')?.configuredAt ?? null }),
    liveConfiguredAt: t.field({ type: 'DateTime', nullable: true, resolve: (view) => envOf(view, 'LIVE')?.configuredAt ?? null }),
    createdAt: t.field({
      type: 'DateTime',
      resolve: (view) => new Date(Math.min(...view.environments.map((state) => state.createdAt.getTime()))),
    }),
    updatedAt: t.field({
      type: 'DateTime',
      resolve: (view) => new Date(Math.max(...view.environments.map((state) => state.updatedAt.getTime()))),
    }),
    keys: t.field({
      type: [StripeKeyStatus],
      description: 'One entry per environment: is a secret key configured, and its masked form.',
      resolve: (view) => ENVIRONMENTS.map((environment) => ({ environment, maskedKey: masked(view, environment, 'SECRET_KEY') })),
    }),
    test: t.field({ type: StripeEnvironmentStatus, nullable: true, resolve: (view) => envOf(view, 'TEST') ?? null }),
    live: t.field({ type: StripeEnvironmentStatus, nullable: true, resolve: (view) => envOf(view, 'LIVE') ?? null }),
  }),
});

async function viewOf(db: Database, projectId: string): Promise<StripeConfigView | null> {
  const environments = await environmentsOf(db, projectId);
  return environments.length > 0 ? { projectId, environments } : null;
}

const StripeWebhookUrl = builder.objectRef<{ environment: StripeEnvironment; url: string }>('StripeWebhookUrl').implement({
  fields: (t) => ({ environment: t.expose('environment', { type: StripeEnvironmentEnum }), url: t.exposeString('url') }),
});

builder.queryFields((t) => ({
  stripeConfig: t.field({
    type: StripeConfig,
    nullable: true,
    description: "The project's Stripe configuration, or null when none is set (owner or admin).",
    args: { projectId: t.arg.id() },
    resolve: (_root, { projectId }, ctx) => viewOf(ctx.db, String(projectId)),
  }),
  stripeWebhookUrls: t.field({
    type: [StripeWebhookUrl],
    description: 'The endpoint URLs to paste into Stripe when you manage webhooks by hand.',
    args: { projectId: t.arg.id() },
    resolve: (_root, { projectId }, ctx) =>
      ENVIRONMENTS.map((environment) => ({ environment, url: webhookUrl(ctx.config, String(projectId), environment) })),
  }),
}));

const StripeCredentialsInput = builder.inputType('StripeCredentialsInput', {
  description: 'Every field is optional: left out keeps the stored value, null removes it.',
  fields: (t) => ({
    testSecretKey: t.string({ required: false, description: 'sk_test_... or rk_test_...' }),
    testPublishableKey: t.string({ required: false, description: 'pk_test_...' }),
    testWebhookSecret: t.string({ required: false, description: 'whsec_... (Coffer creates one itself when left out).' }),
    liveSecretKey: t.string({ required: false, description: 'sk_live_... or rk_live_...' }),
    livePublishableKey: t.string({ required: false, description: 'pk_live_...' }),
    liveWebhookSecret: t.string({ required: false, description: 'whsec_...' }),
  }),
});

const StripeWebhookSetup = builder.objectRef<WebhookSetupResult>('StripeWebhookSetup').implement({
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    url: t.exposeString('url'),
    endpointId: t.string({ nullable: true, resolve: (result) => (result.ok ? result.endpointId : null) }),
    error: t.string({ nullable: true, resolve: (result) => (result.ok ? null : result.error) }),
  }),
});

const StripeConfigureResult = builder.objectRef<ConfigureOutcome>('StripeConfigureResult').implement({
  fields: (t) => ({
    environment: t.expose('environment', { type: StripeEnvironmentEnum }),
    changedFields: t.exposeStringList('changedFields', {
      description: 'Fields whose stored value changed (the same key again changes nothing).',
    }),
    accountChanged: t.exposeBoolean('accountChanged', {
      description: 'The key belongs to another Stripe account: mirrored data of the old one was cleared.',
    }),
    syncDue: t.exposeBoolean('syncDue'),
    syncRunId: t.exposeID('syncRunId', {
      nullable: true,
      description: 'The first sync of a new account, queued automatically (see stripeSyncRun and stripeSyncProgress).',
    }),
    webhook: t.field({
      type: StripeWebhookSetup,
      nullable: true,
      description: 'Set when Coffer tried to create its webhook endpoint.',
      resolve: (outcome) => outcome.webhook,
    }),
  }),
});

const ConfigureStripePayload = builder
  .objectRef<{ config: StripeConfigView | null; results: ConfigureOutcome[] }>('ConfigureStripePayload')
  .implement({
    fields: (t) => ({
      config: t.field({ type: StripeConfig, nullable: true, resolve: (payload) => payload.config }),
      results: t.field({ type: [StripeConfigureResult], resolve: (payload) => payload.results }),
    }),
  });

const StripeAccountCheck = builder.objectRef<AccountCheck>('StripeAccountCheck').implement({
  fields: (t) => ({
    environment: t.expose('environment', { type: StripeEnvironmentEnum }),
    accountId: t.exposeString('accountId'),
    accountName: t.exposeString('accountName', { nullable: true }),
    livemode: t.exposeBoolean('livemode'),
    restrictedKey: t.exposeBoolean('restrictedKey'),
    permissions: t.field({
      type: [StripeObjectPermission],
      nullable: true,
      description: 'For a restricted key: per object type, whether it may read it.',
      resolve: (check) => check.permissions,
    }),
  }),
});

const StripeCredentialsValidation = builder.objectRef<AccountCheck[]>('StripeCredentialsValidation').implement({
  description: 'All given credentials passed the format checks and every secret key was accepted by Stripe. (Failures are errors.)',
  fields: (t) => ({
    valid: t.boolean({ resolve: () => true }),
    accounts: t.field({ type: [StripeAccountCheck], resolve: (checks) => checks }),
  }),
});

builder.mutationFields((t) => ({
  configureStripe: t.field({
    type: ConfigureStripePayload,
    description:
      "Saves a project's Stripe credentials after format and live checks (owner or admin). Partial: left out keeps, null removes.",
    args: { projectId: t.arg.id(), input: t.arg({ type: StripeCredentialsInput }) },
    resolve: async (_root, { projectId, input }, ctx) => {
      const results = await configureStripe(actingDeps(ctx), String(projectId), input);
      return { config: await viewOf(ctx.db, String(projectId)), results };
    },
  }),
  validateStripeCredentials: t.field({
    type: StripeCredentialsValidation,
    description: 'The checks of configureStripe, saving nothing.',
    args: { projectId: t.arg.id(), input: t.arg({ type: StripeCredentialsInput }) },
    resolve: (_root, { input }, ctx) => validateStripeCredentials(ctx, input),
  }),
  removeStripeConfig: t.field({
    type: StripeConfig,
    nullable: true,
    description: "Removes one environment: its credentials, Coffer's webhook endpoint and its mirrored data. Returns what is left.",
    args: { projectId: t.arg.id(), environment: t.arg({ type: StripeEnvironmentEnum }) },
    resolve: async (_root, { projectId, environment }, ctx) => {
      await removeStripeEnvironment(actingDeps(ctx), String(projectId), environment);
      return viewOf(ctx.db, String(projectId));
    },
  }),
  retryStripeWebhookSetup: t.field({
    type: StripeWebhookSetup,
    args: { projectId: t.arg.id(), environment: t.arg({ type: StripeEnvironmentEnum }) },
    resolve: (_root, { projectId, environment }, ctx) => retryWebhookSetup(actingDeps(ctx), String(projectId), environment),
  }),
}));

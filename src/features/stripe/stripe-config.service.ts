import type { StripeCredential, StripeEnvironmentState } from '../../generated/prisma/client.js';
import type { StripeCredentialKind, StripeEnvironment } from '../../generated/prisma/enums.js';
import { withExclusiveLocks } from '../../db/locks.js';
import type { AuthenticatedContext } from '../../graphql/context.js';
import { badInput, conflict, notFound } from '../../errors.js';
import { recordAudit } from '../audit/index.js';
import { clearMirror } from '../stripe-sync/mirror.repository.js';
import { syncWorkerRequests, WORKERS } from '../stripe-sync/progress.js';
import { ActiveSyncConflict, activeRunOf, cancelSyncRun, createSyncRun } from '../stripe-sync/sync-runs.service.js';
import { checkFormats, CREDENTIAL_FIELDS, isRestrictedKey, type CredentialsInput } from './credentials.js';
import { removeManagedWebhook, setUpManagedWebhook, type WebhookSetupResult } from './managed-webhooks.js';
import { createStripeClient } from './stripe-client.js';
import { deleteCredential, revealCredential, saveCredential, sameCredential } from './stripe-credentials.repository.js';
import { classifyStripeError, stripeError } from './stripe-errors.js';

export const ENVIRONMENTS: StripeEnvironment[] = ['TEST', 'LIVE'];

export type EnvironmentWithCredentials = StripeEnvironmentState & { credentials: StripeCredential[] };

export interface AccountCheck {
  environment: StripeEnvironment;
  accountId: string;
  accountName: string | null;
  livemode: boolean;
  restrictedKey: boolean;
}

const fieldsOf = (environment: StripeEnvironment) => CREDENTIAL_FIELDS.filter((entry) => entry.environment === environment);
const credentialOf = (state: EnvironmentWithCredentials | undefined, kind: StripeCredentialKind) => state?.credentials.find((row) => row.kind === kind);
const lockName = (projectId: string, environment: StripeEnvironment) => `stripe-config:${projectId}:${environment}`;

export function loadEnvironments(ctx: AuthenticatedContext, projectId: string) {
  return ctx.db.prisma.stripeEnvironmentState.findMany({ where: { projectId }, include: { credentials: true }, orderBy: { environment: 'asc' } });
}

/** One `GET /v1/account`: proves the key works and tells which account it belongs to. */
async function checkAccount(ctx: AuthenticatedContext, environment: StripeEnvironment, key: string, field: string): Promise<AccountCheck> {
  const restrictedKey = isRestrictedKey(key);
  try {
    const account = await createStripeClient(key, ctx.config, { maxNetworkRetries: 1 }).accounts.retrieveCurrent();
    return {
      environment,
      accountId: account.id,
      accountName: account.settings?.dashboard?.display_name ?? account.business_profile?.name ?? null,
      livemode: environment === 'LIVE',
      restrictedKey,
    };
  } catch (error) {
    throw stripeError(classifyStripeError(error, { restrictedKey }), `input.${field}`, (error as { statusCode?: number }).statusCode);
  }
}

function ensureFormats(input: CredentialsInput) {
  const problems = checkFormats(input);
  if (problems.length > 0) throw badInput(problems, 'Some Stripe credentials are not in the expected format. Nothing was saved.');
}

/** The same checks as configureStripe (formats, then Stripe), saving nothing. */
export async function validateStripeCredentials({ ctx, input }: { ctx: AuthenticatedContext; input: CredentialsInput }): Promise<AccountCheck[]> {
  ensureFormats(input);
  const checks: AccountCheck[] = [];
  for (const environment of ENVIRONMENTS) {
    const secret = fieldsOf(environment).find((entry) => entry.kind === 'SECRET_KEY')!;
    const key = input[secret.field];
    if (typeof key === 'string') checks.push(await checkAccount(ctx, environment, key, secret.field));
  }
  return checks;
}

export interface ConfigureOutcome {
  environment: StripeEnvironment;
  changedFields: string[];
  accountChanged: boolean;
  syncDue: boolean;
  webhook: WebhookSetupResult | null;
  /** The sync queued for a new account (null when none, or when an older run still has to stop first). */
  syncRunId: string | null;
}

/**
 * Validates everything first (formats, then one live check per new secret key) and only then
 * saves: a bad credential anywhere means nothing is saved. Saves for one project and environment
 * are serialized. Webhook set-up comes after the save and never undoes it.
 */
export async function configureStripe({ ctx, projectId, input }: { ctx: AuthenticatedContext; projectId: string; input: CredentialsInput }): Promise<ConfigureOutcome[]> {
  ensureFormats(input);
  const touched = ENVIRONMENTS.filter((environment) => fieldsOf(environment).some(({ field }) => input[field] !== undefined));
  if (touched.length === 0) return [];
  return withExclusiveLocks(ctx.db, touched.map((environment) => lockName(projectId, environment)), async () => {
    const existing = new Map((await loadEnvironments(ctx, projectId)).map((state) => [state.environment, state]));

    // Phase 1: what changes, and live checks for new secret keys (nothing written yet).
    const plans: Array<{
      environment: StripeEnvironment;
      state: EnvironmentWithCredentials | undefined;
      changed: Array<(typeof CREDENTIAL_FIELDS)[number]>;
      account: AccountCheck | null;
      newSecretKey: string | null | undefined;
      oldSecretKey: string | null;
    }> = [];
    for (const environment of touched) {
      const state = existing.get(environment);
      const fields = fieldsOf(environment);
      const changed: Array<(typeof CREDENTIAL_FIELDS)[number]> = fields.filter(({ field, kind }) => {
        const value = input[field];
        if (value === undefined) return false;
        if (value === null) return credentialOf(state, kind) !== undefined;
        return !sameCredential(credentialOf(state, kind), value);
      });
      const secretField = fields.find((entry) => entry.kind === 'SECRET_KEY')!;
      const newSecretKey = changed.includes(secretField) ? input[secretField.field] : undefined;
      const account = typeof newSecretKey === 'string' ? await checkAccount(ctx, environment, newSecretKey, secretField.field) : null;
      const oldSecretRow = credentialOf(state, 'SECRET_KEY');
      // Needed to take down Coffer's endpoint on the old account; decrypted before it is replaced.
      const oldSecretKey =
        oldSecretRow && state?.webhookMode === 'MANAGED' && changed.some((entry) => entry.kind !== 'PUBLISHABLE_KEY') ? await revealCredential(ctx.keyring, projectId, environment, oldSecretRow) : null;
      plans.push({ environment, state, changed, account, newSecretKey, oldSecretKey });
    }

    // Phase 2: save, in one transaction.
    const now = ctx.now();
    const outcomes: ConfigureOutcome[] = [];
    await ctx.keyring.retrying(() => ctx.db.prisma.$transaction(async (tx) => {
      outcomes.length = 0;
      for (const plan of plans) {
        const { environment, account } = plan;
        const state = await tx.stripeEnvironmentState.upsert({
          where: { projectId_environment: { projectId, environment } },
          create: { projectId, environment, livemode: environment === 'LIVE' },
          update: {},
        });
        for (const { field, kind } of plan.changed) {
          const value = input[field];
          if (value == null) await deleteCredential(tx, state.id, kind);
          else await saveCredential(tx, ctx.keyring, { environmentId: state.id, projectId, environment, kind, value });
        }
        const accountChanged = account !== null && plan.state?.accountId != null && plan.state.accountId !== account.accountId;
        const newAccount = account !== null && plan.state?.accountId !== account.accountId;
        if (accountChanged) {
          // Another Stripe account: what was mirrored belongs to the old one.
          await clearMirror(tx, projectId, environment);
        }
        const secretRemoved = plan.newSecretKey === null;
        await tx.stripeEnvironmentState.update({
          where: { id: state.id },
          data: {
            updatedAt: now,
            ...(account ? { accountId: account.accountId, accountName: account.accountName, configuredAt: now } : {}),
            ...(secretRemoved ? { configuredAt: null } : {}),
            ...(newAccount ? { syncRequestedAt: now, lastSyncSummary: undefined } : {}),
          },
        });
        await recordAudit(tx, ctx, {
          action: 'stripe.configure',
          outcome: 'SUCCESS',
          targetType: 'stripe-config',
          targetId: projectId,
          targetName: environment,
          reason: plan.changed.length > 0 ? `changed: ${plan.changed.map((entry) => entry.field).join(', ')}` : 'no change',
        });
        outcomes.push({ environment, changedFields: plan.changed.map((entry) => entry.field), accountChanged, syncDue: newAccount, webhook: null, syncRunId: null });
      }
    }));

    // Phase 3: webhooks, after the save (a failure is reported, and retryStripeWebhookSetup retries).
    for (const [index, plan] of plans.entries()) {
      const webhookField = fieldsOf(plan.environment).find((entry) => entry.kind === 'WEBHOOK_SECRET')!;
      const givenWebhookSecret = input[webhookField.field];
      const outcome = outcomes[index]!;
      const state = (await ctx.db.prisma.stripeEnvironmentState.findUniqueOrThrow({ where: { projectId_environment: { projectId, environment: plan.environment } }, include: { credentials: true } }));
      if (typeof givenWebhookSecret === 'string') {
        if (plan.oldSecretKey && state.webhookMode === 'MANAGED') await removeManagedWebhook({ config: ctx.config, secretKey: plan.oldSecretKey, projectId, environment: plan.environment });
        await ctx.db.prisma.stripeEnvironmentState.update({ where: { id: state.id }, data: { webhookMode: 'MANUAL', webhookEndpointId: null, webhookLastError: null, webhookUrl: null, webhookEnabledEvents: [] } });
        continue;
      }
      const secretKeyRow = credentialOf(state, 'SECRET_KEY');
      const dropManaged = plan.newSecretKey === null || givenWebhookSecret === null || outcome.accountChanged;
      if (dropManaged && plan.oldSecretKey) await removeManagedWebhook({ config: ctx.config, secretKey: plan.oldSecretKey, projectId, environment: plan.environment });
      if (plan.newSecretKey === null || givenWebhookSecret === null) {
        await deleteCredential(ctx.db.prisma, state.id, 'WEBHOOK_SECRET');
        await ctx.db.prisma.stripeEnvironmentState.update({ where: { id: state.id }, data: { webhookMode: 'NONE', webhookEndpointId: null, webhookUrl: null, webhookEnabledEvents: [], webhookLastError: null } });
        continue;
      }
      const wantsManaged = outcome.syncDue && secretKeyRow && (state.webhookMode !== 'MANUAL' || outcome.accountChanged);
      if (wantsManaged) {
        const secretKey = await revealCredential(ctx.keyring, projectId, plan.environment, secretKeyRow);
        outcome.webhook = await applyWebhookSetup(ctx, projectId, plan.environment, state.id, secretKey);
      }
    }

    // Phase 4: the first sync of a new account, once its webhook is in place to catch what changes meanwhile.
    for (const outcome of outcomes.filter((entry) => entry.syncDue)) outcome.syncRunId = await queueFirstSync(ctx, projectId, outcome);
    return outcomes;
  });
}

/**
 * A run for the old account is asked to stop; if one is still active, `syncRequestedAt` stays set
 * and a sync worker queues the run once the old one has ended.
 */
async function queueFirstSync(ctx: AuthenticatedContext, projectId: string, outcome: ConfigureOutcome): Promise<string | null> {
  const { environment } = outcome;
  const active = await activeRunOf(ctx.db.prisma, projectId, environment);
  if (active && outcome.accountChanged) {
    await cancelSyncRun(ctx, active.id, ctx.now());
    syncWorkerRequests.publish(ctx.events, WORKERS, { kind: 'cancel', runId: active.id });
  }
  try {
    const run = await createSyncRun(ctx, { projectId, environment, trigger: 'CONFIGURE', requestedById: ctx.viewer.userId });
    syncWorkerRequests.publish(ctx.events, WORKERS, { kind: 'wake' });
    return run.id;
  } catch (error) {
    if (!(error instanceof ActiveSyncConflict)) throw error;
    // A worker may have queued it already (it saw syncRequestedAt): that run is this account's sync.
    const current = await activeRunOf(ctx.db.prisma, projectId, environment);
    const state = await ctx.db.prisma.stripeEnvironmentState.findUnique({ where: { projectId_environment: { projectId, environment } }, select: { accountId: true } });
    return current && !current.cancelRequestedAt && current.accountId === state?.accountId ? current.id : null;
  }
}

async function applyWebhookSetup(ctx: AuthenticatedContext, projectId: string, environment: StripeEnvironment, environmentId: string, secretKey: string) {
  const result = await setUpManagedWebhook({ config: ctx.config, secretKey, projectId, environment });
  if (result.ok) {
    await ctx.keyring.retrying(() => ctx.db.prisma.$transaction(async (tx) => {
      // Stripe shows the signing secret only now: stored (encrypted) in the same breath.
      await saveCredential(tx, ctx.keyring, { environmentId, projectId, environment, kind: 'WEBHOOK_SECRET', value: result.secret });
      await tx.stripeEnvironmentState.update({
        where: { id: environmentId },
        data: { webhookMode: 'MANAGED', webhookEndpointId: result.endpointId, webhookUrl: result.url, webhookEnabledEvents: result.enabledEvents, webhookLastError: null },
      });
    }));
  } else {
    await ctx.db.prisma.stripeEnvironmentState.update({
      where: { id: environmentId },
      data: { webhookMode: 'MANAGED', webhookEndpointId: null, webhookUrl: result.url, webhookEnabledEvents: [], webhookLastError: result.error },
    });
  }
  await recordAudit(ctx.db.prisma, ctx, {
    action: 'stripe.webhook.setup',
    outcome: result.ok ? 'SUCCESS' : 'FAILED',
    targetType: 'stripe-config',
    targetId: projectId,
    targetName: environment,
    reason: result.ok ? result.endpointId : result.error,
  });
  return result;
}

export async function retryWebhookSetup({ ctx, projectId, environment }: { ctx: AuthenticatedContext; projectId: string; environment: StripeEnvironment }) {
  return withExclusiveLocks(ctx.db, [lockName(projectId, environment)], async () => {
    const state = await ctx.db.prisma.stripeEnvironmentState.findUnique({ where: { projectId_environment: { projectId, environment } }, include: { credentials: true } });
    const secretKeyRow = credentialOf(state ?? undefined, 'SECRET_KEY');
    if (!state || !secretKeyRow) throw badInput([{ field: 'environment', message: `no ${environment.toLowerCase()} secret key is configured` }], 'Configure a secret key first.');
    if (state.webhookMode === 'MANUAL') throw conflict('This environment uses a webhook secret you gave by hand; remove it (set it to null) to let Coffer manage the webhook.');
    const secretKey = await revealCredential(ctx.keyring, projectId, environment, secretKeyRow);
    return applyWebhookSetup(ctx, projectId, environment, state.id, secretKey);
  });
}

/** Deletes one environment's credentials, Coffer's webhook endpoint and the mirrored data. */
export async function removeStripeEnvironment({ ctx, projectId, environment }: { ctx: AuthenticatedContext; projectId: string; environment: StripeEnvironment }) {
  return withExclusiveLocks(ctx.db, [lockName(projectId, environment)], async () => {
    const state = await ctx.db.prisma.stripeEnvironmentState.findUnique({ where: { projectId_environment: { projectId, environment } }, include: { credentials: true } });
    if (!state) throw notFound(`Stripe ${environment.toLowerCase()} configuration`);
    const secretKeyRow = credentialOf(state, 'SECRET_KEY');
    const webhookError =
      state.webhookMode === 'MANAGED' && secretKeyRow
        ? await removeManagedWebhook({ config: ctx.config, secretKey: await revealCredential(ctx.keyring, projectId, environment, secretKeyRow), projectId, environment })
        : null;
    await ctx.db.prisma.$transaction(async (tx) => {
      await clearMirror(tx, projectId, environment);
      await tx.stripeEnvironmentState.delete({ where: { id: state.id } });
      await recordAudit(tx, ctx, {
        action: 'stripe.remove',
        outcome: 'SUCCESS',
        targetType: 'stripe-config',
        targetId: projectId,
        targetName: environment,
        reason: webhookError,
      });
    });
    return { webhookError };
  });
}

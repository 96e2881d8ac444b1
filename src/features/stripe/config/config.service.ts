import { userIdOf, type Actor } from '../../../auth/index.js';
import type { Config } from '../../../config.js';
import type { Database } from '../../../db/database.js';
import { withExclusiveLocks } from '../../../db/locks.js';
import { badInput, conflict, notFound } from '../../../errors.js';
import type { EventBus } from '../../../events/event-bus.js';
import type Stripe from 'stripe';
import { Prisma } from '../../../generated/prisma/client.js';
import type { StripeEnvironment } from '../../../generated/prisma/enums.js';
import type { KeyringStore } from '../../../keyring/index.js';
import { recordAudit } from '../../audit/index.js';
import { createStripeClient } from '../client/stripe-client.js';
import { classifyStripeError, stripeError } from '../client/stripe-errors.js';
import * as mirrorRepository from '../mirror/mirror.repository.js';
import { OBJECT_TYPES, type ObjectPermission } from '../mirror/object-types.js';
import { ActiveSyncConflict, cancelSyncRun, createSyncRun, stopOnWorkers, wakeWorkers } from '../sync/sync.service.js';
import * as syncRepository from '../sync/sync.repository.js';
import { removeManagedWebhook, setUpManagedWebhook, type WebhookSetupResult } from '../webhooks/managed-webhooks.js';
import * as configRepository from './config.repository.js';
import { credentialOf, NO_WEBHOOK, type EnvironmentWithCredentials } from './config.repository.js';
import { checkFormats, CREDENTIAL_FIELDS, isRestrictedKey, type CredentialsInput } from './credentials.js';
import { deleteCredential, revealCredential, saveCredential, sameCredential } from './credentials.repository.js';

/** What configuring Stripe touches; the schema and the CLI hand over only this. */
export interface StripeConfigDeps {
  db: Database;
  keyring: KeyringStore;
  config: Pick<Config, 'stripeApiBase' | 'publicUrl' | 'stripeWebhookSecretOverlapMs'>;
  events: EventBus;
  actor: Actor;
  now: Date;
}

export const ENVIRONMENTS: StripeEnvironment[] = ['TEST', 'LIVE'];

export interface AccountCheck {
  environment: StripeEnvironment;
  accountId: string;
  accountName: string | null;
  livemode: boolean;
  restrictedKey: boolean;
  /** A restricted key's permission per object type (one `limit=1` list each); null for a secret key. */
  permissions: ObjectPermission[] | null;
}

/**
 * A restricted key may read some object types and not others: one cheap list call per type says
 * which (403 means not). Any other failure is reported as it is: the key is still saved.
 */
async function probePermissions(stripe: Stripe): Promise<ObjectPermission[]> {
  const report: ObjectPermission[] = [];
  for (const spec of Object.values(OBJECT_TYPES)) {
    try {
      await (spec.probe ? spec.probe(stripe) : spec.list(stripe, { limit: 1 }));
      report.push({ objectType: spec.type, readable: true, reason: null });
    } catch (error) {
      const failure = classifyStripeError(error, { restrictedKey: true });
      const denied = failure === 'RESTRICTED_KEY_MISSING_PERMISSION' || failure === 'PERMISSION_DENIED';
      report.push({
        objectType: spec.type,
        readable: false,
        reason: denied
          ? `the restricted key lacks the permission to read ${spec.type.replaceAll('_', ' ')} (Stripe answered 403)`
          : `could not be checked: ${failure}`,
      });
    }
  }
  return report;
}

const fieldsOf = (environment: StripeEnvironment) => CREDENTIAL_FIELDS.filter((entry) => entry.environment === environment);
const lockName = (projectId: string, environment: StripeEnvironment) => `stripe-config:${projectId}:${environment}`;

/** The configuration as stored (credentials sealed and masked); empty when none. */
export const environmentsOf = (db: Database, projectId: string) => configRepository.environmentsOf(db.prisma, projectId);

/** One `GET /v1/account`: proves the key works and tells which account it belongs to. */
async function checkAccount(
  config: StripeConfigDeps['config'],
  environment: StripeEnvironment,
  key: string,
  field: string,
): Promise<AccountCheck> {
  const restrictedKey = isRestrictedKey(key);
  try {
    const stripe = createStripeClient(key, config, { maxNetworkRetries: 1 });
    const account = await stripe.accounts.retrieveCurrent();
    return {
      environment,
      accountId: account.id,
      accountName: account.settings?.dashboard?.display_name ?? account.business_profile?.name ?? null,
      livemode: environment === 'LIVE',
      restrictedKey,
      permissions: restrictedKey ? await probePermissions(stripe) : null,
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
export async function validateStripeCredentials(
  { config }: Pick<StripeConfigDeps, 'config'>,
  input: CredentialsInput,
): Promise<AccountCheck[]> {
  ensureFormats(input);
  const checks: AccountCheck[] = [];
  for (const environment of ENVIRONMENTS) {
    const secret = fieldsOf(environment).find((entry) => entry.kind === 'SECRET_KEY')!;
    const key = input[secret.field];
    if (typeof key === 'string') checks.push(await checkAccount(config, environment, key, secret.field));
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
export async function configureStripe(deps: StripeConfigDeps, projectId: string, input: CredentialsInput): Promise<ConfigureOutcome[]> {
  const { db, keyring } = deps;
  ensureFormats(input);
  const touched = ENVIRONMENTS.filter((environment) => fieldsOf(environment).some(({ field }) => input[field] !== undefined));
  if (touched.length === 0) return [];
  return withExclusiveLocks(
    db,
    touched.map((environment) => lockName(projectId, environment)),
    async () => {
      const existing = new Map((await configRepository.environmentsOf(db.prisma, projectId)).map((state) => [state.environment, state]));

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
        const account =
          typeof newSecretKey === 'string' ? await checkAccount(deps.config, environment, newSecretKey, secretField.field) : null;
        const oldSecretRow = credentialOf(state, 'SECRET_KEY');
        // Needed to take down Coffer's endpoint on the old account; decrypted before it is replaced.
        const oldSecretKey =
          oldSecretRow && state?.webhookMode === 'MANAGED' && changed.some((entry) => entry.kind !== 'PUBLISHABLE_KEY')
            ? await revealCredential(keyring, projectId, environment, oldSecretRow)
            : null;
        plans.push({ environment, state, changed, account, newSecretKey, oldSecretKey });
      }

      // Phase 2: save, in one transaction.
      const { now } = deps;
      const outcomes: ConfigureOutcome[] = [];
      await keyring.retrying(() =>
        db.prisma.$transaction(async (tx) => {
          outcomes.length = 0;
          for (const plan of plans) {
            const { environment, account } = plan;
            const state = await configRepository.ensureEnvironment(tx, projectId, environment);
            const accountChanged = account !== null && plan.state?.accountId != null && plan.state.accountId !== account.accountId;
            // A secret of another account is never kept: its events are not this mirror's.
            const keepPreviousUntil = accountChanged ? null : previousSecretDeadline(deps);
            for (const { field, kind } of plan.changed) {
              const value = input[field];
              if (value == null) {
                await deleteCredential(tx, state.id, kind);
                if (kind === 'WEBHOOK_SECRET') await deleteCredential(tx, state.id, 'PREVIOUS_WEBHOOK_SECRET');
              } else await saveCredential(tx, keyring, { environmentId: state.id, projectId, environment, kind, value, keepPreviousUntil });
            }
            const newAccount = account !== null && plan.state?.accountId !== account.accountId;
            if (accountChanged) {
              // Another Stripe account: what was mirrored belongs to the old one.
              await mirrorRepository.clearMirror(tx, projectId, environment);
            }
            const secretRemoved = plan.newSecretKey === null;
            await configRepository.updateEnvironment(tx, state.id, {
              updatedAt: now,
              ...(account
                ? {
                    accountId: account.accountId,
                    accountName: account.accountName,
                    configuredAt: now,
                    keyPermissions: account.permissions ? (account.permissions as unknown as Prisma.InputJsonValue) : Prisma.DbNull,
                  }
                : {}),
              ...(secretRemoved ? { configuredAt: null, keyPermissions: Prisma.DbNull } : {}),
              ...(newAccount ? { syncRequestedAt: now, lastSyncSummary: undefined } : {}),
            });
            await recordAudit(tx, deps.actor, {
              action: 'stripe.configure',
              outcome: 'SUCCESS',
              targetType: 'stripe-config',
              targetId: projectId,
              targetName: environment,
              reason: plan.changed.length > 0 ? `changed: ${plan.changed.map((entry) => entry.field).join(', ')}` : 'no change',
            });
            outcomes.push({
              environment,
              changedFields: plan.changed.map((entry) => entry.field),
              accountChanged,
              syncDue: newAccount,
              webhook: null,
              syncRunId: null,
            });
          }
        }),
      );

      // Phase 3: webhooks, after the save (a failure is reported, and retryStripeWebhookSetup retries).
      for (const [index, plan] of plans.entries()) {
        const webhookField = fieldsOf(plan.environment).find((entry) => entry.kind === 'WEBHOOK_SECRET')!;
        const givenWebhookSecret = input[webhookField.field];
        const outcome = outcomes[index]!;
        const state = (await configRepository.environmentOf(db.prisma, projectId, plan.environment))!;
        if (typeof givenWebhookSecret === 'string') {
          if (plan.oldSecretKey && state.webhookMode === 'MANAGED') {
            await removeManagedWebhook({ config: deps.config, secretKey: plan.oldSecretKey, projectId, environment: plan.environment });
          }
          await configRepository.updateEnvironment(db.prisma, state.id, { ...NO_WEBHOOK, webhookMode: 'MANUAL' });
          continue;
        }
        const secretKeyRow = credentialOf(state, 'SECRET_KEY');
        const dropManaged = plan.newSecretKey === null || givenWebhookSecret === null || outcome.accountChanged;
        if (dropManaged && plan.oldSecretKey) {
          await removeManagedWebhook({ config: deps.config, secretKey: plan.oldSecretKey, projectId, environment: plan.environment });
        }
        if (plan.newSecretKey === null || givenWebhookSecret === null) {
          await deleteCredential(db.prisma, state.id, 'WEBHOOK_SECRET');
          await deleteCredential(db.prisma, state.id, 'PREVIOUS_WEBHOOK_SECRET');
          await configRepository.updateEnvironment(db.prisma, state.id, { ...NO_WEBHOOK, webhookMode: 'NONE' });
          continue;
        }
        const wantsManaged = outcome.syncDue && secretKeyRow && (state.webhookMode !== 'MANUAL' || outcome.accountChanged);
        if (wantsManaged) {
          const secretKey = await revealCredential(keyring, projectId, plan.environment, secretKeyRow);
          outcome.webhook = await applyWebhookSetup(deps, projectId, plan.environment, state.id, secretKey, !outcome.accountChanged);
        }
      }

      // Phase 4: the first sync of a new account, once its webhook is in place to catch what changes meanwhile.
      for (const outcome of outcomes.filter((entry) => entry.syncDue)) outcome.syncRunId = await queueFirstSync(deps, projectId, outcome);
      return outcomes;
    },
  );
}

/**
 * A run for the old account is asked to stop; if one is still active, `syncRequestedAt` stays set
 * and a sync worker queues the run once the old one has ended.
 */
async function queueFirstSync(deps: StripeConfigDeps, projectId: string, outcome: ConfigureOutcome): Promise<string | null> {
  const { environment } = outcome;
  const active = await syncRepository.activeRunOf(deps.db.prisma, projectId, environment);
  if (active && outcome.accountChanged) {
    await cancelSyncRun(deps, active.id, deps.now);
    stopOnWorkers(deps.events, active.id);
  }
  try {
    const requestedById = userIdOf(deps.actor.viewer);
    const run = await createSyncRun(deps, { projectId, environment, trigger: 'CONFIGURE', requestedById });
    wakeWorkers(deps.events);
    return run.id;
  } catch (error) {
    if (!(error instanceof ActiveSyncConflict)) throw error;
    // A worker may have queued it already (it saw syncRequestedAt): that run is this account's sync.
    const current = await syncRepository.activeRunOf(deps.db.prisma, projectId, environment);
    const state = await configRepository.environmentOf(deps.db.prisma, projectId, environment);
    return current && !current.cancelRequestedAt && current.accountId === state?.accountId ? current.id : null;
  }
}

/** Until when a replaced webhook signing secret stays accepted (null: not at all). */
const previousSecretDeadline = (deps: StripeConfigDeps) =>
  deps.config.stripeWebhookSecretOverlapMs > 0 ? new Date(deps.now.getTime() + deps.config.stripeWebhookSecretOverlapMs) : null;

async function applyWebhookSetup(
  deps: StripeConfigDeps,
  projectId: string,
  environment: StripeEnvironment,
  environmentId: string,
  secretKey: string,
  keepPrevious: boolean,
) {
  const { db, keyring } = deps;
  const keepPreviousUntil = keepPrevious ? previousSecretDeadline(deps) : null;
  const result = await setUpManagedWebhook({ config: deps.config, secretKey, projectId, environment });
  if (result.ok) {
    await keyring.retrying(() =>
      db.prisma.$transaction(async (tx) => {
        // Stripe shows the signing secret only now: stored (encrypted) in the same breath.
        await saveCredential(tx, keyring, {
          environmentId,
          projectId,
          environment,
          kind: 'WEBHOOK_SECRET',
          value: result.secret,
          keepPreviousUntil,
        });
        await configRepository.updateEnvironment(tx, environmentId, {
          webhookMode: 'MANAGED',
          webhookEndpointId: result.endpointId,
          webhookUrl: result.url,
          webhookEnabledEvents: result.enabledEvents,
          webhookLastError: null,
        });
      }),
    );
  } else {
    await configRepository.updateEnvironment(db.prisma, environmentId, {
      ...NO_WEBHOOK,
      webhookMode: 'MANAGED',
      webhookUrl: result.url,
      webhookLastError: result.error,
    });
  }
  await recordAudit(db.prisma, deps.actor, {
    action: 'stripe.webhook.setup',
    outcome: result.ok ? 'SUCCESS' : 'FAILED',
    targetType: 'stripe-config',
    targetId: projectId,
    targetName: environment,
    reason: result.ok ? result.endpointId : result.error,
  });
  return result;
}

export async function retryWebhookSetup(deps: StripeConfigDeps, projectId: string, environment: StripeEnvironment) {
  return withExclusiveLocks(deps.db, [lockName(projectId, environment)], async () => {
    const state = await configRepository.environmentOf(deps.db.prisma, projectId, environment);
    const secretKeyRow = credentialOf(state, 'SECRET_KEY');
    if (!state || !secretKeyRow)
      throw badInput(
        [{ field: 'environment', message: `no ${environment.toLowerCase()} secret key is configured` }],
        'Configure a secret key first.',
      );
    if (state.webhookMode === 'MANUAL')
      throw conflict(
        'This environment uses a webhook secret you gave by hand; remove it (set it to null) to let Coffer manage the webhook.',
      );
    const secretKey = await revealCredential(deps.keyring, projectId, environment, secretKeyRow);
    return applyWebhookSetup(deps, projectId, environment, state.id, secretKey, true);
  });
}

/** Deletes one environment's credentials, Coffer's webhook endpoint and the mirrored data. */
export async function removeStripeEnvironment(deps: StripeConfigDeps, projectId: string, environment: StripeEnvironment) {
  const { db, keyring } = deps;
  return withExclusiveLocks(db, [lockName(projectId, environment)], async () => {
    const state = await configRepository.environmentOf(db.prisma, projectId, environment);
    if (!state) throw notFound(`Stripe ${environment.toLowerCase()} configuration`);
    const secretKeyRow = credentialOf(state, 'SECRET_KEY');
    const secretKey =
      state.webhookMode === 'MANAGED' && secretKeyRow ? await revealCredential(keyring, projectId, environment, secretKeyRow) : null;
    const webhookError = secretKey ? await removeManagedWebhook({ config: deps.config, secretKey, projectId, environment }) : null;
    await db.prisma.$transaction(async (tx) => {
      await mirrorRepository.clearMirror(tx, projectId, environment);
      await configRepository.deleteEnvironment(tx, state.id);
      await recordAudit(tx, deps.actor, {
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

import type { Prisma, PrismaClient, StripeCredential, StripeEnvironmentState } from '../../../generated/prisma/client.js';
import type { StripeCredentialKind, StripeEnvironment } from '../../../generated/prisma/enums.js';

type Db = PrismaClient | Prisma.TransactionClient;

/** A project environment's Stripe state with its (sealed, masked) credentials. */
export type EnvironmentWithCredentials = StripeEnvironmentState & { credentials: StripeCredential[] };

export const credentialOf = (state: EnvironmentWithCredentials | null | undefined, kind: StripeCredentialKind) =>
  state?.credentials.find((row) => row.kind === kind);

/** Both environments of a project (those configured), TEST first. */
export function environmentsOf(db: Db, projectId: string): Promise<EnvironmentWithCredentials[]> {
  return db.stripeEnvironmentState.findMany({ where: { projectId }, include: { credentials: true }, orderBy: { environment: 'asc' } });
}

/** One environment with its credentials, or null when it was never configured. */
export function environmentOf(db: Db, projectId: string, environment: StripeEnvironment): Promise<EnvironmentWithCredentials | null> {
  return db.stripeEnvironmentState.findUnique({
    where: { projectId_environment: { projectId, environment } },
    include: { credentials: true },
  });
}

/** The environment's row, created on its first configuration. */
export function ensureEnvironment(tx: Prisma.TransactionClient, projectId: string, environment: StripeEnvironment) {
  return tx.stripeEnvironmentState.upsert({
    where: { projectId_environment: { projectId, environment } },
    create: { projectId, environment, livemode: environment === 'LIVE' },
    update: {},
  });
}

export async function updateEnvironment(db: Db, id: string, data: Prisma.StripeEnvironmentStateUpdateInput): Promise<void> {
  await db.stripeEnvironmentState.update({ where: { id }, data });
}

export async function deleteEnvironment(db: Db, id: string): Promise<void> {
  await db.stripeEnvironmentState.delete({ where: { id } });
}

/** Only the webhook columns: what Coffer knows about its endpoint at Stripe. */
export type WebhookColumns = Pick<
  Prisma.StripeEnvironmentStateUpdateInput,
  'webhookMode' | 'webhookEndpointId' | 'webhookUrl' | 'webhookEnabledEvents' | 'webhookLastError'
>;

export const NO_WEBHOOK: WebhookColumns = {
  webhookEndpointId: null,
  webhookUrl: null,
  webhookEnabledEvents: [],
  webhookLastError: null,
};

/** Records a finished run's summary on the environment, unless the account changed meanwhile. */
export async function recordLastSyncSummary(
  db: Db,
  { projectId, environment, accountId }: { projectId: string; environment: StripeEnvironment; accountId: string | null },
  summary: Prisma.InputJsonValue,
): Promise<void> {
  await db.stripeEnvironmentState.updateMany({ where: { projectId, environment, accountId }, data: { lastSyncSummary: summary } });
}

/**
 * Environments whose new account still awaits its first sync (it could not be queued when Stripe
 * was configured, e.g. an older run was still stopping).
 */
export function environmentsDueForSync(db: Db, limit: number) {
  return db.stripeEnvironmentState.findMany({
    where: { syncRequestedAt: { not: null }, configuredAt: { not: null }, credentials: { some: { kind: 'SECRET_KEY' } } },
    select: { projectId: true, environment: true },
    take: limit,
  });
}

/** Every environment with a secret key (the events catch-up goes over them). */
export function configuredEnvironments(db: Db) {
  return db.stripeEnvironmentState.findMany({
    where: { configuredAt: { not: null }, credentials: { some: { kind: 'SECRET_KEY' } } },
    select: { projectId: true, environment: true },
  });
}

/** A replaced signing secret still within its overlap at `now` (a secret roll), if any. */
export async function previousWebhookSecretOf(db: Db, projectId: string, environment: StripeEnvironment, now: Date) {
  const state = await db.stripeEnvironmentState.findUnique({
    where: { projectId_environment: { projectId, environment } },
    include: { credentials: { where: { kind: 'PREVIOUS_WEBHOOK_SECRET', expiresAt: { gt: now } } } },
  });
  return state?.credentials[0] ?? null;
}

/** For the webhook endpoint: the environment's signing secret row, if one is configured. */
export async function webhookSecretOf(db: Db, projectId: string, environment: StripeEnvironment): Promise<StripeCredential | null> {
  const state = await db.stripeEnvironmentState.findUnique({
    where: { projectId_environment: { projectId, environment } },
    include: { credentials: { where: { kind: 'WEBHOOK_SECRET' } } },
  });
  return state?.credentials[0] ?? null;
}

import type { Config } from '../../../config.js';
import type { StripeEnvironment } from '../../../generated/prisma/enums.js';
import { createStripeClient, STRIPE_API_VERSION } from '../client/stripe-client.js';
import { MIRRORED_EVENTS } from '../mirror/object-types.js';
import { classifyStripeError, explainStripeFailure, redactCredentials } from '../client/stripe-errors.js';

/** Every event that changes a mirrored object (declared per object type), so the mirror stays current between syncs. */
export const MANAGED_WEBHOOK_EVENTS = MIRRORED_EVENTS;

export const webhookUrl = (config: Pick<Config, 'publicUrl'>, projectId: string, environment: StripeEnvironment) =>
  `${config.publicUrl}/webhooks/stripe/${projectId}/${environment.toLowerCase()}`;

/** Coffer tags its endpoints so it can find and replace its own, and never touches anyone else's. */
const tagsFor = (projectId: string, environment: StripeEnvironment) => ({
  managed_by: 'coffer',
  coffer_project: projectId,
  coffer_environment: environment,
});

const isOurs = (metadata: Record<string, string> | null | undefined, projectId: string, environment: StripeEnvironment) =>
  metadata?.managed_by === 'coffer' && metadata.coffer_project === projectId && metadata.coffer_environment === environment;

export type WebhookSetupResult =
  { ok: true; endpointId: string; url: string; enabledEvents: string[]; secret: string } | { ok: false; url: string; error: string };

/** Replaces Coffer's endpoint for this project and environment; the signing secret is only in this answer. */
export async function setUpManagedWebhook({
  config,
  secretKey,
  projectId,
  environment,
}: {
  config: Pick<Config, 'publicUrl' | 'stripeApiBase'>;
  secretKey: string;
  projectId: string;
  environment: StripeEnvironment;
}): Promise<WebhookSetupResult> {
  const url = webhookUrl(config, projectId, environment);
  const stripe = createStripeClient(secretKey, config);
  try {
    await deleteOurEndpoints(stripe, projectId, environment);
    const endpoint = await stripe.webhookEndpoints.create({
      url,
      enabled_events: [...MANAGED_WEBHOOK_EVENTS],
      api_version: STRIPE_API_VERSION,
      description: `Coffer: project ${projectId} (${environment.toLowerCase()})`,
      metadata: tagsFor(projectId, environment),
    });
    if (!endpoint.secret) return { ok: false, url, error: 'Stripe did not return a signing secret for the new endpoint.' };
    return { ok: true, endpointId: endpoint.id, url, enabledEvents: endpoint.enabled_events, secret: endpoint.secret };
  } catch (error) {
    return { ok: false, url, error: describeWebhookError(error) };
  }
}

/** Best effort: a failure here must not block removing a configuration. */
export async function removeManagedWebhook({
  config,
  secretKey,
  projectId,
  environment,
}: {
  config: Pick<Config, 'stripeApiBase'>;
  secretKey: string;
  projectId: string;
  environment: StripeEnvironment;
}): Promise<string | null> {
  try {
    await deleteOurEndpoints(createStripeClient(secretKey, config), projectId, environment);
    return null;
  } catch (error) {
    return describeWebhookError(error);
  }
}

async function deleteOurEndpoints(stripe: ReturnType<typeof createStripeClient>, projectId: string, environment: StripeEnvironment) {
  const ours: string[] = [];
  for await (const endpoint of stripe.webhookEndpoints.list({ limit: 100 })) {
    if (isOurs(endpoint.metadata, projectId, environment)) ours.push(endpoint.id);
  }
  for (const id of ours) await stripe.webhookEndpoints.del(id);
}

function describeWebhookError(error: unknown): string {
  const failure = classifyStripeError(error);
  // Stripe's own words explain URL problems best ("Invalid URL: must be publicly accessible"); credentials are masked out.
  const detail =
    failure === 'STRIPE_API_ERROR' && error instanceof Error ? redactCredentials(error.message) : explainStripeFailure(failure);
  return `Webhook endpoint could not be set up: ${detail}`;
}

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTrace } from '../support/leaks.js';
import { startReceiver, waitFor } from '../support/notification-receiver.js';
import { subscribeSse } from '../support/sse.js';
import { startSyncHarness, type SyncHarness } from '../stripe/sync/support.js';

/**
 * METRICS=on after a real workload: every family the README's Observability table lists moves by
 * exactly what was done (reveals, bulk reads, references, webhooks by outcome, a sync run and its
 * objects, an open subscription, notifications, the database pool), and no value is in the scrape.
 */

/** Sum of the series of `name` whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  return text
    .split('\n')
    .filter((line) => (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && wanted.every((pair) => line.includes(pair)))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

let h: SyncHarness;
beforeAll(async () => {
  h = await startSyncHarness({
    env: { METRICS: 'on', NOTIFICATION_ALLOW_LOCAL_HTTP: 'true', NOTIFICATION_POLL_SECONDS: '0.05', NOTIFICATION_RETRY_BASE_MS: '50' },
  });
  h.app.services.notificationWorker.start();
});
afterAll(() => h?.close());

const scrape = async () => {
  const response = await h.app.yoga.fetch('http://coffer.test/metrics');
  expect(response.status).toBe(200);
  return response.text();
};

const call = async (query: string, variables: Record<string, unknown> = {}, credential = h.app.owner.key) => {
  const response = await h.app.request({ query, variables }, { credential });
  if (response.json.errors) throw new Error(response.text);
  return response.json.data as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
};

describe('METRICS=on after a workload', () => {
  it('moves every counter and gauge by what was done, with no value in the scrape', async () => {
    const before = await scrape();
    const value = `canary-METRICS-${randomUUID()}`;
    const project = await h.project();
    const scope = { type: 'PROJECT', projectId: project.id };

    // A notification endpoint, so the writes below are delivered.
    const receiver = await startReceiver();
    await call(
      'mutation($projectId: ID!, $url: String!) { createNotificationEndpoint(projectId: $projectId, input: { url: $url }) { signingSecret } }',
      { projectId: project.id, url: receiver.url },
    );
    const upsert = 'mutation($input: UpsertSecretInput!) { upsertSecret(input: $input) { id } }';
    await call(upsert, { input: { name: 'DB_PASSWORD', value, scope } });
    await call(upsert, { input: { name: 'DATABASE_URL', value: 'postgres://app:${DB_PASSWORD}@db/app', scope } });

    // One single reveal that follows one reference, then a bulk read of both.
    await call('query($scope: SecretScopeInput!) { secret(name: "DATABASE_URL", scope: $scope) { value } }', { scope });
    const bulk = await call('query($scope: SecretScopeInput!) { secretValues(scope: $scope) { name } }', { scope });
    expect(bulk.secretValues).toHaveLength(2);

    // Webhooks: one applied, one refused for its signature, one to an unknown endpoint.
    const { projectId, firstRunId } = await h.seededProject({ customers: 30, products: 4 });
    const secret = await h.storedWebhookSecret(projectId);
    const event = h.eventPayload({
      type: 'customer.updated',
      object: { id: 'cus_metrics', object: 'customer', created: h.clockSeconds() - 10, email: 'm@example.com' },
    });
    expect((await h.sendWebhook(projectId, event, { secret: secret! })).status).toBe(200);
    expect((await h.sendWebhook(projectId, event, { secret: 'whsec_wrong' })).status).toBe(400);
    expect((await h.sendWebhook(randomUUID(), event, { secret: 'whsec_wrong' })).status).toBe(404);

    // The sync run configureStripe queued, to its end.
    const run = await h.waitForRun(firstRunId!, { timeoutMs: 60_000 });
    expect(run.status).toBe('SUCCEEDED');

    // An open subscription (SSE), counted while it streams.
    const stream = await subscribeSse(
      'http://coffer.test/graphql',
      {
        query: 'subscription($id: ID!) { secretChanges(projectId: $id, afterSequence: 0) { sequence } }',
        variables: { id: project.id },
        credential: h.app.owner.key,
      },
      { fetch: (url, init) => h.app.yoga.fetch(url, init) },
    );
    expect(await stream.result(30_000)).toMatchObject({ data: { secretChanges: { sequence: 1 } } });
    await waitFor('both notifications', () => receiver.received.length >= 2);
    const during = await scrape();
    await stream.close();
    await waitFor(
      'the subscription to end',
      async () => sample(await scrape(), 'coffer_graphql_subscriptions_active', { field: 'secretChanges' }) === 0,
    );
    await receiver.close();

    const moved = (name: string, labels: Record<string, string> = {}, text = during) =>
      sample(text, name, labels) - sample(before, name, labels);
    expect(moved('coffer_secret_reveals_total', { kind: 'single' })).toBe(1);
    expect(moved('coffer_secret_reveals_total', { kind: 'bulk' })).toBe(2);
    // The bulk read holds DB_PASSWORD itself: its reference is expanded without another reveal.
    expect(moved('coffer_secret_reveals_total', { kind: 'reference' })).toBe(1);
    expect(moved('coffer_stripe_webhook_events_total', { outcome: 'applied' })).toBeGreaterThanOrEqual(1);
    expect(moved('coffer_stripe_webhook_events_total', { outcome: 'bad_signature' })).toBe(1);
    expect(moved('coffer_stripe_webhook_events_total', { outcome: 'unknown_endpoint' })).toBe(1);
    expect(moved('coffer_stripe_sync_runs_total', { status: 'SUCCEEDED' })).toBe(1);
    expect(moved('coffer_stripe_sync_objects_total', { outcome: 'listed' })).toBe(34);
    expect(moved('coffer_graphql_subscriptions_active', { field: 'secretChanges' })).toBe(1);
    expect(moved('coffer_secret_change_events_total', { kind: 'CREATED' })).toBe(2);
    expect(moved('coffer_notification_deliveries_total', { outcome: 'delivered' })).toBe(2);
    expect(sample(during, 'coffer_db_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(1);
    expect(findTrace(during, value)).toBeNull();
    expect(during).not.toContain('DB_PASSWORD');
  });
});

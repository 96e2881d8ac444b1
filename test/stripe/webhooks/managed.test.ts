import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGED_WEBHOOK_EVENTS } from '../../../src/features/stripe/webhooks/managed-webhooks.js';
import { STRIPE_API_VERSION } from '../../../src/features/stripe/client/stripe-client.js';
import { expectError } from '../../support/assertions.js';
import { maskOf, NO_LEAKS, PUBLIC_URL, RemoveStripe, RetryStripeWebhook, startStripeHarness, type StripeHarness } from '../support.js';

let h: StripeHarness;
let accountId: string;
beforeAll(async () => {
  h = await startStripeHarness();
  accountId = h.account('Webhook Works').id;
});
afterAll(() => h.close());

const endpointsOf = (harness: StripeHarness, account: string, projectId: string) =>
  harness.fake.webhookEndpoints(account).filter((endpoint) => endpoint.metadata.coffer_project === projectId);

/** Every column of the raw stripe_credentials rows, bytes read as text. */
async function rawCredentialRows(projectId: string) {
  const rows = await h.app.db.prisma.$queryRaw<Array<Record<string, unknown>>>`
    SELECT c.* FROM stripe_credentials c JOIN stripe_environments e ON e.id = c.environment_id WHERE e.project_id = ${projectId}::uuid`;
  return rows.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([column, value]) => [
        column,
        value instanceof Uint8Array ? Buffer.from(value).toString('latin1') : JSON.stringify(value),
      ]),
    ),
  );
}

describe('the managed webhook endpoint', () => {
  it('is created on the first secret key save: URL, metadata tags, events and pinned api_version', async () => {
    const project = await h.project();
    const response = await h.configure(project.id, { testSecretKey: h.key(accountId) });
    expect(response.errors).toEqual([]);

    const endpoints = endpointsOf(h, accountId, project.id);
    expect(endpoints).toHaveLength(1);
    const endpoint = endpoints[0]!;
    const url = `${PUBLIC_URL}/webhooks/stripe/${project.id}/test`;
    expect(endpoint).toMatchObject({
      url,
      livemode: false,
      status: 'enabled',
      api_version: STRIPE_API_VERSION,
      metadata: { managed_by: 'coffer', coffer_project: project.id, coffer_environment: 'TEST' },
    });
    expect([...endpoint.enabled_events].sort()).toEqual([...MANAGED_WEBHOOK_EVENTS].sort());

    expect(response.data?.configureStripe!.results[0]?.webhook).toEqual({ ok: true, url, endpointId: endpoint.id, error: null });
    expect(response.data?.configureStripe!.config?.test?.webhook).toEqual({
      mode: 'MANAGED',
      status: 'ACTIVE',
      endpointId: endpoint.id,
      url,
      enabledEvents: endpoint.enabled_events,
      lastError: null,
      signingSecret: maskOf(endpoint.secret),
    });
    expect(response.data?.configureStripe!.config?.testWebhookSecret).toBe(maskOf(endpoint.secret));
  });

  it('its signing secret is stored encrypted: masked on reads, no whsec_ plaintext in the row', async () => {
    const project = await h.project();
    const secretKey = h.key(accountId);
    await h.configure(project.id, { testSecretKey: secretKey });
    const [endpoint] = endpointsOf(h, accountId, project.id);
    expect(await h.storedWebhookSecret(project.id)).toBe(endpoint?.secret);
    expect((await h.readConfig(project.id))?.test?.webhook.signingSecret).toBe(maskOf(endpoint!.secret));

    const rows = await rawCredentialRows(project.id);
    expect(rows.map((row) => row.kind).sort()).toEqual(['"SECRET_KEY"', '"WEBHOOK_SECRET"']);
    for (const row of rows) {
      const everything = Object.values(row).join('\n');
      expect(everything).not.toContain(endpoint!.secret);
      expect(everything).not.toContain(endpoint!.secret.slice('whsec_'.length));
      expect(everything).not.toContain(secretKey);
      // Only the masked column may name the kind; nothing else holds a credential prefix.
      const { masked, ...rest } = row;
      expect(masked).toMatch(/^"(sk_test_|whsec_)\.\.\.[A-Za-z0-9]{4}"$/);
      expect(Object.values(rest).join('\n')).not.toMatch(/whsec_|sk_test_/);
    }
  });

  it('a given testWebhookSecret means no managed endpoint (MANUAL)', async () => {
    const project = await h.project();
    const manual = h.manualWebhookSecret();
    const start = h.fake.requests.length;
    const response = await h.configure(project.id, { testSecretKey: h.key(accountId), testWebhookSecret: manual });
    expect(response.errors).toEqual([]);
    expect(response.data?.configureStripe!.results[0]?.webhook).toBeNull();
    expect(response.data?.configureStripe!.config?.test?.webhook).toMatchObject({
      mode: 'MANUAL',
      status: 'MANUAL',
      endpointId: null,
      signingSecret: maskOf(manual),
    });
    expect(endpointsOf(h, accountId, project.id)).toEqual([]);
    expect(h.fake.requests.slice(start).filter((request) => request.path.startsWith('/v1/webhook_endpoints'))).toEqual([]);
    expect(await h.storedWebhookSecret(project.id)).toBe(manual);
  });

  it('the first save for an account queues its first sync (CONFIGURE): syncDue in the result, no longer due once queued', async () => {
    const project = await h.project();
    const response = await h.configure(project.id, { testSecretKey: h.key(accountId) });
    const result = response.data?.configureStripe!.results[0];
    expect(result).toMatchObject({ syncDue: true, syncRunId: expect.any(String), webhook: { ok: true } });

    const run = await h.app.db.prisma.stripeSyncRun.findUniqueOrThrow({ where: { id: result!.syncRunId! } });
    expect(run).toMatchObject({
      projectId: project.id,
      environment: 'TEST',
      accountId,
      trigger: 'CONFIGURE',
      status: 'QUEUED',
      requestedById: h.app.owner.user.id,
    });
    // The request is being served by that run: nothing is due any more.
    const config = await h.readConfig(project.id);
    expect(config?.test).toMatchObject({ syncDue: false, syncRequestedAt: null, accountId, accountName: 'Webhook Works' });
    expect(await h.app.db.prisma.stripeSyncRun.count({ where: { projectId: project.id } })).toBe(1);
  });
});

describe('when set-up fails', () => {
  let local: StripeHarness;
  let localAccount: string;
  beforeAll(async () => {
    local = await startStripeHarness({ env: { PUBLIC_URL: 'http://localhost:4000' } });
    localAccount = local.account().id;
  });
  afterAll(() => local.close());

  it('a non-public PUBLIC_URL: the key is still saved, the payload and stripeConfig report FAILED with the error', async () => {
    const project = await local.project();
    const key = local.key(localAccount);
    const response = await local.configure(project.id, { testSecretKey: key });
    expect(response.errors).toEqual([]);
    const webhook = response.data?.configureStripe!.results[0]?.webhook;
    expect(webhook).toMatchObject({ ok: false, endpointId: null, url: `http://localhost:4000/webhooks/stripe/${project.id}/test` });
    expect(webhook?.error).toMatch(/^Webhook endpoint could not be set up: Invalid URL/);

    const config = await local.readConfig(project.id);
    expect(config?.testSecretKey).toBe(maskOf(key));
    expect(config?.test?.webhook).toMatchObject({
      mode: 'MANAGED',
      status: 'FAILED',
      endpointId: null,
      lastError: webhook?.error,
      signingSecret: null,
    });
    expect(endpointsOf(local, localAccount, project.id)).toEqual([]);
  });

  it('leak canary (app with a non-public URL)', async () => {
    expect(await local.leaks()).toEqual(NO_LEAKS);
  });

  it('retryStripeWebhookSetup retries after Stripe failed once', async () => {
    const project = await h.project();
    h.fake.failNext(1, { status: 500, method: 'POST', path: /^\/v1\/webhook_endpoints$/, shouldRetry: false });
    const response = await h.configure(project.id, { testSecretKey: h.key(accountId) });
    expect(response.errors).toEqual([]);
    expect(response.data?.configureStripe!.results[0]?.webhook).toMatchObject({ ok: false, endpointId: null });
    expect(response.data?.configureStripe!.config?.test?.webhook).toMatchObject({
      status: 'FAILED',
      lastError: expect.stringMatching(/could not be set up/),
    });
    expect(endpointsOf(h, accountId, project.id)).toEqual([]);

    const retry = await h.execute(RetryStripeWebhook, { projectId: project.id, environment: 'TEST' });
    expect(retry.errors).toEqual([]);
    const endpoints = endpointsOf(h, accountId, project.id);
    expect(endpoints).toHaveLength(1);
    expect(retry.data?.retryStripeWebhookSetup).toEqual({
      ok: true,
      url: `${PUBLIC_URL}/webhooks/stripe/${project.id}/test`,
      endpointId: endpoints[0]?.id,
      error: null,
    });
    expect((await h.readConfig(project.id))?.test?.webhook).toMatchObject({
      status: 'ACTIVE',
      endpointId: endpoints[0]?.id,
      lastError: null,
      signingSecret: maskOf(endpoints[0]!.secret),
    });
    expect(await h.storedWebhookSecret(project.id)).toBe(endpoints[0]?.secret);
  });

  it("retrying replaces Coffer's endpoint instead of adding another", async () => {
    const project = await h.project();
    await h.configure(project.id, { testSecretKey: h.key(accountId) });
    const [before] = endpointsOf(h, accountId, project.id);
    await h.execute(RetryStripeWebhook, { projectId: project.id, environment: 'TEST' });
    const after = endpointsOf(h, accountId, project.id);
    expect(after).toHaveLength(1);
    expect(after[0]?.id).not.toBe(before?.id);
    expect(await h.storedWebhookSecret(project.id)).toBe(after[0]?.secret);
  });

  it('retryStripeWebhookSetup without a secret key → BAD_USER_INPUT', async () => {
    const project = await h.project();
    expectError(await h.execute(RetryStripeWebhook, { projectId: project.id, environment: 'LIVE' }), 'BAD_USER_INPUT');
  });
});

describe('removeStripeConfig', () => {
  it("deletes Coffer's endpoint at Stripe and returns null once nothing is left", async () => {
    const project = await h.project();
    const live = h.key(accountId, { mode: 'live' });
    await h.configure(project.id, { testSecretKey: h.key(accountId), liveSecretKey: live });
    expect(h.fake.webhookEndpoints(accountId, 'test').filter((endpoint) => endpoint.metadata.coffer_project === project.id)).toHaveLength(
      1,
    );
    expect(h.fake.webhookEndpoints(accountId, 'live').filter((endpoint) => endpoint.metadata.coffer_project === project.id)).toHaveLength(
      1,
    );

    const first = await h.execute(RemoveStripe, { projectId: project.id, environment: 'TEST' });
    expect(first.errors).toEqual([]);
    expect(first.data?.removeStripeConfig).toMatchObject({
      testSecretKey: null,
      test: null,
      liveSecretKey: maskOf(live),
      hasTestCredentials: false,
      hasLiveCredentials: true,
    });
    expect(h.fake.webhookEndpoints(accountId, 'test').filter((endpoint) => endpoint.metadata.coffer_project === project.id)).toEqual([]);
    expect(h.fake.webhookEndpoints(accountId, 'live').filter((endpoint) => endpoint.metadata.coffer_project === project.id)).toHaveLength(
      1,
    );

    const second = await h.execute(RemoveStripe, { projectId: project.id, environment: 'LIVE' });
    expect(second.errors).toEqual([]);
    expect(second.data?.removeStripeConfig).toBeNull();
    expect(endpointsOf(h, accountId, project.id)).toEqual([]);
    expect(await h.readConfig(project.id)).toBeNull();
    expect(await h.app.db.prisma.stripeEnvironmentState.count({ where: { projectId: project.id } })).toBe(0);
  });

  it('leaves endpoints Coffer did not create alone', async () => {
    const project = await h.project();
    const key = h.key(accountId);
    await h.configure(project.id, { testSecretKey: key });
    const theirs = await fetch(`${h.fake.url}/v1/webhook_endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ url: 'https://example.org/their-hook', 'enabled_events[0]': 'charge.succeeded' }),
    }).then((response) => response.json() as Promise<{ id: string }>);

    await h.execute(RemoveStripe, { projectId: project.id, environment: 'TEST' });
    expect(h.fake.webhookEndpoints(accountId).map((endpoint) => endpoint.id)).toContain(theirs.id);
    expect(endpointsOf(h, accountId, project.id)).toEqual([]);
  });
});

it('leak canary: no full credential used in this file leaked', async () => {
  expect(h.credentials.size).toBeGreaterThan(10);
  expect(await h.leaks()).toEqual(NO_LEAKS);
});

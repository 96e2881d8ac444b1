import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StripeEnvironment } from '../../../src/generated/prisma/enums.js';
import { expectError } from '../../support/assertions.js';
import {
  maskOf,
  NO_LEAKS,
  ReadStripeConfig,
  RemoveStripe,
  RetryStripeWebhook,
  startStripeHarness,
  type StripeHarness,
} from '../support.js';

let h: StripeHarness;
let accountId: string;
beforeAll(async () => {
  h = await startStripeHarness();
  accountId = h.account('Configure Co').id;
});
afterAll(() => h.close());

/** Coffer's endpoints for one project at one account. */
const endpointsOf = (account: string, projectId: string) =>
  h.fake.webhookEndpoints(account).filter((endpoint) => endpoint.metadata.coffer_project === projectId);
const accountChecks = (from: number) =>
  h.fake.requests.slice(from).filter((request) => request.method === 'GET' && request.path === '/v1/account');

/**
 * Mirrored data and its webhook event, as the sync and the webhook route would leave them: a
 * customer in its typed table, an object of a type without one in stripe_objects, and the event.
 */
async function mirror(projectId: string, environment: StripeEnvironment, stripeId: string) {
  const { prisma } = h.app.db;
  const now = new Date();
  await prisma.stripeCustomer.create({
    data: {
      projectId,
      environment,
      stripeId,
      created: now,
      email: 'ada@example.com',
      name: 'Ada',
      data: { id: stripeId, object: 'customer', name: 'Ada' },
      changedAt: now,
    },
  });
  await prisma.stripeObject.create({
    data: {
      projectId,
      environment,
      objectType: 'checkout.session',
      stripeId: `cs_${stripeId}`,
      data: { id: `cs_${stripeId}`, object: 'checkout.session' },
      eventCreatedAt: now,
    },
  });
  await prisma.stripeWebhookEvent.create({
    data: { projectId, environment, eventId: `evt_${stripeId}`, type: 'customer.created', objectId: stripeId, created: now },
  });
}
/** [customers, other objects, webhook events] mirrored for one environment. */
const mirrored = (projectId: string, environment: StripeEnvironment) =>
  Promise.all([
    h.app.db.prisma.stripeCustomer.count({ where: { projectId, environment } }),
    h.app.db.prisma.stripeObject.count({ where: { projectId, environment } }),
    h.app.db.prisma.stripeWebhookEvent.count({ where: { projectId, environment } }),
  ]);
const syncRuns = (projectId: string) => h.app.db.prisma.stripeSyncRun.findMany({ where: { projectId }, orderBy: { createdAt: 'asc' } });

describe('reading the configuration', () => {
  it('stripeConfig is null while nothing is configured', async () => {
    const project = await h.project();
    expect(await h.readConfig(project.id)).toBeNull();
  });

  it('an unknown project → NOT_FOUND', async () => {
    const projectId = randomUUID();
    expectError(await h.execute(ReadStripeConfig, { projectId }), 'NOT_FOUND');
    expectError(await h.configure(projectId, { testSecretKey: h.key(accountId) }), 'NOT_FOUND');
    expectError(await h.validate(projectId, { testSecretKey: h.key(accountId) }), 'NOT_FOUND');
  });

  it('a malformed project id is an unknown project too → NOT_FOUND', async () => {
    expectError(await h.execute(ReadStripeConfig, { projectId: 'not-a-project' }), 'NOT_FOUND');
  });

  it("a stranger → NOT_FOUND (as for an unknown project) on every Stripe operation of someone else's project", async () => {
    const project = await h.project();
    await h.configure(project.id, { testSecretKey: h.key(accountId) });
    const as = { credential: h.app.stranger.key };
    const requestsBefore = h.fake.requests.length;
    expectError(await h.execute(ReadStripeConfig, { projectId: project.id }, as), 'NOT_FOUND');
    expectError(await h.configure(project.id, { testSecretKey: h.key(accountId) }, as), 'NOT_FOUND');
    expectError(await h.validate(project.id, { testSecretKey: h.key(accountId) }, as), 'NOT_FOUND');
    expectError(await h.execute(RetryStripeWebhook, { projectId: project.id, environment: 'TEST' }, as), 'NOT_FOUND');
    expectError(await h.execute(RemoveStripe, { projectId: project.id, environment: 'TEST' }, as), 'NOT_FOUND');
    expect(h.fake.requests.length).toBe(requestsBefore);
    expect((await h.readConfig(project.id))?.hasTestCredentials).toBe(true);
  });

  it('an admin may configure and read a project it does not own', async () => {
    const project = await h.project();
    const key = h.key(accountId);
    const as = { credential: h.app.admin.key };
    const response = await h.configure(project.id, { testSecretKey: key }, as);
    expect(response.errors).toEqual([]);
    const read = await h.execute(ReadStripeConfig, { projectId: project.id }, as);
    expect(read.errors).toEqual([]);
    expect(read.data?.stripeConfig?.testSecretKey).toBe(maskOf(key));
  });
});

describe('masking', () => {
  it('every one of the six credentials is masked (prefix, ..., last four) in stripeConfig and keys[]', async () => {
    const project = await h.project();
    const values = {
      testSecretKey: h.key(accountId, { mode: 'test' }),
      testPublishableKey: h.key(accountId, { mode: 'test', kind: 'publishable' }),
      testWebhookSecret: h.manualWebhookSecret(),
      liveSecretKey: h.key(accountId, { mode: 'live' }),
      livePublishableKey: h.key(accountId, { mode: 'live', kind: 'publishable' }),
      liveWebhookSecret: h.manualWebhookSecret(),
    };
    const response = await h.configure(project.id, values);
    expect(response.errors).toEqual([]);

    for (const config of [response.data?.configureStripe!.config, await h.readConfig(project.id)]) {
      expect(config).toMatchObject({
        testSecretKey: maskOf(values.testSecretKey),
        testPublishableKey: maskOf(values.testPublishableKey),
        testWebhookSecret: maskOf(values.testWebhookSecret),
        liveSecretKey: maskOf(values.liveSecretKey),
        livePublishableKey: maskOf(values.livePublishableKey),
        liveWebhookSecret: maskOf(values.liveWebhookSecret),
        isActive: true,
        hasTestCredentials: true,
        hasLiveCredentials: true,
      });
      expect(config?.testSecretKey).toMatch(/^sk_test_\.\.\.[A-Za-z0-9]{4}$/);
      expect(config?.testPublishableKey).toMatch(/^pk_test_\.\.\.[A-Za-z0-9]{4}$/);
      expect(config?.testWebhookSecret).toMatch(/^whsec_\.\.\.[A-Za-z0-9]{4}$/);
      expect(config?.liveSecretKey).toMatch(/^sk_live_\.\.\.[A-Za-z0-9]{4}$/);
      expect(config?.livePublishableKey).toMatch(/^pk_live_\.\.\.[A-Za-z0-9]{4}$/);
      expect(config?.liveWebhookSecret).toMatch(/^whsec_\.\.\.[A-Za-z0-9]{4}$/);
      expect(config?.keys).toEqual([
        { environment: 'TEST', hasKey: true, maskedKey: maskOf(values.testSecretKey) },
        { environment: 'LIVE', hasKey: true, maskedKey: maskOf(values.liveSecretKey) },
      ]);
      expect(config?.test?.webhook.signingSecret).toBe(maskOf(values.testWebhookSecret));
      expect(config?.live?.webhook.signingSecret).toBe(maskOf(values.liveWebhookSecret));
    }
    for (const value of Object.values(values)) expect(response.text).not.toContain(value);
  });
});

describe('partial updates', () => {
  it('a field left out keeps its value; an explicit null removes it', async () => {
    const project = await h.project();
    const secretKey = h.key(accountId);
    const firstPk = h.key(accountId, { kind: 'publishable' });
    const secondPk = h.key(accountId, { kind: 'publishable' });
    expect((await h.configure(project.id, { testSecretKey: secretKey, testPublishableKey: firstPk })).errors).toEqual([]);
    const endpoint = (await h.readConfig(project.id))?.test?.webhook.endpointId;

    const replaced = await h.configure(project.id, { testPublishableKey: secondPk });
    expect(replaced.data?.configureStripe!.results).toEqual([
      expect.objectContaining({ environment: 'TEST', changedFields: ['testPublishableKey'], accountChanged: false }),
    ]);
    expect(replaced.data?.configureStripe!.config).toMatchObject({
      testSecretKey: maskOf(secretKey),
      testPublishableKey: maskOf(secondPk),
    });
    expect(replaced.data?.configureStripe!.config?.test?.webhook).toMatchObject({ status: 'ACTIVE', endpointId: endpoint });

    const removed = await h.configure(project.id, { testPublishableKey: null });
    expect(removed.data?.configureStripe!.results).toEqual([expect.objectContaining({ changedFields: ['testPublishableKey'] })]);
    expect(removed.data?.configureStripe!.config).toMatchObject({
      testSecretKey: maskOf(secretKey),
      testPublishableKey: null,
      hasTestCredentials: true,
    });

    const secretRemoved = await h.configure(project.id, { testSecretKey: null });
    expect(secretRemoved.data?.configureStripe!.results).toEqual([expect.objectContaining({ changedFields: ['testSecretKey'] })]);
    expect(secretRemoved.data?.configureStripe!.config).toMatchObject({ testSecretKey: null, hasTestCredentials: false, isActive: false });
    expect(secretRemoved.data?.configureStripe!.config?.keys).toContainEqual({ environment: 'TEST', hasKey: false, maskedKey: null });
    // Without a secret key, Coffer's endpoint has no reason to exist.
    expect(endpointsOf(accountId, project.id)).toEqual([]);
  });
});

describe('saving the same key again', () => {
  it('changes nothing: changedFields [], no second live check, no new webhook endpoint', async () => {
    const project = await h.project();
    const key = h.key(accountId);
    const start = h.fake.requests.length;
    const first = await h.configure(project.id, { testSecretKey: key });
    expect(first.data?.configureStripe!.results[0]).toMatchObject({
      changedFields: ['testSecretKey'],
      syncDue: true,
      syncRunId: expect.any(String),
    });
    const endpoints = endpointsOf(accountId, project.id);
    expect(endpoints).toHaveLength(1);
    const storedSecret = await h.storedWebhookSecret(project.id);

    const again = await h.configure(project.id, { testSecretKey: key });
    expect(again.errors).toEqual([]);
    expect(again.data?.configureStripe!.results).toEqual([
      { environment: 'TEST', changedFields: [], accountChanged: false, syncDue: false, syncRunId: null, webhook: null },
    ]);
    expect(accountChecks(start)).toHaveLength(1);
    expect(endpointsOf(accountId, project.id)).toEqual(endpoints);
    expect(await h.storedWebhookSecret(project.id)).toBe(storedSecret);
    // Only the first save queued a sync.
    expect((await syncRuns(project.id)).map((run) => run.id)).toEqual([first.data?.configureStripe!.results[0]?.syncRunId]);
  });
});

describe('changing keys', () => {
  it('a new key for the same account keeps the mirrored data and the webhook, and queues no sync', async () => {
    const project = await h.project();
    await h.configure(project.id, { testSecretKey: h.key(accountId) });
    await mirror(project.id, 'TEST', 'cus_same_account');
    const endpoints = endpointsOf(accountId, project.id);
    const runsBefore = await syncRuns(project.id);
    const newKey = h.key(accountId);

    const response = await h.configure(project.id, { testSecretKey: newKey });
    expect(response.data?.configureStripe!.results).toEqual([
      { environment: 'TEST', changedFields: ['testSecretKey'], accountChanged: false, syncDue: false, syncRunId: null, webhook: null },
    ]);
    expect(response.data?.configureStripe!.config?.testSecretKey).toBe(maskOf(newKey));
    expect(await mirrored(project.id, 'TEST')).toEqual([1, 1, 1]);
    expect(endpointsOf(accountId, project.id)).toEqual(endpoints);
    expect(await syncRuns(project.id)).toEqual(runsBefore);
  });

  it("a key for a different account clears that environment's mirror and moves the managed webhook", async () => {
    const project = await h.project();
    const other = h.account('Someone Else Ltd');
    const firstRunId = (await h.configure(project.id, { testSecretKey: h.key(accountId) })).data?.configureStripe!.results[0]?.syncRunId;
    expect(firstRunId).toEqual(expect.any(String));
    const [oldEndpoint] = endpointsOf(accountId, project.id);
    expect(oldEndpoint).toBeDefined();
    await mirror(project.id, 'TEST', 'cus_old_account');
    await mirror(project.id, 'LIVE', 'cus_live_untouched');

    const response = await h.configure(project.id, { testSecretKey: h.key(other.id) });
    expect(response.errors).toEqual([]);
    const [result] = response.data!.configureStripe!.results;
    expect(result).toMatchObject({
      environment: 'TEST',
      changedFields: ['testSecretKey'],
      accountChanged: true,
      syncDue: true,
      syncRunId: expect.any(String),
      webhook: { ok: true },
    });
    expect(response.data?.configureStripe!.config?.test).toMatchObject({ accountId: other.id, accountName: 'Someone Else Ltd' });

    expect(await mirrored(project.id, 'TEST')).toEqual([0, 0, 0]);
    expect(await mirrored(project.id, 'LIVE')).toEqual([1, 1, 1]);

    // The old account's queued sync is canceled; a sync of the new account takes its place.
    expect((await syncRuns(project.id)).map(({ id, accountId: account, trigger, status }) => ({ id, account, trigger, status }))).toEqual([
      { id: firstRunId, account: accountId, trigger: 'CONFIGURE', status: 'CANCELED' },
      { id: result?.syncRunId, account: other.id, trigger: 'CONFIGURE', status: 'QUEUED' },
    ]);

    expect(endpointsOf(accountId, project.id)).toEqual([]);
    const [newEndpoint] = endpointsOf(other.id, project.id);
    expect(newEndpoint?.id).toBe(result?.webhook?.endpointId);
    expect(response.data?.configureStripe!.config?.test?.webhook).toMatchObject({ status: 'ACTIVE', endpointId: newEndpoint?.id });
    expect(await h.storedWebhookSecret(project.id)).toBe(newEndpoint?.secret);
  });
});

describe('concurrent saves', () => {
  it('two saves for one project and environment are serialized and leave a consistent state', async () => {
    const project = await h.project();
    const keys = [h.key(accountId), h.key(accountId)];
    const start = h.fake.requests.length;
    // Slow live checks: unserialized, both would be at Stripe before either saved.
    h.fake.delayNext(2, 400, { path: /^\/v1\/account$/ });

    const responses = await Promise.all(keys.map((key) => h.configure(project.id, { testSecretKey: key })));
    for (const response of responses) expect(response.errors).toEqual([]);

    const log = h.fake.requests.slice(start).map((request) => `${request.method} ${request.path}`);
    const checks = log.flatMap((entry, index) => (entry === 'GET /v1/account' ? [index] : []));
    const creation = log.indexOf('POST /v1/webhook_endpoints');
    expect(checks).toHaveLength(2);
    expect(creation).toBeGreaterThan(checks[0]!);
    expect(checks[1]).toBeGreaterThan(creation);

    // The second save found the first one's account: no new account, no second endpoint.
    const results = responses.map((response) => response.data!.configureStripe!.results[0]!);
    const firstIndex = results.findIndex((result) => result.syncDue);
    const secondIndex = 1 - firstIndex;
    expect(results[firstIndex]?.webhook?.ok).toBe(true);
    expect(results[secondIndex]).toEqual({
      environment: 'TEST',
      changedFields: ['testSecretKey'],
      accountChanged: false,
      syncDue: false,
      syncRunId: null,
      webhook: null,
    });
    expect((await h.readConfig(project.id))?.testSecretKey).toBe(maskOf(keys[secondIndex]!));
    // One account, one first sync: the save that found the account queued it, the other none.
    const runs = await syncRuns(project.id);
    expect(runs).toEqual([
      expect.objectContaining({ id: results[firstIndex]?.syncRunId, accountId, trigger: 'CONFIGURE', status: 'QUEUED' }),
    ]);

    const endpoints = endpointsOf(accountId, project.id);
    expect(endpoints).toHaveLength(1);
    const secret = await h.storedWebhookSecret(project.id);
    expect(secret).toBe(endpoints[0]?.secret);
    const payload = h.eventPayload({ object: { id: 'cus_concurrent', object: 'customer' } });
    expect((await h.sendWebhook(project.id, payload, { secret: endpoints[0]!.secret })).status).toBe(200);
  });
});

it('leak canary: no full credential used in this file leaked', async () => {
  expect(h.credentials.size).toBeGreaterThan(15);
  expect(await h.leaks()).toEqual(NO_LEAKS);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StripeCredentialsInput } from '../../../src/generated/graphql/graphql.js';
import { expectError } from '../../support/assertions.js';
import { closedPortUrl, NO_LEAKS, randomBody, startStripeHarness, type StripeHarness } from '../support.js';

let h: StripeHarness;
let accountId: string;
beforeAll(async () => {
  h = await startStripeHarness();
  accountId = h.account('Live Check Ltd').id;
});
afterAll(() => h.close());

type Mutation = 'configureStripe' | 'validateStripeCredentials';
const run = (harness: StripeHarness, mutation: Mutation, projectId: string, input: StripeCredentialsInput) =>
  mutation === 'configureStripe' ? harness.configure(projectId, input) : harness.validate(projectId, input);

/** Nothing in the database, nothing created at Stripe. */
async function expectNothingSaved(harness: StripeHarness, projectId: string, account = accountId) {
  expect(await harness.readConfig(projectId)).toBeNull();
  expect(await harness.app.db.prisma.stripeEnvironmentState.count({ where: { projectId } })).toBe(0);
  expect(harness.fake.webhookEndpoints(account).filter((endpoint) => endpoint.metadata.coffer_project === projectId)).toEqual([]);
}

describe.each<Mutation>(['configureStripe', 'validateStripeCredentials'])('%s: the live check (GET /v1/account)', (mutation) => {
  it('a key Stripe does not know → STRIPE_ERROR INVALID_API_KEY, nothing saved', async () => {
    const project = await h.project();
    const response = await run(h, mutation, project.id, {
      testSecretKey: `sk_test_${randomBody()}`,
      testPublishableKey: h.key(accountId, { kind: 'publishable' }),
    });
    const error = expectError(response, 'STRIPE_ERROR');
    expect(error.extensions).toMatchObject({ reason: 'INVALID_API_KEY', field: 'input.testSecretKey', stripeStatus: 401 });
    expect(error.message).toMatch(/not a valid API key/);
    await expectNothingSaved(h, project.id);
  });

  it('a restricted key without permission to read the account → RESTRICTED_KEY_MISSING_PERMISSION, explained', async () => {
    const project = await h.project();
    const key = h.key(accountId, { mode: 'live', kind: 'restricted', permissions: 'none' });
    const response = await run(h, mutation, project.id, { liveSecretKey: key });
    const error = expectError(response, 'STRIPE_ERROR');
    expect(error.extensions).toMatchObject({
      reason: 'RESTRICTED_KEY_MISSING_PERMISSION',
      field: 'input.liveSecretKey',
      stripeStatus: 403,
    });
    // Distinct from a bad key: the key is fine, the permission is missing, and the message says what to do.
    expect(error.message).toMatch(/restricted key is valid/i);
    expect(error.message).toMatch(/permission/i);
    expect(error.message).toMatch(/read access to "Account"/);
    await expectNothingSaved(h, project.id);
  });

  it('a 500 from Stripe → STRIPE_ERROR, nothing saved', async () => {
    const project = await h.project();
    h.fake.failNext(1, { status: 500, path: /^\/v1\/account$/, shouldRetry: false });
    const response = await run(h, mutation, project.id, { testSecretKey: h.key(accountId) });
    const error = expectError(response, 'STRIPE_ERROR');
    expect(error.extensions).toMatchObject({ reason: 'STRIPE_API_ERROR', field: 'input.testSecretKey', stripeStatus: 500 });
    await expectNothingSaved(h, project.id);
  });

  it('one failing environment means the other, valid one is not saved either', async () => {
    const project = await h.project();
    const response = await run(h, mutation, project.id, { testSecretKey: h.key(accountId), liveSecretKey: `sk_live_${randomBody()}` });
    expect(expectError(response, 'STRIPE_ERROR').extensions).toMatchObject({ reason: 'INVALID_API_KEY', field: 'input.liveSecretKey' });
    await expectNothingSaved(h, project.id);
  });
});

describe('Stripe unreachable', () => {
  let offline: StripeHarness;
  let offlineAccount: string;
  beforeAll(async () => {
    offline = await startStripeHarness({ env: { STRIPE_API_BASE: await closedPortUrl() } });
    offlineAccount = offline.account().id;
  });
  afterAll(() => offline.close());

  it.each<Mutation>(['configureStripe', 'validateStripeCredentials'])(
    '%s → STRIPE_ERROR STRIPE_UNREACHABLE saying so, nothing saved',
    async (mutation) => {
      const project = await offline.project();
      const response = await run(offline, mutation, project.id, { testSecretKey: offline.key(offlineAccount) });
      const error = expectError(response, 'STRIPE_ERROR');
      expect(error.extensions).toMatchObject({ reason: 'STRIPE_UNREACHABLE', field: 'input.testSecretKey' });
      expect(error.message).toMatch(/could not be reached/);
      expect(error.message).toMatch(/nothing was saved/i);
      await expectNothingSaved(offline, project.id, offlineAccount);
    },
  );

  it('leak canary (offline app)', async () => {
    expect(await offline.leaks()).toEqual(NO_LEAKS);
  });
});

describe('validateStripeCredentials', () => {
  it('returns the account of each key and saves nothing', async () => {
    const project = await h.project();
    const other = h.account('Other Account Inc');
    const requestsBefore = h.fake.requests.length;
    const response = await h.validate(project.id, {
      testSecretKey: h.key(accountId),
      testPublishableKey: h.key(accountId, { kind: 'publishable' }),
      liveSecretKey: h.key(other.id, { mode: 'live' }),
    });
    expect(response.errors).toEqual([]);
    expect(response.data?.validateStripeCredentials).toEqual({
      valid: true,
      accounts: [
        { environment: 'TEST', accountId, accountName: 'Live Check Ltd', livemode: false, restrictedKey: false },
        { environment: 'LIVE', accountId: other.id, accountName: 'Other Account Inc', livemode: true, restrictedKey: false },
      ],
    });
    // Two live checks and nothing else: no webhook endpoint was created.
    expect(h.fake.requests.slice(requestsBefore).map((request) => `${request.method} ${request.path}`)).toEqual([
      'GET /v1/account',
      'GET /v1/account',
    ]);
    await expectNothingSaved(h, project.id);
    await expectNothingSaved(h, project.id, other.id);
  });
});

it('leak canary: no full credential used in this file leaked', async () => {
  expect(h.credentials.size).toBeGreaterThan(10);
  expect(await h.leaks()).toEqual(NO_LEAKS);
});

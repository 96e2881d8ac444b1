import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StripeCredentialsInput } from '../../../src/generated/graphql/graphql.js';
import { expectError } from '../../support/assertions.js';
import { maskOf, NO_LEAKS, randomBody, startStripeHarness, type StripeHarness } from '../support.js';

type Field = keyof StripeCredentialsInput;

/**
 * For each of the six fields, values that must be refused on their format alone, before any
 * request to Stripe: the prefix is the authority for kind and mode.
 */
const b = randomBody;
const TABLE: Array<{ field: Field; cases: Record<string, string> }> = [
  {
    field: 'testSecretKey',
    cases: {
      'wrong prefix': `ak_test_${b()}`,
      'other mode': `sk_live_${b()}`,
      'publishable in a secret field': `pk_test_${b()}`,
      'too short': 'sk_test_abc123',
    },
  },
  {
    field: 'testPublishableKey',
    cases: {
      'wrong prefix': `pb_test_${b()}`,
      'other mode': `pk_live_${b()}`,
      'secret in a publishable field': `sk_test_${b()}`,
      'too short': 'pk_test_abc123',
    },
  },
  {
    field: 'testWebhookSecret',
    cases: {
      'wrong prefix': `whsek_${b()}`,
      'other mode': `sk_live_${b()}`,
      'publishable in a secret field': `pk_test_${b()}`,
      'too short': 'whsec_abc123',
    },
  },
  {
    field: 'liveSecretKey',
    cases: {
      'wrong prefix': `ak_live_${b()}`,
      'other mode': `sk_test_${b()}`,
      'publishable in a secret field': `pk_live_${b()}`,
      'too short': 'sk_live_abc123',
    },
  },
  {
    field: 'livePublishableKey',
    cases: {
      'wrong prefix': `pb_live_${b()}`,
      'other mode': `pk_test_${b()}`,
      'secret in a publishable field': `sk_live_${b()}`,
      'too short': 'pk_live_abc123',
    },
  },
  {
    field: 'liveWebhookSecret',
    cases: {
      'wrong prefix': `whsek_${b()}`,
      'other mode': `rk_test_${b()}`,
      'publishable in a secret field': `pk_live_${b()}`,
      'too short': 'whsec_abc123',
    },
  },
];
const GARBAGE = { garbage: 'this is not a Stripe key at all!', 'invalid characters': `sk_test_${b(8)}-${b(8)}`, empty: '' };
const ROWS = TABLE.flatMap(({ field, cases }) => Object.entries({ ...cases, ...GARBAGE }).map(([name, value]) => ({ field, name, value })));

let h: StripeHarness;
let accountId: string;
beforeAll(async () => {
  h = await startStripeHarness();
  accountId = h.account('Format Checks Ltd').id;
});
afterAll(() => h.close());

describe('configureStripe refuses malformed credentials before calling Stripe', () => {
  it.each(ROWS)('$field: $name → BAD_USER_INPUT naming input.$field, nothing saved, Stripe not called', async ({ field, value }) => {
    const project = await h.project();
    // A valid, real key of the other environment rides along: it must not be checked or saved either.
    const companion: StripeCredentialsInput = field.startsWith('test')
      ? { liveSecretKey: h.key(accountId, { mode: 'live' }) }
      : { testSecretKey: h.key(accountId, { mode: 'test' }) };
    const requestsBefore = h.fake.requests.length;

    const response = await h.configure(project.id, { ...companion, [field]: value });

    const error = expectError(response, 'BAD_USER_INPUT');
    expect(error.extensions?.fields).toEqual([{ field: `input.${field}`, message: expect.any(String) }]);
    expect(response.data).toEqual({ configureStripe: null });
    if (value) expect(response.text).not.toContain(value);
    expect(h.fake.requests.length).toBe(requestsBefore);
    expect(await h.readConfig(project.id)).toBeNull();
    expect(await h.app.db.prisma.stripeEnvironmentState.count({ where: { projectId: project.id } })).toBe(0);
  });

  it('reports every malformed field at once', async () => {
    const project = await h.project();
    const input = Object.fromEntries(TABLE.map(({ field }) => [field, GARBAGE.garbage])) as StripeCredentialsInput;
    const response = await h.configure(project.id, input);
    const error = expectError(response, 'BAD_USER_INPUT');
    const fields = (error.extensions?.fields as Array<{ field: string }>).map((problem) => problem.field);
    expect(fields.sort()).toEqual(TABLE.map(({ field }) => `input.${field}`).sort());
    expect(await h.readConfig(project.id)).toBeNull();
  });

  it('validateStripeCredentials applies the same format checks', async () => {
    const project = await h.project();
    const requestsBefore = h.fake.requests.length;
    const response = await h.validate(project.id, { testSecretKey: h.key(accountId), livePublishableKey: `pk_test_${b()}` });
    const error = expectError(response, 'BAD_USER_INPUT');
    expect(error.extensions?.fields).toEqual([{ field: 'input.livePublishableKey', message: expect.any(String) }]);
    expect(h.fake.requests.length).toBe(requestsBefore);
  });
});

describe('restricted keys', () => {
  it('rk_test_ and rk_live_ keys are accepted as secret keys', async () => {
    const project = await h.project();
    const rkTest = h.key(accountId, { mode: 'test', kind: 'restricted' });
    const rkLive = h.key(accountId, { mode: 'live', kind: 'restricted' });

    const validation = await h.validate(project.id, { testSecretKey: rkTest, liveSecretKey: rkLive });
    expect(validation.errors).toEqual([]);
    expect(validation.data?.validateStripeCredentials!.accounts).toEqual([
      expect.objectContaining({ environment: 'TEST', accountId, restrictedKey: true, livemode: false }),
      expect.objectContaining({ environment: 'LIVE', accountId, restrictedKey: true, livemode: true }),
    ]);

    const response = await h.configure(project.id, { testSecretKey: rkTest, liveSecretKey: rkLive });
    expect(response.errors).toEqual([]);
    const config = response.data?.configureStripe!.config;
    expect(config?.testSecretKey).toBe(maskOf(rkTest));
    expect(config?.liveSecretKey).toBe(maskOf(rkLive));
    expect(config?.testSecretKey).toMatch(/^rk_test_\.\.\.[A-Za-z0-9]{4}$/);
  });
});

it('leak canary: no full credential used in this file leaked', async () => {
  expect(h.credentials.size).toBeGreaterThan(40);
  expect(await h.leaks()).toEqual(NO_LEAKS);
});

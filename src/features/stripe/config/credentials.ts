import type { StripeCredentialKind, StripeEnvironment } from '../../../generated/prisma/enums.js';
import type { FieldProblem } from '../../../errors.js';

/** The six credential fields of `configureStripe`, by environment and kind. */
export const CREDENTIAL_FIELDS = [
  { field: 'testSecretKey', environment: 'TEST', kind: 'SECRET_KEY' },
  { field: 'testPublishableKey', environment: 'TEST', kind: 'PUBLISHABLE_KEY' },
  { field: 'testWebhookSecret', environment: 'TEST', kind: 'WEBHOOK_SECRET' },
  { field: 'liveSecretKey', environment: 'LIVE', kind: 'SECRET_KEY' },
  { field: 'livePublishableKey', environment: 'LIVE', kind: 'PUBLISHABLE_KEY' },
  { field: 'liveWebhookSecret', environment: 'LIVE', kind: 'WEBHOOK_SECRET' },
] as const satisfies ReadonlyArray<{ field: string; environment: StripeEnvironment; kind: StripeCredentialKind }>;

export type CredentialField = (typeof CREDENTIAL_FIELDS)[number]['field'];

/** undefined: keep what is stored; null: remove it; a string: replace it. */
export type CredentialsInput = Partial<Record<CredentialField, string | null>>;

/** The kinds a user supplies (a previous webhook secret is only ever a replaced one). */
type GivenKind = Exclude<StripeCredentialKind, 'PREVIOUS_WEBHOOK_SECRET'>;

const BODY = '[A-Za-z0-9]{10,247}';
const PATTERNS: Record<GivenKind, Record<StripeEnvironment, RegExp>> = {
  SECRET_KEY: { TEST: new RegExp(`^(sk|rk)_test_${BODY}$`), LIVE: new RegExp(`^(sk|rk)_live_${BODY}$`) },
  PUBLISHABLE_KEY: { TEST: new RegExp(`^pk_test_${BODY}$`), LIVE: new RegExp(`^pk_live_${BODY}$`) },
  WEBHOOK_SECRET: { TEST: new RegExp(`^whsec_${BODY}$`), LIVE: new RegExp(`^whsec_${BODY}$`) },
};

const EXPECTED: Record<GivenKind, Record<StripeEnvironment, string>> = {
  SECRET_KEY: {
    TEST: 'a test secret key (sk_test_...) or restricted key (rk_test_...)',
    LIVE: 'a live secret key (sk_live_...) or restricted key (rk_live_...)',
  },
  PUBLISHABLE_KEY: { TEST: 'a test publishable key (pk_test_...)', LIVE: 'a live publishable key (pk_live_...)' },
  WEBHOOK_SECRET: { TEST: 'a webhook signing secret (whsec_...)', LIVE: 'a webhook signing secret (whsec_...)' },
};

/** What kind of Stripe credential a string looks like, for a precise message (never echoing it). */
function describe(value: string): string {
  const prefix = /^(sk|rk|pk)_(test|live)_/.exec(value);
  if (prefix) {
    const kind = { sk: 'secret key', rk: 'restricted key', pk: 'publishable key' }[prefix[1] as 'sk' | 'rk' | 'pk'];
    return `a ${prefix[2]} ${kind}`;
  }
  if (value.startsWith('whsec_')) return 'a webhook signing secret';
  return 'not a Stripe credential';
}

/**
 * Format checks, field by field: the prefix is the authority for kind and mode.
 * Test and live cannot be mixed: a test field takes only test keys, so the publishable key's
 * mode always matches its secret key's.
 */
export function checkFormats(input: CredentialsInput): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const { field, environment, kind } of CREDENTIAL_FIELDS) {
    const value = input[field];
    if (value == null) continue;
    if (!PATTERNS[kind][environment].test(value)) {
      problems.push({ field: `input.${field}`, message: `must be ${EXPECTED[kind][environment]}; this is ${describe(value)}` });
    }
  }
  return problems;
}

/** `sk_test_...abcd`: the kind and mode stay readable, the secret does not. */
export function maskCredential(value: string): string {
  const prefix = /^((sk|rk|pk)_(test|live)_|whsec_)/.exec(value)?.[0] ?? '';
  return `${prefix}...${value.slice(-4)}`;
}

export const isRestrictedKey = (key: string) => key.startsWith('rk_');

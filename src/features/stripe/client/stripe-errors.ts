import { CofferError } from '../../../errors.js';

const CREDENTIAL_LIKE = /\b(?:(?:sk|rk|pk)_(?:test|live)_|whsec_)[A-Za-z0-9*]+/g;

/** Masks anything shaped like a Stripe credential, for text that came from outside (Stripe's messages). */
export function redactCredentials(text: string): string {
  return text.replace(CREDENTIAL_LIKE, (match) => `${match.slice(0, match.indexOf('_', 3) + 1 || 6)}...${match.slice(-4)}`);
}

export type StripeFailure =
  | 'INVALID_API_KEY'
  | 'RESTRICTED_KEY_MISSING_PERMISSION'
  | 'PERMISSION_DENIED'
  | 'STRIPE_RATE_LIMITED'
  | 'STRIPE_UNREACHABLE'
  | 'STRIPE_API_ERROR';

interface StripeLikeError {
  type?: string;
  statusCode?: number;
  message?: string;
}

export function classifyStripeError(error: unknown, { restrictedKey = false } = {}): StripeFailure {
  const { type, statusCode } = (error ?? {}) as StripeLikeError;
  if (type === 'StripeAuthenticationError' || statusCode === 401) return 'INVALID_API_KEY';
  if (type === 'StripePermissionError' || statusCode === 403)
    return restrictedKey ? 'RESTRICTED_KEY_MISSING_PERMISSION' : 'PERMISSION_DENIED';
  if (type === 'StripeRateLimitError' || statusCode === 429) return 'STRIPE_RATE_LIMITED';
  if (type === 'StripeConnectionError' || (error instanceof Error && !statusCode && !type?.startsWith('Stripe')))
    return 'STRIPE_UNREACHABLE';
  return 'STRIPE_API_ERROR';
}

const EXPLANATIONS: Record<StripeFailure, string> = {
  INVALID_API_KEY: 'Stripe rejected the key: it is not a valid API key (mistyped, rolled or deleted).',
  RESTRICTED_KEY_MISSING_PERMISSION:
    'The restricted key is valid, but it lacks the permission to read the account. In the Stripe dashboard, ' +
    'give the key read access to "Account" (and the resources Coffer syncs), or use a secret key.',
  PERMISSION_DENIED: 'Stripe refused this request for the key (missing permission).',
  STRIPE_RATE_LIMITED: 'Stripe is rate-limiting requests right now; try again in a moment.',
  STRIPE_UNREACHABLE: 'Stripe could not be reached (network error or timeout); nothing was saved. Try again.',
  STRIPE_API_ERROR: 'Stripe answered with an error.',
};

export function explainStripeFailure(failure: StripeFailure): string {
  return EXPLANATIONS[failure];
}

/** A coded GraphQL error for a failed Stripe call. Never carries the key or Stripe's raw text. */
export function stripeError(failure: StripeFailure, field: string | null, statusCode?: number): CofferError {
  return new CofferError('STRIPE_ERROR', field ? `${field}: ${EXPLANATIONS[failure]}` : EXPLANATIONS[failure], {
    reason: failure,
    ...(field ? { field } : {}),
    ...(statusCode ? { stripeStatus: statusCode } : {}),
  });
}

/**
 * Injected failures: the request log entry, which requests a rule matches, and the error bodies
 * Stripe sends for 429, 400 `rate_limit`, 401, 403, 500 and 503.
 */
import { maskKey, type FormObject } from './http.js';

export interface LoggedRequest {
  method: string;
  path: string;
  query: FormObject;
  /** Parsed form body of POSTs (never holds keys: those travel in the Authorization header). */
  body: FormObject | null;
  /** First 12 characters of the API key; full keys are never stored. */
  keyPrefixOnly: string | null;
  stripeVersion: string | null;
  idempotencyKey: string | null;
  /** Response status; 0 while in flight. */
  status: number;
  at: number;
}

export interface RequestMatch { path?: RegExp; method?: string }
export type DelayOptions = RequestMatch;

export interface FailOptions extends RequestMatch {
  status: number;
  /** Sent as `Stripe-Should-Retry: true|false`; the SDK obeys it. */
  shouldRetry?: boolean;
  /** Sent as `Retry-After` (seconds), as Stripe does on some 429s. */
  retryAfter?: number | string;
  /** Any other response headers. */
  headers?: Record<string, string>;
  type?: string;
  code?: string;
  message?: string;
}

/** A request held before it is handled (`holdNext`). */
export interface Hold {
  /** Resolves with the first held request, once it has arrived. */
  reached: Promise<LoggedRequest>;
  /** Lets every held request (and any later one) through. */
  release(): void;
}

export const NO_KEY_MESSAGE = "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. "
  + "'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.";

export const permissionMessage = (key: string, accountId: string, permission: string) =>
  `The provided key '${maskKey(key, 6)}' does not have the required permissions for this endpoint on account '${accountId}'. `
  + `Having the '${permission}' permission would allow this request to continue.`;

const RATE_LIMIT_MESSAGE = 'Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.';

const INJECTED: Record<number, { type: string; code?: string; message: string }> = {
  429: { type: 'rate_limit_error', code: 'rate_limit', message: RATE_LIMIT_MESSAGE },
  500: { type: 'api_error', message: "Something went wrong on Stripe's end." },
  503: { type: 'api_error', message: 'Stripe is temporarily unavailable. Please try again later.' },
};

export function injectedError(options: FailOptions, key: string | null, accountId: string | undefined) {
  const { status, shouldRetry, retryAfter, headers, type, code, message } = options;
  const base = status === 401
    ? { type: 'invalid_request_error', message: key ? `Invalid API Key provided: ${maskKey(key)}` : NO_KEY_MESSAGE }
    : status === 403
      ? { type: 'invalid_request_error', message: permissionMessage(key ?? 'rk_test_unknown', accountId ?? 'acct_unknown', 'rak_all') }
      : status === 400 && code === 'rate_limit'
        // The 400 flavour of a rate limit (the SDK raises StripeRateLimitError for it too).
        ? { type: 'invalid_request_error', message: RATE_LIMIT_MESSAGE }
        : INJECTED[status] ?? { type: status >= 500 ? 'api_error' : 'invalid_request_error', message: `Injected failure (HTTP ${status}).` };
  const error = { ...base, ...(type ? { type } : {}), ...(code ? { code } : {}), ...(message ? { message } : {}) };
  return {
    status,
    body: { error },
    headers: {
      ...(shouldRetry === undefined ? {} : { 'Stripe-Should-Retry': String(shouldRetry) }),
      ...(retryAfter === undefined ? {} : { 'Retry-After': String(retryAfter) }),
      ...headers,
    },
  };
}

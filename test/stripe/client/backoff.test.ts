import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { backoffDelay, describeStripeFailure, isRetryable, type RetryPolicy } from '../../../src/features/stripe/client/backoff.js';

/** The retry decisions of the sync, on the errors the Stripe SDK raises. */

const {
  StripeAPIError,
  StripeAuthenticationError,
  StripeConnectionError,
  StripeInvalidRequestError,
  StripePermissionError,
  StripeRateLimitError,
} = Stripe.errors;
type Headers = Record<string, string>;

const rateLimited = (headers: Headers = {}) => new StripeRateLimitError({ message: 'Too many requests', statusCode: 429, headers });
const serverError = (statusCode = 500, headers: Headers = {}) =>
  new StripeAPIError({ message: "Something went wrong on Stripe's end.", statusCode, headers });
const badRequest = (statusCode = 400, headers: Headers = {}) =>
  new StripeInvalidRequestError({ message: 'No such customer', statusCode, headers });

describe('isRetryable', () => {
  it('retries rate limits, lock conflicts, server errors and network failures', () => {
    expect(isRetryable(rateLimited())).toBe(true);
    expect(isRetryable(badRequest(409))).toBe(true);
    for (const status of [500, 502, 503, 504]) expect(isRetryable(serverError(status)), String(status)).toBe(true);
    expect(isRetryable(new StripeConnectionError({ message: 'An error occurred with our connection to Stripe.' }))).toBe(true);
    // A socket error that never became a Stripe error (no status at all).
    expect(isRetryable(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
  });

  it('does not retry what waiting cannot fix', () => {
    expect(isRetryable(new StripeAuthenticationError({ message: 'Expired API Key provided', statusCode: 401 }))).toBe(false);
    expect(isRetryable(new StripePermissionError({ message: 'no permission', statusCode: 403 }))).toBe(false);
    for (const status of [400, 402, 404]) expect(isRetryable(badRequest(status)), String(status)).toBe(false);
  });

  it('obeys Stripe-Should-Retry over the status, either way', () => {
    expect(isRetryable(serverError(500, { 'stripe-should-retry': 'false' }))).toBe(false);
    expect(isRetryable(rateLimited({ 'stripe-should-retry': 'false' }))).toBe(false);
    expect(isRetryable(badRequest(400, { 'stripe-should-retry': 'true' }))).toBe(true);
    expect(isRetryable(new StripeAuthenticationError({ message: 'x', statusCode: 401, headers: { 'stripe-should-retry': 'true' } }))).toBe(
      true,
    );
    // Repeated headers arrive as arrays: the first value counts.
    expect(isRetryable(Object.assign(serverError(503), { headers: { 'stripe-should-retry': ['false', 'true'] } }))).toBe(false);
    // Any other value is no answer: the status decides.
    expect(isRetryable(serverError(500, { 'stripe-should-retry': 'maybe' }))).toBe(true);
    expect(isRetryable(badRequest(400, { 'stripe-should-retry': 'maybe' }))).toBe(false);
  });

  it('is safe on anything thrown', () => {
    expect(isRetryable(undefined)).toBe(false);
    expect(isRetryable(null)).toBe(false);
    expect(isRetryable('boom')).toBe(false);
  });
});

describe('backoffDelay', () => {
  const policy: RetryPolicy = { maxRetries: 8, baseDelayMs: 100, maxDelayMs: 1000 };
  const low = () => 0;
  const high = () => 1;

  it('doubles its window with every retry up to the maximum, with equal jitter inside it', () => {
    // Window of retry n: base * 2^(n-1), capped; the delay is between half the window and the window.
    const windows = [100, 200, 400, 800, 1000, 1000, 1000];
    windows.forEach((window, index) => {
      const retry = index + 1;
      expect(backoffDelay(policy, retry, undefined, low), `retry ${retry} at least`).toBe(window / 2);
      expect(backoffDelay(policy, retry, undefined, high), `retry ${retry} at most`).toBe(window);
      expect(
        backoffDelay(policy, retry, undefined, () => 0.5),
        `retry ${retry} midway`,
      ).toBe(Math.round(window * 0.75));
    });
    // Far past the cap nothing overflows.
    expect(backoffDelay(policy, 60, undefined, high)).toBe(1000);
    // Retry 0 (or less) is treated as the first.
    expect(backoffDelay(policy, 0, undefined, high)).toBe(100);
  });

  it('with real randomness stays within the bounds, never shrinks from one retry to the next, and spreads out', () => {
    for (let retry = 1; retry <= 6; retry++) {
      const window = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
      const samples = Array.from({ length: 200 }, () => backoffDelay(policy, retry));
      for (const delay of samples) {
        expect(delay).toBeGreaterThanOrEqual(window / 2);
        expect(delay).toBeLessThanOrEqual(window);
      }
      expect(new Set(samples).size, `retry ${retry} jitters`).toBeGreaterThan(10);
      // Below the cap, the lowest delay of a retry is at least the highest of the one before.
      const previousWindow = policy.baseDelayMs * 2 ** (retry - 2);
      if (window === 2 * previousWindow) expect(Math.min(...samples)).toBeGreaterThanOrEqual(previousWindow);
    }
  });

  it('treats Retry-After (seconds) as a floor, capped by the maximum delay', () => {
    expect(backoffDelay(policy, 1, rateLimited({ 'retry-after': '0.5' }), low)).toBe(500);
    expect(backoffDelay(policy, 1, rateLimited({ 'retry-after': '120' }), low)).toBe(1000);
    // A floor only: a longer back-off is kept.
    expect(backoffDelay(policy, 4, rateLimited({ 'retry-after': '0.1' }), high)).toBe(800);
    const generous: RetryPolicy = { maxRetries: 8, baseDelayMs: 100, maxDelayMs: 60_000 };
    expect(backoffDelay(generous, 1, rateLimited({ 'retry-after': '3' }), low)).toBe(3000);
  });

  it('ignores a Retry-After that is not a positive number of seconds', () => {
    for (const value of ['soon', '0', '-5', '', 'Wed, 21 Oct 2026 07:28:00 GMT']) {
      expect(backoffDelay(policy, 1, rateLimited({ 'retry-after': value }), low), JSON.stringify(value)).toBe(50);
    }
  });
});

describe('describeStripeFailure', () => {
  it('names the kind and status, and masks any credential in Stripe text', () => {
    const key = 'sk_live_51AbCdEfGhIjKlMnOpQrStUvWxYz0123';
    const text = describeStripeFailure(serverError(500, {}));
    expect(text).toMatch(/^STRIPE_API_ERROR \(HTTP 500\): /);
    const withKey = describeStripeFailure(new StripeAPIError({ message: `Request failed for ${key}`, statusCode: 500 }));
    expect(withKey).not.toContain(key);
    expect(withKey).toContain('sk_live_...0123');
    expect(describeStripeFailure(rateLimited())).toMatch(/^STRIPE_RATE_LIMITED \(HTTP 429\): Stripe is rate-limiting/);
    // Authentication failures carry no Stripe text at all (it echoes part of the key).
    const auth = describeStripeFailure(new StripeAuthenticationError({ message: `Expired API Key provided: ${key}`, statusCode: 401 }));
    expect(auth).toMatch(/^INVALID_API_KEY \(HTTP 401\): /);
    expect(auth).not.toContain('sk_live_');
  });
});

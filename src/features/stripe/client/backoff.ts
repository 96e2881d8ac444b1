import { classifyStripeError, explainStripeFailure, redactCredentials } from './stripe-errors.js';

export interface RetryPolicy {
  /** Retries after the first attempt; then the page (and its object type) fails. */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

interface StripeErrorLike {
  type?: string;
  statusCode?: number;
  code?: string;
  message?: string;
  headers?: Record<string, string | string[] | undefined>;
}

const header = (error: StripeErrorLike, name: string) => {
  const value = error.headers?.[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * Whether a failed Stripe call is worth another try. `Stripe-Should-Retry` wins when Stripe sends
 * it; otherwise 429, 5xx, lock timeouts and network errors are retried, and every other 4xx is final
 * (a bad key will not get better by waiting).
 */
export function isRetryable(error: unknown): boolean {
  const failure = (error ?? {}) as StripeErrorLike;
  const shouldRetry = header(failure, 'stripe-should-retry');
  if (shouldRetry === 'true') return true;
  if (shouldRetry === 'false') return false;
  // Stripe also limits with a 400 `rate_limit` (the SDK types it a rate-limit error): waiting helps.
  if (failure.type === 'StripeRateLimitError' || failure.code === 'rate_limit') return true;
  const status = failure.statusCode;
  if (status === 429 || status === 409 || (status !== undefined && status >= 500)) return true;
  return failure.type === 'StripeConnectionError' || (status === undefined && classifyStripeError(error) === 'STRIPE_UNREACHABLE');
}

/**
 * Exponential back-off with "equal jitter": half the window is fixed, half random, so replicas
 * hitting the same limit spread out but never hammer at once. A `Retry-After` header is a floor.
 */
export function backoffDelay(policy: RetryPolicy, retry: number, error?: unknown, random: () => number = Math.random): number {
  const window = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  const delay = window / 2 + random() * (window / 2);
  const retryAfter = Number(header(error ?? {}, 'retry-after'));
  return Math.round(
    Number.isFinite(retryAfter) && retryAfter > 0 ? Math.max(delay, Math.min(retryAfter * 1000, policy.maxDelayMs)) : delay,
  );
}

/** Why a Stripe call failed, in words for the run's report: never Stripe's raw text with a key in it. */
export function describeStripeFailure(error: unknown): string {
  const failure = (error ?? {}) as StripeErrorLike;
  const kind = classifyStripeError(error);
  const status = failure.statusCode ? ` (HTTP ${failure.statusCode})` : '';
  const detail = kind === 'STRIPE_API_ERROR' && failure.message ? ` ${redactCredentials(failure.message).slice(0, 300)}` : '';
  return `${kind}${status}: ${explainStripeFailure(kind)}${detail}`;
}

/** Sleeps `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * `call`, tried again on retryable failures with back-off, `onRetry` told each time; stops waiting
 * when `signal` aborts (throwing its reason). The last failure is thrown as it came.
 */
export async function withBackoff<T>(
  policy: RetryPolicy,
  call: () => Promise<T>,
  { signal, onRetry }: { signal?: AbortSignal; onRetry?: (retry: number, delayMs: number, error: unknown) => Promise<void> | void } = {},
): Promise<T> {
  for (let retry = 1; ; retry++) {
    try {
      return await call();
    } catch (error) {
      if (signal?.aborted || retry > policy.maxRetries || !isRetryable(error)) throw error;
      const delay = backoffDelay(policy, retry, error);
      await onRetry?.(retry, delay, error);
      await sleep(delay, signal);
      // Stopped while waiting: the reason for stopping, not the failure that led to the wait.
      if (signal?.aborted) throw signal.reason as Error;
    }
  }
}

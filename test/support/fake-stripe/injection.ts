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

export interface RequestMatch {
  path?: RegExp;
  method?: string;
}
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

export const NO_KEY_MESSAGE =
  'You did not provide an API key. You need to provide your API key in the Authorization header, ' +
  "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, " +
  'or we can help at https://support.stripe.com/.';

export const permissionMessage = (key: string, accountId: string, permission: string) =>
  `The provided key '${maskKey(key, 6)}' does not have the required permissions for this endpoint on account '${accountId}'. ` +
  `Having the '${permission}' permission would allow this request to continue.`;

const RATE_LIMIT_MESSAGE = 'Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.';

const INJECTED: Record<number, { type: string; code?: string; message: string }> = {
  429: { type: 'rate_limit_error', code: 'rate_limit', message: RATE_LIMIT_MESSAGE },
  500: { type: 'api_error', message: "Something went wrong on Stripe's end." },
  503: { type: 'api_error', message: 'Stripe is temporarily unavailable. Please try again later.' },
};

export function injectedError(options: FailOptions, key: string | null, accountId: string | undefined) {
  const { status, shouldRetry, retryAfter, headers, type, code, message } = options;
  const base =
    status === 401
      ? { type: 'invalid_request_error', message: key ? `Invalid API Key provided: ${maskKey(key)}` : NO_KEY_MESSAGE }
      : status === 403
        ? { type: 'invalid_request_error', message: permissionMessage(key ?? 'rk_test_unknown', accountId ?? 'acct_unknown', 'rak_all') }
        : status === 400 && code === 'rate_limit'
          ? // The 400 flavour of a rate limit (the SDK raises StripeRateLimitError for it too).
            { type: 'invalid_request_error', message: RATE_LIMIT_MESSAGE }
          : (INJECTED[status] ?? {
              type: status >= 500 ? 'api_error' : 'invalid_request_error',
              message: `Injected failure (HTTP ${status}).`,
            });
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

interface Rule extends RequestMatch {
  remaining: number;
}

/** The first rule matching a request (and uses it up). */
function take<T extends Rule>(rules: T[], { method, path }: LoggedRequest): T | undefined {
  const rule = rules.find((r) => {
    if (r.path) r.path.lastIndex = 0;
    return r.remaining > 0 && (!r.method || r.method.toUpperCase() === method) && (!r.path || r.path.test(path));
  });
  if (rule && --rule.remaining === 0) rules.splice(rules.indexOf(rule), 1);
  return rule;
}

/** What happens to requests besides being answered: hooks, holds, failures, delays (see FakeStripe's methods). */
export class Injector {
  private failures: (Rule & FailOptions)[] = [];
  private delays: (Rule & { ms: number })[] = [];
  private holds: (Rule & { reach: (request: LoggedRequest) => void; waiters: Array<() => void> })[] = [];
  private readonly openHolds = new Set<Hold>();
  private hooks: (Rule & { hook: (request: LoggedRequest) => unknown })[] = [];
  private readonly sleepers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();

  failNext(n: number, options: FailOptions): void {
    this.failures.push({ ...options, remaining: n });
  }

  delayNext(n: number, ms: number, options: DelayOptions): void {
    this.delays.push({ ...options, ms, remaining: n });
  }

  clearDelays(): void {
    this.delays = [];
  }

  holdNext(n: number, match: RequestMatch): Hold {
    let reach!: (request: LoggedRequest) => void;
    const reached = new Promise<LoggedRequest>((resolve) => (reach = resolve));
    const rule = { ...match, remaining: n, reach, waiters: [] as Array<() => void> };
    const hold: Hold = {
      reached,
      release: () => {
        this.openHolds.delete(hold);
        this.holds = this.holds.filter((h) => h !== rule);
        for (const wake of rule.waiters.splice(0)) wake();
      },
    };
    this.holds.push(rule);
    this.openHolds.add(hold);
    return hold;
  }

  onRequest(match: RequestMatch & { times?: number }, hook: (request: LoggedRequest) => unknown): () => void {
    const rule = { ...match, remaining: match.times ?? Number.MAX_SAFE_INTEGER, hook };
    this.hooks.push(rule);
    return () => {
      this.hooks = this.hooks.filter((h) => h !== rule);
    };
  }

  /** Before a request is handled: its hook runs, then it waits while held. */
  async before(request: LoggedRequest): Promise<void> {
    const hook = take(this.hooks, request);
    if (hook) await hook.hook(request);
    const hold = take(this.holds, request);
    if (!hold) return;
    const released = new Promise<void>((resolve) => hold.waiters.push(resolve));
    hold.reach(request);
    await released;
  }

  /** The failure to answer instead of handling the request, if one is set for it. */
  failure(request: LoggedRequest): FailOptions | undefined {
    return take(this.failures, request);
  }

  /** After it was handled, before it is answered: the delay set for it. */
  async after(request: LoggedRequest): Promise<void> {
    const delay = take(this.delays, request);
    if (!delay) return;
    await new Promise<void>((resolve) => {
      const sleeper = {
        timer: setTimeout(() => sleeper.wake(), delay.ms),
        wake: () => {
          this.sleepers.delete(sleeper);
          resolve();
        },
      };
      this.sleepers.add(sleeper);
    });
  }

  /** Forgets every rule; held and delayed requests go on at once. */
  reset(): void {
    for (const hold of [...this.openHolds]) hold.release();
    for (const sleeper of [...this.sleepers]) {
      clearTimeout(sleeper.timer);
      sleeper.wake();
    }
    this.failures = [];
    this.delays = [];
    this.hooks = [];
  }
}

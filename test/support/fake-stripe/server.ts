/**
 * A stateful fake of Stripe's REST API (v1) on 127.0.0.1 at API version 2026-10-28.endive, for the
 * official `stripe` SDK configured as `new Stripe(key, { ...fake.sdkOptions, maxNetworkRetries: 0 })`.
 * Form-encoded requests, JSON responses, Stripe's error shape and HTTP statuses, so the SDK raises
 * its real error classes. Routes: see `routes()`. Failure injection: `failNext`, `rateLimitNext`,
 * `delayNext`, `holdNext`, `onRequest`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EVENT_API_VERSION, endpointWants, type FakeEvent } from './events.js';
import {
  API_VERSION_PATTERN,
  invalidRequest,
  makeKey,
  maskKey,
  parseForm,
  randomAlnum,
  signPayload,
  StripeHttpError,
  type FormObject,
  type KeyKind,
  type KeyPermissions,
  type Mode,
} from './http.js';
import { COLLECTION_NAMES, COLLECTIONS } from './objects/index.js';
import type { CollectionName } from './objects/context.js';
import type { SeedCollection, SeedFactory } from './collection.js';
import {
  injectedError,
  Injector,
  NO_KEY_MESSAGE,
  permissionMessage,
  type DelayOptions,
  type FailOptions,
  type Hold,
  type LoggedRequest,
  type RequestMatch,
} from './injection.js';
import * as read from './routes.js';
import { newAccount, type AddAccountOptions, type AddKeyOptions, type FakeAccount } from './accounts.js';
import { AccountStore } from './store.js';
import { deliverEvent, WebhookEndpoints, type Delivery, type DeliveryOptions, type Fetch, type WebhookEndpoint } from './webhooks.js';

export interface FakeStripeOptions {
  /** Defaults to 0: a random free port. */ port?: number;
}
export type { AddAccountOptions, AddKeyOptions, FakeAccount };
interface KeyRecord {
  accountId: string;
  mode: Mode;
  kind: KeyKind;
  permissions: KeyPermissions;
  revoked: boolean;
}
interface Auth {
  key: string;
  record: KeyRecord;
  store: AccountStore;
}
interface Result {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}
type Handler = (auth: Auth, params: FormObject, ids: string[]) => unknown;
interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

const PUBLISHABLE_KEY_MESSAGE =
  'This API call cannot be made with a publishable API key. Please use a secret API key. ' +
  'You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.';

const wallClock = () => Math.floor(Date.now() / 1000);

export class FakeStripe {
  readonly requests: LoggedRequest[] = [];
  private readonly accounts = new Map<string, FakeAccount>();
  private readonly keys = new Map<string, KeyRecord>();
  private readonly stores = new Map<string, AccountStore>();
  private readonly idempotent = new Map<string, { fingerprint: string; result: Result }>();
  private readonly injector = new Injector();
  private frozenAt: number | null = null;
  /** When the fake started; generated periods and expiries are relative to it. */
  readonly startedAt = wallClock();
  /** `created` of the first seeded object of every collection, 30 days before the start. */
  private readonly epoch = this.startedAt - 30 * 86_400;
  private readonly routeTable = this.routes();
  private readonly server = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));

  get port() {
    return (this.server.address() as AddressInfo).port;
  }
  get url() {
    return `http://127.0.0.1:${this.port}`;
  }
  /** Spread into the SDK's config: `new Stripe(key, { ...fake.sdkOptions, maxNetworkRetries: 0 })`. */
  get sdkOptions() {
    return { host: '127.0.0.1', port: this.port, protocol: 'http' as const };
  }

  /** @internal use startFakeStripe */
  async listen(port = 0) {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
  }

  async close(): Promise<void> {
    this.injector.reset();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  // ------------------------------------------------------------------------------ clock

  /** The fake's time in unix seconds: the wall clock, unless set with `setClock`. */
  now(): number {
    return this.frozenAt ?? wallClock();
  }

  /** Stops the clock at `seconds` (changes and events then share that second); null runs it again. */
  setClock(seconds: number | null): void {
    this.frozenAt = seconds;
  }

  advanceClock(seconds: number): void {
    this.frozenAt = this.now() + seconds;
  }

  // ------------------------------------------------------------------------------ accounts, keys, data

  addAccount(options: AddAccountOptions = {}): FakeAccount {
    const account = newAccount(options, this.now());
    if (this.accounts.has(account.id)) throw new Error(`fake stripe: account ${account.id} already exists`);
    this.accounts.set(account.id, account);
    return structuredClone(account);
  }

  addKey(accountId: string, { mode = 'test', kind = 'secret', permissions = 'all' }: AddKeyOptions = {}): string {
    if (!this.accounts.has(accountId)) throw new Error(`fake stripe: no account ${accountId}`);
    const key = makeKey(kind, mode);
    this.keys.set(key, { accountId, mode, kind, permissions: kind === 'restricted' ? permissions : 'all', revoked: false });
    return key;
  }

  /** Rolls a key: later requests with it get 401 `api_key_expired`. */
  revokeKey(key: string): void {
    const record = this.keys.get(key);
    if (!record) throw new Error('fake stripe: unknown key');
    record.revoked = true;
  }

  /**
   * The data of an account in one mode: `create`, `update`, `delete`, `transition`, `emit`,
   * `retrieve`, `events`... (see AccountStore). Changes are seen by the next request, also by a
   * sync that is paging.
   */
  store(accountId: string, mode: Mode = 'test'): AccountStore {
    if (!this.accounts.has(accountId)) throw new Error(`fake stripe: no account ${accountId}`);
    const slot = `${accountId}:${mode}`;
    let store = this.stores.get(slot);
    if (!store) this.stores.set(slot, (store = new AccountStore(accountId, mode, this.epoch, this.startedAt, () => this.now())));
    return store;
  }

  /**
   * Appends `count` lazily generated objects (ids like `prod_…`, `created` one second apart,
   * starting 30 days ago). `factory` may override any field but `id`, `object`, `created` and `livemode`.
   */
  seed(accountId: string, mode: Mode, collection: CollectionName, count: number, factory?: SeedFactory): SeedCollection {
    return this.store(accountId, mode).seed(collection, count, factory);
  }

  /** Stored endpoints (secrets included), oldest first; both modes unless `mode` is given. */
  webhookEndpoints(accountId: string, mode?: Mode): WebhookEndpoint[] {
    const modes: Mode[] = mode ? [mode] : ['test', 'live'];
    return modes.flatMap((m) => this.stores.get(`${accountId}:${m}`)?.endpoints ?? []).map((e) => structuredClone(e));
  }

  /** Events recorded for an account, oldest first (all of them, also those older than the 30 days Stripe lists). */
  events(accountId: string, mode: Mode = 'test'): FakeEvent[] {
    return structuredClone(this.store(accountId, mode).events);
  }

  // ------------------------------------------------------------------------------ webhooks

  /** A `Stripe-Signature` header value for `payload` signed with an endpoint's `whsec_` secret. */
  signWebhook(payload: string, secret: string, timestamp = this.now()): string {
    return signPayload(payload, secret, timestamp);
  }

  /** POSTs `event` to `url`, signed with `secret` like Stripe (`timestamp` defaults to the fake's clock). */
  deliver(event: FakeEvent, options: DeliveryOptions): Promise<Delivery> {
    return deliverEvent(event, { ...options, timestamp: options.timestamp ?? this.now() });
  }

  /** Delivers `event` to every enabled endpoint of its account that wants its type, each signed with its own secret. */
  async deliverToEndpoints(accountId: string, mode: Mode, event: FakeEvent, options: { fetch?: Fetch; timestamp?: number } = {}) {
    const endpoints = this.store(accountId, mode).endpoints;
    const wanted = endpoints.filter((e) => e.status === 'enabled' && endpointWants(e.enabled_events, event.type));
    const deliveries: Delivery[] = [];
    for (const { url, secret } of wanted) deliveries.push(await this.deliver(event, { ...options, url, secret }));
    return deliveries;
  }

  // ------------------------------------------------------------------------------ failure injection

  /**
   * The next `n` requests matching `path`/`method` fail with `status` in Stripe's error shape;
   * `retryAfter` adds a `Retry-After` header, `shouldRetry` a `Stripe-Should-Retry` one.
   */
  failNext(n: number, options: FailOptions): void {
    this.injector.failNext(n, options);
  }

  /**
   * The next `n` matching requests are rate limited: 429 `rate_limit_error` by default, or Stripe's
   * 400 with `code: 'rate_limit'` (which the SDK also raises as StripeRateLimitError).
   */
  rateLimitNext(n: number, { status = 429, ...options }: Omit<FailOptions, 'status' | 'code'> & { status?: 429 | 400 } = {}): void {
    this.failNext(n, { ...options, status, code: 'rate_limit' });
  }

  /** The next `n` matching requests are handled at once but answered `ms` later. */
  delayNext(n: number, ms: number, options: DelayOptions = {}): void {
    this.injector.delayNext(n, ms, options);
  }

  /** Forgets the delays set by `delayNext` (those not used up yet). */
  clearDelays(): void {
    this.injector.clearDelays();
  }

  /**
   * Holds the next `n` matching requests before they are handled, until `release()`: changes made
   * meanwhile are in their responses. `reached` resolves with the first held request.
   */
  holdNext(n: number, match: RequestMatch = {}): Hold {
    return this.injector.holdNext(n, match);
  }

  /**
   * Runs `hook` (awaited) before each of the next `times` (default: every) matching requests is
   * handled, e.g. to change data between the pages of a sync. Returns a function that removes it.
   */
  onRequest(match: RequestMatch & { times?: number }, hook: (request: LoggedRequest) => unknown): () => void {
    return this.injector.onRequest(match, hook);
  }

  /** Forgets everything: accounts, keys, data, endpoints, events, injected failures, hooks and the request log. */
  reset(): void {
    this.injector.reset();
    this.accounts.clear();
    this.keys.clear();
    this.stores.clear();
    this.idempotent.clear();
    this.frozenAt = null;
    this.requests.length = 0;
  }

  // ------------------------------------------------------------------------------ HTTP

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const key = bearerKey(req.headers.authorization);
    const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : null);
    const entry: LoggedRequest = {
      method,
      path: url.pathname,
      query: parseForm(url.search.slice(1)),
      body: method === 'POST' ? parseForm(rawBody) : null,
      keyPrefixOnly: key ? key.slice(0, 12) : null,
      stripeVersion: header('stripe-version'),
      idempotencyKey: header('idempotency-key'),
      status: 0,
      at: Date.now(),
    };
    this.requests.push(entry);

    await this.injector.before(entry);
    let result: Result;
    try {
      const failure = this.injector.failure(entry);
      result = failure ? injectedError(failure, key, this.keys.get(key ?? '')?.accountId) : this.route(entry, key, rawBody);
    } catch (error) {
      result =
        error instanceof StripeHttpError
          ? { status: error.status, body: { error: error.body }, headers: error.headers }
          : { status: 500, body: { error: { type: 'api_error', message: `Fake Stripe failed: ${(error as Error).message}` } } };
    }
    await this.injector.after(entry);
    entry.status = result.status;
    if (res.destroyed) return;
    const json = JSON.stringify(result.body);
    res.writeHead(result.status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(json),
      'Request-Id': `req_${randomAlnum(14)}`,
      'Stripe-Version': entry.stripeVersion ?? EVENT_API_VERSION,
      ...(entry.idempotencyKey ? { 'Idempotency-Key': entry.idempotencyKey } : {}),
      ...result.headers,
    });
    res.end(json);
  }

  private route(entry: LoggedRequest, key: string | null, rawBody: string): Result {
    const { method, path } = entry;
    const segments = path.split('/').filter(Boolean);
    const match = segments[0] === 'v1' ? this.match(method, segments.slice(1)) : undefined;
    if (!match) {
      const help = 'Please see https://stripe.com/docs or we can help at https://support.stripe.com/.';
      throw invalidRequest(`Unrecognized request URL (${method}: ${path}). ${help}`, {}, 404);
    }
    const auth = this.authenticate(key, method, segments[1] ?? '');
    if (entry.stripeVersion !== null && !API_VERSION_PATTERN.test(entry.stripeVersion)) {
      throw invalidRequest(`Invalid Stripe API version: ${entry.stripeVersion}`);
    }
    if (entry.stripeVersion !== null && entry.stripeVersion !== EVENT_API_VERSION) {
      // Stripe would answer in that version's shapes; the fake only knows the pinned one.
      throw invalidRequest(`The fake Stripe speaks API version ${EVENT_API_VERSION} only, not ${entry.stripeVersion}.`);
    }
    const params = method === 'POST' ? (entry.body ?? {}) : entry.query;
    const run = (): Result => ({ status: 200, body: match.route.handler(auth, params, match.ids) });
    if (method !== 'POST' || !entry.idempotencyKey) return run();

    const slot = `${auth.store.accountId}:${auth.store.mode}:${entry.idempotencyKey}`;
    const fingerprint = `${method} ${path} ${rawBody}`;
    const previous = this.idempotent.get(slot);
    if (previous && previous.fingerprint !== fingerprint) {
      throw new StripeHttpError(400, {
        type: 'idempotency_error',
        message:
          'Keys for idempotent requests can only be used with the same parameters they were first used with. ' +
          `Try using a key other than '${entry.idempotencyKey}' if you meant to execute a different request.`,
      });
    }
    if (previous) return { ...previous.result, headers: { 'Idempotent-Replayed': 'true' } };
    let result: Result;
    try {
      result = run();
    } catch (error) {
      if (!(error instanceof StripeHttpError) || error.status >= 500) throw error;
      result = { status: error.status, body: { error: error.body }, headers: error.headers };
    }
    this.idempotent.set(slot, { fingerprint, result });
    return result;
  }

  private match(method: string, segments: string[]) {
    for (const route of this.routeTable) {
      if (route.method !== method || route.segments.length !== segments.length) continue;
      const ids: string[] = [];
      if (route.segments.every((s, i) => (s === ':id' ? (ids.push(segments[i]!), true) : s === segments[i]))) return { route, ids };
    }
    return undefined;
  }

  /** `METHOD /v1/...` routes; a URL matching none is answered like Stripe answers unknown URLs. */
  private routes(): Route[] {
    const now = () => this.now();
    const endpoints = (a: Auth) => new WebhookEndpoints(a.store.endpoints, a.store.mode, now);
    const table: Array<[string, string, Handler]> = [
      ['GET', 'account', (a) => this.accounts.get(a.store.accountId)],
      ['GET', 'accounts/:id', (a, _p, [id]) => this.ownAccount(a, id!)],
      ['GET', 'webhook_endpoints', (a, p) => endpoints(a).list(p)],
      ['POST', 'webhook_endpoints', (a, p) => endpoints(a).create(p)],
      ['GET', 'webhook_endpoints/:id', (a, p, [id]) => endpoints(a).retrieve(id!, p)],
      ['POST', 'webhook_endpoints/:id', (a, p, [id]) => endpoints(a).update(id!, p)],
      ['DELETE', 'webhook_endpoints/:id', (a, _p, [id]) => endpoints(a).delete(id!)],
      ['GET', 'events', (a, p) => read.listEvents(a.store, p, now())],
      ['GET', 'events/:id', (a, p, [id]) => read.retrieveEvent(a.store, id!, p, now())],
      ['GET', 'subscription_items', (a, p) => read.listSubscriptionItems(a.store, p)],
      ['GET', 'invoices/:id/lines', (a, p, [id]) => read.listLines(a.store, 'invoices', id!, p)],
      ['GET', 'credit_notes/:id/lines', (a, p, [id]) => read.listLines(a.store, 'credit_notes', id!, p)],
      ['GET', 'charges/:id/refunds', (a, p, [id]) => read.listChargeRefunds(a.store, id!, p)],
      ['GET', 'customers/:id/payment_methods', (a, p, [id]) => read.listCustomerPaymentMethods(a.store, id!, p)],
      ['GET', 'customers/:id/tax_ids', (a, p, [id]) => read.listCustomerTaxIds(a.store, id!, p)],
      ...COLLECTION_NAMES.flatMap((name): Array<[string, string, Handler]> => [
        ['GET', COLLECTIONS[name].path, (a, p) => read.listCollection(a.store, name, p)],
        ['GET', `${COLLECTIONS[name].path}/:id`, (a, p, [id]) => read.retrieveObject(a.store, name, id!, p)],
      ]),
    ];
    return table.map(([method, path, handler]) => ({ method, segments: path.split('/'), handler }));
  }

  private authenticate(key: string | null, method: string, resource: string): Auth {
    if (!key) throw new StripeHttpError(401, { type: 'invalid_request_error', message: NO_KEY_MESSAGE });
    const record = this.keys.get(key);
    if (!record) throw new StripeHttpError(401, { type: 'invalid_request_error', message: `Invalid API Key provided: ${maskKey(key)}` });
    if (record.revoked) {
      throw new StripeHttpError(401, {
        type: 'invalid_request_error',
        code: 'api_key_expired',
        message: `Expired API Key provided: ${maskKey(key)}. Platform access may have been revoked.`,
      });
    }
    if (record.kind === 'publishable') {
      throw new StripeHttpError(403, { type: 'invalid_request_error', code: 'secret_key_required', message: PUBLISHABLE_KEY_MESSAGE });
    }
    const { permissions } = record;
    if (typeof permissions === 'object') {
      const collection = COLLECTION_NAMES.find((name) => COLLECTIONS[name].path.split('/')[0] === resource);
      if (collection && (method !== 'GET' || !permissions.read.includes(collection))) {
        const area = collection ? COLLECTIONS[collection].object.replace('.', '_') : resource.replace(/s$/, '');
        const permission = `rak_${area}_${method === 'GET' ? 'read' : 'write'}`;
        throw new StripeHttpError(403, { type: 'invalid_request_error', message: permissionMessage(key, record.accountId, permission) });
      }
    }
    if (permissions === 'none' || (permissions === 'read' && method !== 'GET')) {
      const area = resource.startsWith('account') ? 'accounts_kyc_basic' : resource.replace(/s$/, '');
      const permission = `rak_${area}_${method === 'GET' ? 'read' : 'write'}`;
      throw new StripeHttpError(403, { type: 'invalid_request_error', message: permissionMessage(key, record.accountId, permission) });
    }
    return { key, record, store: this.store(record.accountId, record.mode) };
  }

  private ownAccount({ key, store }: Auth, id: string) {
    if (id !== store.accountId) {
      throw new StripeHttpError(403, {
        type: 'invalid_request_error',
        code: 'account_invalid',
        message:
          `The provided key '${maskKey(key)}' does not have access to account '${id}' (or that account does not exist). ` +
          'Application access may have been revoked.',
      });
    }
    return this.accounts.get(id);
  }
}

export async function startFakeStripe(options: FakeStripeOptions = {}): Promise<FakeStripe> {
  const fake = new FakeStripe();
  await fake.listen(options.port);
  return fake;
}

function bearerKey(authorization: string | undefined): string | null {
  const [scheme, value] = (authorization ?? '').trim().split(/\s+/, 2);
  if (!value) return null;
  if (scheme?.toLowerCase() === 'bearer') return value;
  if (scheme?.toLowerCase() === 'basic') return Buffer.from(value, 'base64').toString('utf8').split(':')[0] || null;
  return null;
}

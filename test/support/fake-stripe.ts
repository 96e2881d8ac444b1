/**
 * A stateful fake of Stripe's REST API (v1) on 127.0.0.1, good enough for the official `stripe`
 * SDK configured as `new Stripe(key, { ...fake.sdkOptions, maxNetworkRetries: 0 })`.
 * Speaks form-encoded requests, JSON responses and Stripe's `{ error: { type, code, message } }`
 * shape with Stripe's HTTP statuses, so the SDK raises its real error classes.
 * Routes: GET /v1/account and /v1/accounts/<own id>; /v1/webhook_endpoints (list, create, retrieve, update, delete);
 * GET /v1/<collection>[/:id] for the seeded collections (see `seed`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  API_VERSION_PATTERN, COLLECTIONS, LIST_PARAMS, SeedCollection, StripeHttpError, applyMetadata, booleanParam, invalidRequest, isCollectionName,
  makeKey, maskKey, notFound, paginate, parseForm, randomAlnum, rejectUnknownParams, signPayload, stringArrayParam, stringParam, subscriptionItemsSource, webhookUrlProblem,
  type CollectionName, type FormObject, type KeyKind, type KeyPermissions, type ListSource, type Mode, type SeedFactory, type StripeErrorBody,
} from './fake-stripe-data.js';

export type { CollectionName, KeyKind, KeyPermissions, Mode, SeedCollection, SeedFactory, StripeObject } from './fake-stripe-data.js';
export { generatedItem, generatedItems } from './fake-stripe-data.js';

export interface FakeStripeOptions { /** Defaults to 0: a random free port. */ port?: number }
export interface AddAccountOptions { id?: string; name?: string; country?: string; email?: string; chargesEnabled?: boolean }
export interface AddKeyOptions { mode?: Mode; kind?: KeyKind; /** Restricted keys only; secret keys can do everything. */ permissions?: KeyPermissions }
export interface FailOptions {
  status: number;
  /** Sent as `Stripe-Should-Retry: true|false`; the SDK obeys it. */
  shouldRetry?: boolean;
  path?: RegExp;
  method?: string;
  type?: string;
  code?: string;
  message?: string;
}
export interface DelayOptions { path?: RegExp; method?: string }

export interface FakeAccount {
  id: string;
  object: 'account';
  type: 'standard';
  business_profile: { name: string | null; url: string | null; support_email: string | null };
  settings: { dashboard: { display_name: string | null; timezone: string } };
  charges_enabled: boolean;
  payouts_enabled: boolean;
  details_submitted: boolean;
  country: string;
  default_currency: string;
  email: string;
  created: number;
}

export interface WebhookEndpoint {
  id: string;
  object: 'webhook_endpoint';
  api_version: string | null;
  application: null;
  created: number;
  description: string | null;
  enabled_events: string[];
  livemode: boolean;
  metadata: Record<string, string>;
  status: 'enabled' | 'disabled';
  url: string;
  /** Returned by the API only on creation; always present here for inspection. */
  secret: string;
}

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

interface KeyRecord { accountId: string; mode: Mode; kind: KeyKind; permissions: KeyPermissions; revoked: boolean }
interface Auth { key: string; record: KeyRecord; realm: Realm }
interface Realm { accountId: string; mode: Mode; endpoints: WebhookEndpoint[]; collections: Map<CollectionName, SeedCollection> }
interface Rule { remaining: number; path?: RegExp; method?: string }
interface Result { status: number; body: unknown; headers?: Record<string, string> }
type Handler = (auth: Auth, params: FormObject) => Result;

const MAX_WEBHOOK_ENDPOINTS = 16;
const DEFAULT_API_VERSION = '2026-10-28.endive';
const PUBLISHABLE_KEY_MESSAGE = 'This API call cannot be made with a publishable API key. Please use a secret API key. You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.';
const NO_KEY_MESSAGE = "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.";
const INJECTED: Record<number, StripeErrorBody> = {
  429: { type: 'rate_limit_error', code: 'rate_limit', message: 'Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.' },
  500: { type: 'api_error', message: "Something went wrong on Stripe's end." },
  503: { type: 'api_error', message: 'Stripe is temporarily unavailable. Please try again later.' },
};

const now = () => Math.floor(Date.now() / 1000);
const publicEndpoint = ({ secret: _secret, ...endpoint }: WebhookEndpoint) => endpoint;
const ok = (body: unknown): Result => ({ status: 200, body });

export class FakeStripe {
  readonly requests: LoggedRequest[] = [];
  private readonly accounts = new Map<string, FakeAccount>();
  private readonly keys = new Map<string, KeyRecord>();
  private readonly realms = new Map<string, Realm>();
  private readonly idempotent = new Map<string, { fingerprint: string; result: Result }>();
  private failures: (Rule & FailOptions)[] = [];
  private delays: (Rule & { ms: number })[] = [];
  private readonly sleepers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  /** `created` of the first seeded object of every collection, 30 days ago. */
  private readonly epoch = now() - 30 * 86_400;
  private readonly server = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));

  get port() { return (this.server.address() as AddressInfo).port; }
  get url() { return `http://127.0.0.1:${this.port}`; }
  /** Spread into the SDK's config: `new Stripe(key, { ...fake.sdkOptions, maxNetworkRetries: 0 })`. */
  get sdkOptions() { return { host: '127.0.0.1', port: this.port, protocol: 'http' as const }; }

  /** @internal use startFakeStripe */
  async listen(port = 0) {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
  }

  async close(): Promise<void> {
    for (const s of this.sleepers) { clearTimeout(s.timer); s.wake(); }
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  addAccount({ id, name = 'Fake Stripe Account', country = 'US', email, chargesEnabled = true }: AddAccountOptions = {}): FakeAccount {
    const accountId = id ?? `acct_1${randomAlnum(15)}`;
    if (!accountId.startsWith('acct_')) throw new Error(`fake stripe: account ids start with acct_, got ${accountId}`);
    if (this.accounts.has(accountId)) throw new Error(`fake stripe: account ${accountId} already exists`);
    const account: FakeAccount = {
      id: accountId, object: 'account', type: 'standard',
      business_profile: { name, url: null, support_email: null },
      settings: { dashboard: { display_name: name, timezone: 'Etc/UTC' } },
      charges_enabled: chargesEnabled, payouts_enabled: chargesEnabled, details_submitted: true,
      country, default_currency: country === 'US' ? 'usd' : 'eur', email: email ?? `owner+${accountId}@example.com`, created: now(),
    };
    this.accounts.set(accountId, account);
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

  /** Stored endpoints (secrets included), oldest first; both modes unless `mode` is given. */
  webhookEndpoints(accountId: string, mode?: Mode): WebhookEndpoint[] {
    const modes: Mode[] = mode ? [mode] : ['test', 'live'];
    return modes.flatMap((m) => this.realms.get(`${accountId}:${m}`)?.endpoints ?? []).map((e) => structuredClone(e));
  }

  /**
   * Appends `count` lazily generated objects (ids like `prod_…`, `created` ascending). `factory`
   * may override any field but `id`, `object`, `created` and `livemode`.
   */
  seed(accountId: string, mode: Mode, collection: CollectionName, count: number, factory?: SeedFactory): SeedCollection {
    if (!this.accounts.has(accountId)) throw new Error(`fake stripe: no account ${accountId}`);
    if (!Number.isInteger(count) || count < 0) throw new Error(`fake stripe: cannot seed ${count} objects`);
    const seeded = this.collection(this.realm(accountId, mode), collection);
    seeded.add(count, factory);
    return seeded;
  }

  /** The next `n` requests matching `path`/`method` fail with `status` in Stripe's error shape. */
  failNext(n: number, options: FailOptions): void {
    this.failures.push({ ...options, remaining: n });
  }

  /** The next `n` matching requests are handled at once but answered `ms` later. */
  delayNext(n: number, ms: number, options: DelayOptions = {}): void {
    this.delays.push({ ...options, ms, remaining: n });
  }

  /** Forgets the delays set by `delayNext` (those not used up yet). */
  clearDelays(): void {
    this.delays = [];
  }

  /** A `Stripe-Signature` header value for `payload` signed with an endpoint's `whsec_` secret. */
  signWebhook(payload: string, secret: string, timestamp = now()): string {
    return signPayload(payload, secret, timestamp);
  }

  /** Forgets everything: accounts, keys, endpoints, seeds, injected failures and the request log. */
  reset(): void {
    this.accounts.clear();
    this.keys.clear();
    this.realms.clear();
    this.idempotent.clear();
    this.failures = [];
    this.delays = [];
    this.requests.length = 0;
  }

  // -------------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const key = bearerKey(req.headers.authorization);
    const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : null);
    const entry: LoggedRequest = {
      method, path: url.pathname, query: parseForm(url.search.slice(1)), body: method === 'POST' ? parseForm(rawBody) : null,
      keyPrefixOnly: key ? key.slice(0, 12) : null, stripeVersion: header('stripe-version'), idempotencyKey: header('idempotency-key'), status: 0, at: Date.now(),
    };
    this.requests.push(entry);

    let result: Result;
    try {
      const failure = this.take(this.failures, entry);
      result = failure ? this.injected(failure, key) : this.route(entry, key, rawBody);
    } catch (error) {
      result = error instanceof StripeHttpError
        ? { status: error.status, body: { error: error.body }, headers: error.headers }
        : { status: 500, body: { error: { type: 'api_error', message: `Fake Stripe failed: ${(error as Error).message}` } } };
    }
    const delay = this.take(this.delays, entry);
    if (delay) await this.sleep(delay.ms);
    entry.status = result.status;
    if (res.destroyed) return;
    const json = JSON.stringify(result.body);
    res.writeHead(result.status, {
      'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json),
      'Request-Id': `req_${randomAlnum(14)}`, 'Stripe-Version': entry.stripeVersion ?? DEFAULT_API_VERSION,
      ...(entry.idempotencyKey ? { 'Idempotency-Key': entry.idempotencyKey } : {}), ...result.headers,
    });
    res.end(json);
  }

  private take<T extends Rule>(rules: T[], { method, path }: LoggedRequest): T | undefined {
    const rule = rules.find((r) => {
      if (r.path) r.path.lastIndex = 0;
      return r.remaining > 0 && (!r.method || r.method.toUpperCase() === method) && (!r.path || r.path.test(path));
    });
    if (rule && --rule.remaining === 0) rules.splice(rules.indexOf(rule), 1);
    return rule;
  }

  private sleep(ms: number) {
    return new Promise<void>((resolve) => {
      const sleeper = { timer: setTimeout(() => sleeper.wake(), ms), wake: () => { this.sleepers.delete(sleeper); resolve(); } };
      this.sleepers.add(sleeper);
    });
  }

  private injected({ status, shouldRetry, type, code, message }: FailOptions, key: string | null): Result {
    const record = key ? this.keys.get(key) : undefined;
    const base = status === 401
      ? { type: 'invalid_request_error', message: key ? `Invalid API Key provided: ${maskKey(key)}` : NO_KEY_MESSAGE }
      : status === 403
        ? { type: 'invalid_request_error', message: permissionMessage(key ?? 'rk_test_unknown', record?.accountId ?? 'acct_unknown', 'rak_all') }
        : INJECTED[status] ?? { type: status >= 500 ? 'api_error' : 'invalid_request_error', message: `Injected failure (HTTP ${status}).` };
    const error = { ...base, ...(type ? { type } : {}), ...(code ? { code } : {}), ...(message ? { message } : {}) };
    return { status, body: { error }, headers: shouldRetry === undefined ? {} : { 'Stripe-Should-Retry': String(shouldRetry) } };
  }

  private route(entry: LoggedRequest, key: string | null, rawBody: string): Result {
    const { method, path } = entry;
    const [v1, resource = '', id, ...rest] = path.split('/').filter(Boolean);
    const handler = v1 === 'v1' && rest.length === 0 ? this.handlerFor(method, resource, id) : undefined;
    if (!handler) {
      throw invalidRequest(`Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`, {}, 404);
    }
    const auth = this.authenticate(key, method, resource);
    if (entry.stripeVersion !== null && !API_VERSION_PATTERN.test(entry.stripeVersion)) {
      throw invalidRequest(`Invalid Stripe API version: ${entry.stripeVersion}`);
    }
    const params = method === 'POST' ? (entry.body ?? {}) : entry.query;
    if (method !== 'POST' || !entry.idempotencyKey) return handler(auth, params);

    const slot = `${auth.realm.accountId}:${auth.realm.mode}:${entry.idempotencyKey}`;
    const fingerprint = `${method} ${path} ${rawBody}`;
    const previous = this.idempotent.get(slot);
    if (previous && previous.fingerprint !== fingerprint) {
      throw new StripeHttpError(400, { type: 'idempotency_error', message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${entry.idempotencyKey}' if you meant to execute a different request.` });
    }
    if (previous) return { ...previous.result, headers: { 'Idempotent-Replayed': 'true' } };
    let result: Result;
    try {
      result = handler(auth, params);
    } catch (error) {
      if (!(error instanceof StripeHttpError) || error.status >= 500) throw error;
      result = { status: error.status, body: { error: error.body }, headers: error.headers };
    }
    this.idempotent.set(slot, { fingerprint, result });
    return result;
  }

  /** The handler for `METHOD /v1/<resource>[/<id>]`, or undefined for a URL Stripe would not recognise. */
  private handlerFor(method: string, resource: string, id: string | undefined): Handler | undefined {
    const one = id ?? '';
    const routes: Record<string, Handler> = {
      'GET account': (a) => ok(this.accounts.get(a.realm.accountId)),
      'GET accounts/:id': (a) => ok(this.ownAccount(a, one)),
      'GET webhook_endpoints': (a, p) => ok(this.listEndpoints(a, p)),
      'POST webhook_endpoints': (a, p) => ok(this.createEndpoint(a, p)),
      'GET webhook_endpoints/:id': (a, p) => ok(this.retrieveEndpoint(a, one, p)),
      'POST webhook_endpoints/:id': (a, p) => ok(this.updateEndpoint(a, one, p)),
      'DELETE webhook_endpoints/:id': (a) => ok(this.deleteEndpoint(a, one)),
      'GET subscription_items': (a, p) => ok(this.listSubscriptionItems(a, p)),
    };
    if (isCollectionName(resource)) {
      routes[`GET ${resource}`] = (a, p) => ok(this.listCollection(a, resource, p));
      routes[`GET ${resource}/:id`] = (a) => ok(this.retrieveFromCollection(a, resource, one));
    }
    const route = `${method} ${resource}${id === undefined ? '' : '/:id'}`;
    return Object.hasOwn(routes, route) ? routes[route] : undefined;
  }

  private authenticate(key: string | null, method: string, resource: string): Auth {
    if (!key) throw new StripeHttpError(401, { type: 'invalid_request_error', message: NO_KEY_MESSAGE });
    const record = this.keys.get(key);
    if (!record) throw new StripeHttpError(401, { type: 'invalid_request_error', message: `Invalid API Key provided: ${maskKey(key)}` });
    if (record.revoked) {
      throw new StripeHttpError(401, { type: 'invalid_request_error', code: 'api_key_expired', message: `Expired API Key provided: ${maskKey(key)}. Platform access may have been revoked.` });
    }
    if (record.kind === 'publishable') throw new StripeHttpError(403, { type: 'invalid_request_error', code: 'secret_key_required', message: PUBLISHABLE_KEY_MESSAGE });
    if (record.permissions === 'none' || (record.permissions === 'read' && method !== 'GET')) {
      const permission = `rak_${resource.startsWith('account') ? 'accounts_kyc_basic' : resource.replace(/s$/, '')}_${method === 'GET' ? 'read' : 'write'}`;
      throw new StripeHttpError(403, { type: 'invalid_request_error', message: permissionMessage(key, record.accountId, permission) });
    }
    return { key, record, realm: this.realm(record.accountId, record.mode) };
  }

  private ownAccount({ key, realm }: Auth, id: string) {
    if (id !== realm.accountId) {
      throw new StripeHttpError(403, { type: 'invalid_request_error', code: 'account_invalid', message: `The provided key '${maskKey(key)}' does not have access to account '${id}' (or that account does not exist). Application access may have been revoked.` });
    }
    return this.accounts.get(id);
  }

  private realm(accountId: string, mode: Mode): Realm {
    const slot = `${accountId}:${mode}`;
    let realm = this.realms.get(slot);
    if (!realm) this.realms.set(slot, (realm = { accountId, mode, endpoints: [], collections: new Map() }));
    return realm;
  }

  private collection(realm: Realm, name: CollectionName): SeedCollection {
    let seeded = realm.collections.get(name);
    if (!seeded) {
      const ref = (other: CollectionName, index: number) => {
        const target = this.collection(realm, other);
        return target.idAt(target.count > 0 ? index % target.count : index);
      };
      realm.collections.set(name, (seeded = new SeedCollection(name, realm.mode === 'live', this.epoch, ref)));
    }
    return seeded;
  }

  private listCollection({ realm }: Auth, name: CollectionName, query: FormObject) {
    rejectUnknownParams(query, [...LIST_PARAMS, 'created', ...COLLECTIONS[name].filters]);
    const seeded = this.collection(realm, name);
    return paginate(seeded, query, `/v1/${name}`, seeded.createdRange(query.created));
  }

  private listSubscriptionItems(auth: Auth, query: FormObject) {
    rejectUnknownParams(query, [...LIST_PARAMS, 'subscription']);
    const subscriptionId = stringParam(query, 'subscription');
    if (!subscriptionId) throw invalidRequest('Missing required param: subscription.', { param: 'subscription' });
    const subscription = this.retrieveFromCollection(auth, 'subscriptions', subscriptionId);
    return paginate(subscriptionItemsSource(subscription), query, '/v1/subscription_items');
  }

  private retrieveFromCollection({ realm }: Auth, name: CollectionName, id: string) {
    const seeded = this.collection(realm, name);
    const index = seeded.indexOf(id);
    if (index < 0) throw notFound(seeded.noun, id);
    return seeded.at(index);
  }

  private findEndpoint(realm: Realm, id: string): WebhookEndpoint {
    const endpoint = realm.endpoints.find((e) => e.id === id);
    if (!endpoint) throw notFound('webhook endpoint', id);
    return endpoint;
  }

  private listEndpoints({ realm }: Auth, query: FormObject) {
    rejectUnknownParams(query, LIST_PARAMS);
    const source: ListSource = {
      noun: 'webhook endpoint', count: realm.endpoints.length,
      at: (i) => publicEndpoint(realm.endpoints[i]!), indexOf: (id) => realm.endpoints.findIndex((e) => e.id === id),
    };
    return paginate(source, query, '/v1/webhook_endpoints');
  }

  private retrieveEndpoint({ realm }: Auth, id: string, query: FormObject) {
    rejectUnknownParams(query, ['expand']);
    return publicEndpoint(this.findEndpoint(realm, id));
  }

  private createEndpoint({ realm }: Auth, params: FormObject): WebhookEndpoint {
    rejectUnknownParams(params, ['url', 'enabled_events', 'api_version', 'metadata', 'description', 'connect', 'expand']);
    const url = stringParam(params, 'url');
    if (!url) throw invalidRequest('Missing required param: url.', { param: 'url', code: 'parameter_missing' });
    const events = stringArrayParam(params, 'enabled_events');
    if (!events?.length) throw invalidRequest('Missing required param: enabled_events.', { param: 'enabled_events', code: 'parameter_missing' });
    const apiVersion = stringParam(params, 'api_version');
    if (apiVersion !== undefined && !API_VERSION_PATTERN.test(apiVersion)) throw invalidRequest(`Invalid API version: ${apiVersion}`, { param: 'api_version' });
    const endpoint: WebhookEndpoint = {
      id: `we_1${randomAlnum(23)}`, object: 'webhook_endpoint', api_version: apiVersion ?? null, application: null, created: now(),
      description: stringParam(params, 'description') || null, enabled_events: checkEvents(events), livemode: realm.mode === 'live',
      metadata: applyMetadata({}, params.metadata), status: 'enabled', url: checkUrl(url), secret: `whsec_${randomAlnum(32)}`,
    };
    if (realm.endpoints.length >= MAX_WEBHOOK_ENDPOINTS) {
      throw invalidRequest(`You have reached the maximum of ${MAX_WEBHOOK_ENDPOINTS} ${realm.mode} webhook endpoints.`, { param: 'url' });
    }
    realm.endpoints.push(endpoint);
    return structuredClone(endpoint);
  }

  private updateEndpoint({ realm }: Auth, id: string, params: FormObject) {
    rejectUnknownParams(params, ['url', 'enabled_events', 'metadata', 'description', 'disabled', 'expand']);
    const endpoint = this.findEndpoint(realm, id);
    const url = stringParam(params, 'url');
    const events = stringArrayParam(params, 'enabled_events');
    const description = stringParam(params, 'description');
    const disabled = booleanParam(params, 'disabled');
    if (events?.length === 0) throw invalidRequest('Invalid array', { param: 'enabled_events' });
    Object.assign(endpoint, {
      ...(url !== undefined ? { url: checkUrl(url) } : {}),
      ...(events ? { enabled_events: checkEvents(events) } : {}),
      ...(description !== undefined ? { description: description || null } : {}),
      ...(disabled !== undefined ? { status: disabled ? 'disabled' : 'enabled' } : {}),
      metadata: applyMetadata(endpoint.metadata, params.metadata),
    });
    return publicEndpoint(endpoint);
  }

  private deleteEndpoint({ realm }: Auth, id: string) {
    const endpoint = this.findEndpoint(realm, id);
    realm.endpoints.splice(realm.endpoints.indexOf(endpoint), 1);
    return { id, object: 'webhook_endpoint', deleted: true };
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

const permissionMessage = (key: string, accountId: string, permission: string) =>
  `The provided key '${maskKey(key, 6)}' does not have the required permissions for this endpoint on account '${accountId}'. Having the '${permission}' permission would allow this request to continue.`;

function checkUrl(url: string): string {
  const problem = webhookUrlProblem(url);
  if (problem) throw invalidRequest(problem, { param: 'url', code: 'url_invalid' });
  return url;
}

function checkEvents(events: string[]): string[] {
  events.forEach((event, i) => {
    if (event !== '*' && !/^[a-z0-9_]+(?:\.[a-z0-9_]+)+$/.test(event)) {
      throw invalidRequest(`Invalid enabled_events[${i}]: must be '*' or a known event type such as 'charge.succeeded', got '${event}'`, { param: `enabled_events[${i}]` });
    }
  });
  return [...new Set(events)];
}

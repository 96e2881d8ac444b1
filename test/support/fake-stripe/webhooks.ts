/**
 * Webhook endpoints (`/v1/webhook_endpoints`) and the delivery of events to them, signed like
 * Stripe: `Stripe-Signature: t=<unix seconds>,v1=<HMAC-SHA256 of "<t>.<body>" with the whsec_ secret>`.
 */
import type { FakeEvent } from './events.js';
import {
  API_VERSION_PATTERN,
  applyMetadata,
  booleanParam,
  invalidRequest,
  notFound,
  randomAlnum,
  rejectUnknownParams,
  signPayload,
  stringArrayParam,
  stringParam,
  webhookUrlProblem,
  type FormObject,
  type Mode,
} from './http.js';
import { paginate } from './lists.js';

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

const MAX_WEBHOOK_ENDPOINTS = 16;
const publicEndpoint = ({ secret: _secret, ...endpoint }: WebhookEndpoint) => endpoint;

function checkUrl(url: string): string {
  const problem = webhookUrlProblem(url);
  if (problem) throw invalidRequest(problem, { param: 'url', code: 'url_invalid' });
  return url;
}

function checkEvents(events: string[]): string[] {
  events.forEach((event, i) => {
    if (event !== '*' && !/^[a-z0-9_]+(?:\.[a-z0-9_]+)+$/.test(event)) {
      throw invalidRequest(`Invalid enabled_events[${i}]: must be '*' or a known event type such as 'charge.succeeded', got '${event}'`, {
        param: `enabled_events[${i}]`,
      });
    }
  });
  return [...new Set(events)];
}

/** The webhook endpoint routes of one account and mode. */
export class WebhookEndpoints {
  constructor(
    private readonly endpoints: WebhookEndpoint[],
    private readonly mode: Mode,
    private readonly clock: () => number,
  ) {}

  list(query: FormObject) {
    rejectUnknownParams(query, ['limit', 'starting_after', 'ending_before', 'expand']);
    const source = {
      noun: 'webhook endpoint',
      count: this.endpoints.length,
      live: (i: number) => publicEndpoint(this.endpoints[i]!),
      indexOf: (id: string) => this.endpoints.findIndex((e) => e.id === id),
    };
    return paginate(source, query, '/v1/webhook_endpoints');
  }

  retrieve(id: string, query: FormObject) {
    rejectUnknownParams(query, ['expand']);
    return publicEndpoint(this.find(id));
  }

  create(params: FormObject): WebhookEndpoint {
    rejectUnknownParams(params, ['url', 'enabled_events', 'api_version', 'metadata', 'description', 'connect', 'expand']);
    const url = stringParam(params, 'url');
    if (!url) throw invalidRequest('Missing required param: url.', { param: 'url', code: 'parameter_missing' });
    const events = stringArrayParam(params, 'enabled_events');
    if (!events?.length) {
      throw invalidRequest('Missing required param: enabled_events.', { param: 'enabled_events', code: 'parameter_missing' });
    }
    const apiVersion = stringParam(params, 'api_version');
    if (apiVersion !== undefined && !API_VERSION_PATTERN.test(apiVersion)) {
      throw invalidRequest(`Invalid API version: ${apiVersion}`, { param: 'api_version' });
    }
    const endpoint: WebhookEndpoint = {
      id: `we_1${randomAlnum(23)}`,
      object: 'webhook_endpoint',
      api_version: apiVersion ?? null,
      application: null,
      created: this.clock(),
      description: stringParam(params, 'description') || null,
      enabled_events: checkEvents(events),
      livemode: this.mode === 'live',
      metadata: applyMetadata({}, params.metadata),
      status: 'enabled',
      url: checkUrl(url),
      secret: `whsec_${randomAlnum(32)}`,
    };
    if (this.endpoints.length >= MAX_WEBHOOK_ENDPOINTS) {
      throw invalidRequest(`You have reached the maximum of ${MAX_WEBHOOK_ENDPOINTS} ${this.mode} webhook endpoints.`, { param: 'url' });
    }
    this.endpoints.push(endpoint);
    return structuredClone(endpoint);
  }

  update(id: string, params: FormObject) {
    rejectUnknownParams(params, ['url', 'enabled_events', 'metadata', 'description', 'disabled', 'expand']);
    const endpoint = this.find(id);
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

  delete(id: string) {
    const endpoint = this.find(id);
    this.endpoints.splice(this.endpoints.indexOf(endpoint), 1);
    return { id, object: 'webhook_endpoint', deleted: true };
  }

  private find(id: string): WebhookEndpoint {
    const endpoint = this.endpoints.find((e) => e.id === id);
    if (!endpoint) throw notFound('webhook endpoint', id);
    return endpoint;
  }
}

/** `fetch`-like: the global one, or an app's in-process handler (`(url, init) => app.yoga.fetch(url, init)`). */
export type Fetch = (url: string, init: { method: string; headers: Record<string, string>; body: string }) => Promise<Response>;

export interface DeliveryOptions {
  url: string;
  secret: string;
  /** Defaults to the global fetch. */
  fetch?: Fetch;
  /** Signature time in unix seconds (default: now); an old one makes the receiver see a replay. */
  timestamp?: number;
}

export interface Delivery {
  url: string;
  status: number;
  body: string;
  payload: string;
  signature: string;
}

/** POSTs an event as Stripe does: its JSON, `Stripe-Signature`, Stripe's user agent. */
export async function deliverEvent(event: FakeEvent, { url, secret, fetch: send = fetch, timestamp }: DeliveryOptions): Promise<Delivery> {
  const payload = JSON.stringify(event, null, 2);
  const signature = signPayload(payload, secret, timestamp ?? Math.floor(Date.now() / 1000));
  const response = await send(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'stripe-signature': signature,
      'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      'cache-control': 'no-cache',
      accept: '*/*; q=0.5, application/xml',
    },
    body: payload,
  });
  return { url, status: response.status, body: await response.text(), payload, signature };
}

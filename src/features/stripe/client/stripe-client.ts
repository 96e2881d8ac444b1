import Stripe from 'stripe';
import type { Config } from '../../../config.js';
import { inSpan, SpanKind, tracingEnabled } from '../../../tracing.js';

/** The API version Coffer is written against; webhook endpoints are pinned to it too. */
export const STRIPE_API_VERSION = '2026-10-28.endive' as const;

/**
 * A client for one key. STRIPE_API_BASE points the official SDK at an emulator (the tests'
 * fake Stripe) through its host/port/protocol options.
 */
export function createStripeClient(
  key: string,
  config: Pick<Config, 'stripeApiBase'>,
  options: { maxNetworkRetries?: number; timeoutMs?: number } = {},
): Stripe {
  const base = config.stripeApiBase ? new URL(config.stripeApiBase) : null;
  return new Stripe(key, {
    apiVersion: STRIPE_API_VERSION,
    maxNetworkRetries: options.maxNetworkRetries ?? 1,
    timeout: options.timeoutMs ?? 10_000,
    telemetry: false,
    appInfo: { name: 'Coffer' },
    ...(tracingEnabled() ? { httpClient: tracedHttpClient() } : {}),
    ...(base
      ? {
          host: base.hostname,
          port: Number(base.port || (base.protocol === 'https:' ? 443 : 80)),
          protocol: base.protocol === 'https:' ? 'https' : 'http',
        }
      : {}),
  });
}

/**
 * The SDK's own HTTP client, with one CLIENT span per request: method, host, port, the path
 * without its query and the status. Never headers (the key travels there) nor bodies.
 */
function tracedHttpClient(): ReturnType<typeof Stripe.createNodeHttpClient> {
  const inner = Stripe.createNodeHttpClient();
  return {
    getClientName: () => inner.getClientName(),
    makeRequest: (host, port, path, method, headers, requestData, protocol, timeout) => {
      const route = path.split('?', 1)[0]!;
      return inSpan(
        `stripe ${method} ${route}`,
        {
          kind: SpanKind.CLIENT,
          attributes: { 'http.request.method': method, 'server.address': host, 'server.port': Number(port), 'url.path': route },
        },
        async (span) => {
          const response = await inner.makeRequest(host, port, path, method, headers, requestData, protocol, timeout);
          span.setAttribute('http.response.status_code', response.getStatusCode());
          return response;
        },
      );
    },
  };
}

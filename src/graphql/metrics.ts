import { createHash, timingSafeEqual } from 'node:crypto';
import { getOperationAST, type ExecutionArgs } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { isCofferError } from '../errors.js';

/**
 * Prometheus metrics (METRICS=on). Label values are never user input, except an operation name
 * that looks like one (anything else is "other"), so a client cannot grow the series count.
 */
export interface Metrics {
  registry: Registry;
  graphqlRequests: Counter<'operation' | 'outcome'>;
  graphqlDuration: Histogram<'operation' | 'outcome'>;
  authFailures: Counter<'code'>;
  webhookEvents: Counter<'status'>;
}

const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const WEBHOOK_PATH = /^\/webhooks\/stripe\//;

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    graphqlRequests: new Counter({
      name: 'coffer_graphql_requests_total',
      help: 'GraphQL operations answered, by operation name and outcome (OK or the first error code).',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    graphqlDuration: new Histogram({
      name: 'coffer_graphql_request_duration_seconds',
      help: 'Time from the GraphQL parameters to the processed result.',
      labelNames: ['operation', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'coffer_auth_failures_total',
      help: 'Credentials refused (UNAUTHENTICATED) or throttled (RATE_LIMITED).',
      labelNames: ['code'],
      registers: [registry],
    }),
    webhookEvents: new Counter({
      name: 'coffer_stripe_webhook_requests_total',
      help: 'Stripe webhook deliveries, by the HTTP status Coffer answered.',
      labelNames: ['status'],
      registers: [registry],
    }),
  };
}

/** Counts a credential refusal; other errors (an outage) are not authentication failures. */
export function countAuthFailure(metrics: Metrics | undefined, error: unknown): void {
  if (metrics && isCofferError(error) && (error.code === 'UNAUTHENTICATED' || error.code === 'RATE_LIMITED')) {
    metrics.authFailures.inc({ code: error.code });
  }
}

const label = (value: unknown) => (typeof value === 'string' && OPERATION_NAME.test(value) ? value : 'other');

function digest(value: string) {
  return createHash('sha256').update(value).digest();
}

/** Serves GET /metrics (behind `Bearer <token>` when one is set) and records every GraphQL answer. */
export function useMetrics(metrics: Metrics, token: string | undefined): Plugin {
  const started = new WeakMap<Request, { at: number; operation: string | undefined }>();
  const expected = token === undefined ? undefined : digest(`Bearer ${token}`);
  return {
    async onRequest(payload) {
      const { request, url } = payload;
      if (url.pathname !== '/metrics') return;
      if (expected && !timingSafeEqual(digest(request.headers.get('authorization') ?? ''), expected)) {
        return payload.endResponse(new Response('Unauthorized\n', { status: 401, headers: { 'www-authenticate': 'Bearer' } }));
      }
      if (request.method !== 'GET') return payload.endResponse(new Response('GET only\n', { status: 405, headers: { allow: 'GET' } }));
      payload.endResponse(new Response(await metrics.registry.metrics(), { headers: { 'content-type': metrics.registry.contentType } }));
    },
    onParams({ request, params }) {
      started.set(request, { at: performance.now(), operation: params.operationName ?? undefined });
    },
    onExecute({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      const state = request && started.get(request);
      if (state && state.operation === undefined) state.operation = operationNameOf(args);
    },
    onResultProcess({ request, result }) {
      const state = started.get(request);
      if (!state) return;
      started.delete(request);
      const first = Array.isArray(result) ? result[0] : result;
      const errors = first && 'errors' in first ? first.errors : undefined;
      const code = errors?.length ? (errors[0]?.extensions?.code ?? 'ERROR') : 'OK';
      const labels = { operation: label(state.operation), outcome: label(code) };
      metrics.graphqlRequests.inc(labels);
      metrics.graphqlDuration.observe(labels, (performance.now() - state.at) / 1000);
    },
    onResponse({ request, response }) {
      // The cheap test first: most responses are not webhooks.
      if (request.url.includes('/webhooks/stripe/') && WEBHOOK_PATH.test(new URL(request.url).pathname))
        metrics.webhookEvents.inc({ status: String(response.status) });
    },
  };
}

function operationNameOf(args: ExecutionArgs): string | undefined {
  return getOperationAST(args.document, args.operationName)?.name?.value;
}

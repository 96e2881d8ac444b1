import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every Prometheus series Coffer exports, counted whether or not METRICS is on (an increment costs
 * about what a property write does) and served at /metrics when it is. One registry per process:
 * each replica exposes its own counts, and Prometheus sums them. Label values always come from
 * fixed sets (codes, statuses, object types, schema field names), never from input, so a client
 * cannot grow the number of series; names and values of secrets are never labels.
 */
export const registry = new Registry();

export const graphqlRequests = new Counter({
  name: 'coffer_graphql_requests_total',
  help: 'GraphQL operations answered, by operation name and outcome (OK or the first error code).',
  labelNames: ['operation', 'outcome'] as const,
  registers: [registry],
});

export const graphqlDuration = new Histogram({
  name: 'coffer_graphql_request_duration_seconds',
  help: 'Time from the GraphQL parameters to the processed result.',
  labelNames: ['operation', 'outcome'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const authFailures = new Counter({
  name: 'coffer_auth_failures_total',
  help: 'Credentials refused (UNAUTHENTICATED) or throttled (RATE_LIMITED).',
  labelNames: ['code'] as const,
  registers: [registry],
});

export const subscriptionsActive = new Gauge({
  name: 'coffer_graphql_subscriptions_active',
  help: 'GraphQL subscriptions streaming now (SSE and WebSocket), by root field.',
  labelNames: ['field'] as const,
  registers: [registry],
});

export const secretReveals = new Counter({
  name: 'coffer_secret_reveals_total',
  help: 'Secret values revealed (counts only): one value (single), values of a bulk read (bulk), referenced values expanded (reference).',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const webhookRequests = new Counter({
  name: 'coffer_stripe_webhook_requests_total',
  help: 'Stripe webhook deliveries, by the HTTP status Coffer answered.',
  labelNames: ['status'] as const,
  registers: [registry],
});

export const webhookEvents = new Counter({
  name: 'coffer_stripe_webhook_events_total',
  help: 'Stripe webhook deliveries by outcome: applied, stale, duplicate, recorded, rejected, unavailable, or why refused.',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const syncRuns = new Counter({
  name: 'coffer_stripe_sync_runs_total',
  help: 'Stripe sync runs ended, by final status.',
  labelNames: ['status'] as const,
  registers: [registry],
});

export const syncObjects = new Counter({
  name: 'coffer_stripe_sync_objects_total',
  help: 'Objects a Stripe sync wrote, by object type and how: listed (stored from a page), verification_inserted, marked_deleted.',
  labelNames: ['object_type', 'outcome'] as const,
  registers: [registry],
});

export const notificationDeliveries = new Counter({
  name: 'coffer_notification_deliveries_total',
  help: 'Secret-change notification attempts, by outcome (delivered, retry, failed).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const secretChangeEvents = new Counter({
  name: 'coffer_secret_change_events_total',
  help: 'Secret change events recorded, by kind.',
  labelNames: ['kind'] as const,
  registers: [registry],
});

/** What a database reports about its connections (PGlite: one connection and the statements queued behind it). */
export interface PoolStats {
  total: number;
  idle?: number;
  waiting?: number;
}

let poolStats: (() => PoolStats) | null = null;

new Gauge({
  name: 'coffer_db_pool_connections',
  help: 'Database connections: total and idle, and statements waiting for one (PGlite: its one connection and its queue).',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    if (!poolStats) return;
    const stats = poolStats();
    this.set({ state: 'total' }, stats.total);
    if (stats.idle !== undefined) this.set({ state: 'idle' }, stats.idle);
    if (stats.waiting !== undefined) this.set({ state: 'waiting' }, stats.waiting);
  },
});

/** The database whose pool /metrics reports (the process's one; the last opened wins). */
export function observePool(stats: () => PoolStats): void {
  poolStats = stats;
}

let processMetrics = false;

/** CPU, memory, event-loop lag, file descriptors: collected only once metrics are served. */
export function collectProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: registry });
}

/**
 * Worker thread for the progress fan-out benchmark: opens `count` real SSE connections to
 * Coffer's `stripeSyncProgress` subscription and timestamps every event as its bytes arrive.
 * Runs beside the server's thread so that parsing a thousand streams is not charged to it.
 *
 * Events carry their publish time in `message` (`bench:<phase>:<ms>`, performance.timeOrigin +
 * performance.now() of the publishing thread). Messages to the parent: `{ type: 'connected' }`
 * once every stream answered 200, `{ type: 'ready' }` once every stream received a warm-up event,
 * and the results when told `finish`.
 */
import { Agent, request, type ClientRequest } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { sseParser, type SseMessage } from '../support/sse.js';

export interface SubscriberOptions {
  host: string;
  port: number;
  apiKey: string;
  projectId: string;
  count: number;
  /** Which subscription: Stripe sync progress (default), or the project's `secretChanges`. */
  stream?: 'sync' | 'secrets';
}

export interface SubscriberResults {
  type: 'results';
  /** Publish-to-receive latency of every measured event at every subscriber, in ms. */
  latencies: Float64Array;
  /** Measured events each subscriber received. */
  perSubscriber: number[];
  /** Per measured event: publish to arrival at the last subscriber, in ms. */
  perEventLast: number[];
  errors: string[];
  /** `secrets` streams: [sequence, arrival ms] of every measured change at every subscriber (the writer knows when it wrote). */
  arrivals: Float64Array;
}

const QUERY =
  'subscription Bench($projectId: ID!, $environment: StripeEnvironment!) { stripeSyncProgress(projectId: $projectId, environment: $environment) { runId sequence kind objects message } }';

const SECRETS_QUERY = 'subscription Bench($projectId: ID!) { secretChanges(projectId: $projectId) { sequence kind name version } }';

const { host, port, apiKey, projectId, count, stream = 'sync' } = workerData as SubscriberOptions;
const arrivals: number[] = [];
const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
const now = () => performance.timeOrigin + performance.now();
const latencies: number[] = [];
const perSubscriber = new Array<number>(count).fill(0);
const perEventLast = new Map<number, number>();
const warmed = new Set<number>();
const errors: string[] = [];
const requests: ClientRequest[] = [];
let connected = 0;

function warm(index: number) {
  if (warmed.size < count && !warmed.has(index)) {
    warmed.add(index);
    if (warmed.size === count) parentPort!.postMessage({ type: 'ready' });
  }
}

/** Secret changes carry no send time: names say the phase (BENCH_WARM_*: attaching), arrivals are timed here. */
function handleSecretChange(index: number, message: SseMessage, at: number) {
  const payload = JSON.parse(message.data) as { data?: { secretChanges?: { sequence: number; name: string } }; errors?: unknown[] };
  if (payload.errors) {
    errors.push(JSON.stringify(payload.errors).slice(0, 300));
    return;
  }
  const change = payload.data?.secretChanges;
  if (!change) return;
  if (change.name.startsWith('BENCH_WARM')) return warm(index);
  arrivals.push(change.sequence, at);
  perSubscriber[index]! += 1;
}

function handleMessage(index: number, message: SseMessage, at: number) {
  if (message.event !== 'next' || !message.data) return; // `event: complete` (keep-alive comments are no messages)
  if (stream === 'secrets') return handleSecretChange(index, message, at);
  const payload = JSON.parse(message.data) as {
    data?: { stripeSyncProgress?: { sequence: number; message: string | null } };
    errors?: unknown[];
  };
  if (payload.errors) {
    errors.push(JSON.stringify(payload.errors).slice(0, 300));
    return;
  }
  const [tag, phase, sentAt] = (payload.data?.stripeSyncProgress?.message ?? '').split(':');
  if (tag !== 'bench') return;
  if (phase === 'warm') {
    if (warmed.size < count && !warmed.has(index)) {
      warmed.add(index);
      if (warmed.size === count) parentPort!.postMessage({ type: 'ready' });
    }
    return;
  }
  const latency = at - Number(sentAt);
  latencies.push(latency);
  perSubscriber[index]! += 1;
  const sequence = payload.data!.stripeSyncProgress!.sequence;
  perEventLast.set(sequence, Math.max(perEventLast.get(sequence) ?? 0, latency));
}

function open(index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({
      host,
      port,
      path: '/graphql',
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-api-key': apiKey },
    });
    requests.push(req);
    req.on('error', (error) => {
      errors.push(`subscriber ${index}: ${error.message}`);
      reject(error);
    });
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`subscriber ${index}: HTTP ${res.statusCode}`));
        return;
      }
      res.setEncoding('utf8');
      // Every message is stamped with the arrival of the read that completed it.
      let at = 0;
      const parser = sseParser((message) => handleMessage(index, message, at));
      res.on('data', (chunk: string) => {
        at = now();
        parser.feed(chunk);
      });
      res.on('error', () => undefined);
      resolve();
    });
    req.end(
      JSON.stringify(
        stream === 'secrets'
          ? { query: SECRETS_QUERY, variables: { projectId } }
          : { query: QUERY, variables: { projectId, environment: 'TEST' } },
      ),
    );
  });
}

parentPort!.on('message', (message: { type: 'finish' }) => {
  if (message.type !== 'finish') return;
  const results: SubscriberResults = {
    type: 'results',
    latencies: Float64Array.from(latencies),
    perSubscriber,
    perEventLast: [...perEventLast.values()],
    errors,
    arrivals: Float64Array.from(arrivals),
  };
  parentPort!.postMessage(results);
  for (const req of requests) req.destroy();
  agent.destroy();
});

// Fifty at a time: a thousand simultaneous connects would measure the accept queue instead.
for (let start = 0; start < count; start += 50) {
  await Promise.all(Array.from({ length: Math.min(50, count - start) }, (_, offset) => open(start + offset)));
  connected = start + Math.min(50, count - start);
}
parentPort!.postMessage({ type: 'connected', connected });

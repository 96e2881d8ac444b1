/**
 * The load generator, in a process of its own so that neither its CPU nor its garbage collections
 * are charged to a server. Driven by load.ts over IPC: `run` warms up, reports `warm`, waits for
 * `go` (the harness reads the server's CPU counters in between) and then reports the measured run.
 */
import autocannon from 'autocannon';

export interface LoadRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
}

export type LoadCommand = { type: 'run'; request: LoadRequest } | { type: 'go' };

export interface LoadResult {
  /** Responses of any status. */
  responses: number;
  ok: number;
  /** Non-2xx responses, connection errors and timeouts. */
  failed: number;
  seconds: number;
  /**
   * Of 2xx responses on connections already open (every response after a connection's first), in
   * ms (sub-millisecond: autocannon's own histogram rounds to whole ms); null without any.
   */
  p50: number | null;
  p99: number | null;
  /**
   * The first response on each connection, all opened at once as the measured run starts: what a
   * burst of new clients waits, connection set-up included. Kept apart because it is a fixed number
   * of requests: inside p99 its weight would depend on the run's length (50 of them are 2% of a
   * 3-second run at 800 requests/s, 0.2% of a 30-second one).
   */
  firstP50: number | null;
  firstMax: number | null;
}

export type LoadMessage =
  { type: 'ready' } | { type: 'warm' } | { type: 'result'; result: LoadResult } | { type: 'error'; message: string };

const send = (message: LoadMessage) => process.send!(message);
const fail = (error: unknown) => send({ type: 'error', message: error instanceof Error ? error.message : String(error) });

function percentile(sorted: Float64Array, p: number): number | null {
  // null, not NaN: NaN does not survive the trip over IPC (JSON).
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Latencies {
  established: number[];
  first: number[];
}

async function cannon(request: LoadRequest, seconds: number, latencies: Latencies | null) {
  return new Promise<autocannon.Result>((resolve, reject) => {
    const { url, headers, body, connections } = request;
    const instance = autocannon({ url, method: 'POST', headers, body, connections, duration: seconds }, (error, result) =>
      error ? reject(error) : resolve(result),
    );
    if (latencies) {
      const answered = new WeakSet<object>();
      instance.on('response', (client, statusCode, _bytes, responseTime) => {
        if (!answered.has(client)) {
          answered.add(client);
          latencies.first.push(responseTime);
        } else if (statusCode >= 200 && statusCode < 300) latencies.established.push(responseTime);
      });
    }
  });
}

let go: (() => void) | null = null;

async function run(request: LoadRequest) {
  if (request.warmupSeconds > 0) await cannon(request, request.warmupSeconds, null);
  const started = new Promise<void>((resolve) => (go = resolve));
  send({ type: 'warm' });
  await started;
  const latencies: Latencies = { established: [], first: [] };
  const result = await cannon(request, request.durationSeconds, latencies);
  const sorted = Float64Array.from(latencies.established).sort();
  const first = Float64Array.from(latencies.first).sort();
  send({
    type: 'result',
    result: {
      responses: result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'],
      ok: result['2xx'],
      failed: result.non2xx + result.errors + result.timeouts,
      seconds: result.duration,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      firstP50: percentile(first, 50),
      firstMax: percentile(first, 100),
    },
  });
}

process.on('message', (command: LoadCommand) => {
  if (command.type === 'go') go?.();
  else run(command.request).catch((error: unknown) => fail(error));
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });

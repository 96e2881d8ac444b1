import type { AddressInfo } from 'node:net';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHttpServer } from '../../src/app.js';
import { startSyncHarness, type SyncHarness } from '../stripe/sync/support.js';
import { errorCodes } from '../support/assertions.js';
import { subscribeSse } from '../support/sse.js';

/**
 * `stripeSyncProgress` as a client sees it: over a real socket, SSE and graphql-ws, with the
 * worker executing real runs against the fake Stripe. What arrives must be exactly what the run
 * stored: every event once, in `sequence` order, from RUN_QUEUED to RUN_FINISHED.
 */

/** The same selection for the subscription and for the stored events, so both compare whole. */
const EVENT_FIELDS = `
  runId projectId environment sequence kind runStatus objectType objectStatus pages objects runObjects total retries message at
  summary { status objects pages durationMs objectTypes { objectType status pages objects retries error } }`;
const PROGRESS = `subscription Progress($projectId: ID!, $environment: StripeEnvironment!) {
  stripeSyncProgress(projectId: $projectId, environment: $environment) { ${EVENT_FIELDS} }
}`;
/** Paged: the query cost limit allows about 50 events with this selection per request. */
const STORED = `query Stored($id: ID!, $after: Int!) { stripeSyncRun(id: $id) { id status attempts events(afterSequence: $after, first: 40) { ${EVENT_FIELDS} } } }`;
const START = `mutation Start($projectId: ID!, $objects: [StripeSyncObject!]) {
  startStripeSync(projectId: $projectId, environment: TEST, objects: $objects) { id status }
}`;

type ProgressEvent = {
  runId: string;
  sequence: number;
  kind: string;
  runStatus: string;
  objectType: string | null;
  objects: number;
  summary: { status: string; objects: number; pages: number } | null;
  [field: string]: unknown;
};
type Message = { data?: { stripeSyncProgress: ProgressEvent } | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };
type Transport = 'sse' | 'graphql-ws';

/** Everything one subscription received, and a way to wait for a message. */
interface Subscription {
  messages: Message[];
  /** True once the server completed the operation (or the socket closed). */
  ended(): boolean;
  waitFor(predicate: (messages: Message[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const events = (subscription: Subscription) =>
  subscription.messages.flatMap((message) => (message.data?.stripeSyncProgress ? [message.data.stripeSyncProgress] : []));

let h: SyncHarness;
let http: ReturnType<typeof createHttpServer>;
let base: string;

beforeAll(async () => {
  // 25 objects per page: a couple of hundred objects make dozens of events.
  // With TEST_REDIS_URL the events travel through Redis (serialized), as between replicas.
  h = await startSyncHarness({
    env: { STRIPE_SYNC_PAGE_SIZE: '25', ...(process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL } : {}) },
  });
  http = createHttpServer(h.app.yoga);
  await new Promise<void>((resolve) => http.server.listen(0, '127.0.0.1', resolve));
  base = `127.0.0.1:${(http.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await http?.close();
  await h?.close();
});

function collector() {
  const messages: Message[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  return {
    messages,
    push(message: Message) {
      messages.push(message);
      waiters.forEach((check) => check());
    },
    end() {
      ended = true;
      waiters.forEach((check) => check());
    },
    ended: () => ended,
    waitFor(predicate: (messages: Message[]) => boolean, what: string, timeoutMs = 20_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (predicate(messages)) finish(resolve);
          else if (ended) finish(() => reject(new Error(`subscription ended before ${what}: ${JSON.stringify(messages).slice(0, 2000)}`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`no ${what} within ${timeoutMs} ms: ${JSON.stringify(messages).slice(-2000)}`))),
          timeoutMs,
        );
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** POST with `accept: text/event-stream`, parsed into messages as they arrive. */
async function overSse(credential: string | null, variables: Record<string, unknown>): Promise<Subscription> {
  const sink = collector();
  const stream = await subscribeSse<Message['data']>(`http://${base}/graphql`, { query: PROGRESS, variables, credential });
  expect(stream.headers.get('content-type')).toContain('text/event-stream');
  const pump = (async () => {
    for await (const message of stream) sink.push(message as Message);
  })().finally(() => sink.end());
  return {
    ...sink,
    async close() {
      await stream.close();
      await pump;
    },
  };
}

/** A graphql-ws client of its own per subscription, authenticated in connectionParams. */
async function subscribeWs(credential: string | null, variables: Record<string, unknown>): Promise<Subscription> {
  const sink = collector();
  const client = createClient({
    url: `ws://${base}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: credential ? { 'x-api-key': credential } : {},
    retryAttempts: 0,
    lazy: false,
  });
  const unsubscribe = client.subscribe<Message['data']>(
    { query: PROGRESS, variables },
    {
      next: (value) => sink.push(value as Message),
      error: (error) => {
        // Errors of the operation arrive as an array of GraphQL errors; socket errors otherwise.
        sink.push({
          errors: Array.isArray(error) ? (error as Message['errors']) : [{ message: String((error as Error)?.message ?? error) }],
        });
        sink.end();
      },
      complete: () => sink.end(),
    },
  );
  return {
    ...sink,
    async close() {
      unsubscribe();
      await client.dispose();
    },
  };
}

const subscribe = (transport: Transport, credential: string | null, variables: Record<string, unknown>) =>
  transport === 'sse' ? overSse(credential, variables) : subscribeWs(credential, variables);

/** Until the subscription holds this run's RUN_FINISHED. */
const finishedRun = (runId: string) => (messages: Message[]) =>
  messages.some((message) => message.data?.stripeSyncProgress.runId === runId && message.data.stripeSyncProgress.kind === 'RUN_FINISHED');

/** Lets a subscription attach (the server registers its listener after the response started). */
const settle = (ms = 200) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A project whose first (CONFIGURE) sync of an empty account is over, then seeded: no run is
 * active, so a subscription opened now sees only runs started afterwards.
 */
async function idleProject(counts: { products?: number; customers?: number }) {
  const seeded = await h.seededProject({});
  const first = await h.waitForRun(seeded.firstRunId!);
  expect(first.status).toBe('SUCCEEDED');
  h.fake.seed(seeded.account.id, 'test', 'products', counts.products ?? 0);
  h.fake.seed(seeded.account.id, 'test', 'customers', counts.customers ?? 0);
  return seeded;
}

async function startSync(projectId: string, objects: string[]) {
  const response = await h.app.request({ query: START, variables: { projectId, objects } }, { credential: h.app.owner.key });
  expect(response.json.errors).toBeUndefined();
  return (response.json.data as { startStripeSync: { id: string } }).startStripeSync.id;
}

/** The run with all its stored events, read page by page as a client would. */
async function storedRun(id: string) {
  const all: ProgressEvent[] = [];
  for (;;) {
    const response = await h.app.request(
      { query: STORED, variables: { id, after: all.at(-1)?.sequence ?? 0 } },
      { credential: h.app.owner.key },
    );
    expect(response.json.errors).toBeUndefined();
    const run = (response.json.data as { stripeSyncRun: { id: string; status: string; attempts: number; events: ProgressEvent[] } })
      .stripeSyncRun;
    all.push(...run.events);
    if (run.events.length === 0) return { ...run, events: all };
  }
}

/** 1, 2, 3... N: the sequences of a run without gaps, duplicates or reordering. */
const oneToN = (list: ProgressEvent[]) => list.map((_, index) => index + 1);

describe.each<Transport>(['sse', 'graphql-ws'])('stripeSyncProgress over %s', (transport) => {
  it('a subscriber attached before the run receives every event once, in order, ending with the summary; identical to the stored events', async () => {
    const { projectId, account } = await idleProject({ products: 30, customers: 130 });
    // One failed page on the way: a RETRY event must travel like the others.
    h.fake.failNext(1, { status: 500, path: /^\/v1\/customers/ });
    const subscription = await subscribe(transport, h.app.owner.key, { projectId, environment: 'TEST' });
    try {
      await settle();
      const runId = await startSync(projectId, ['PRODUCTS', 'CUSTOMERS']);
      await subscription.waitFor(finishedRun(runId), `RUN_FINISHED of ${runId}`);

      expect(
        subscription.messages.filter((message) => message.errors),
        'no errors',
      ).toEqual([]);
      const received = events(subscription);
      expect(received.every((event) => event.runId === runId && event.projectId === projectId && event.environment === 'TEST')).toBe(true);
      expect(received.map((event) => event.sequence)).toEqual(oneToN(received));
      expect(received.slice(0, 4).map((event) => [event.kind, event.objectType])).toEqual([
        ['RUN_QUEUED', null],
        ['RUN_STARTED', null],
        ['OBJECT_STARTED', 'PRODUCTS'],
        ['PAGE', 'PRODUCTS'],
      ]);
      const kinds = received.map((event) => event.kind);
      expect(kinds.filter((kind) => kind === 'RETRY')).toHaveLength(1);
      expect(kinds.filter((kind) => kind === 'RUN_FINISHED')).toHaveLength(1);
      // 30 products on 2 pages of 25, 130 customers on 6: running totals, page by page.
      expect(received.filter((event) => event.kind === 'PAGE').map((event) => [event.objectType, event.objects])).toEqual([
        ['PRODUCTS', 25],
        ['PRODUCTS', 30],
        ['CUSTOMERS', 25],
        ['CUSTOMERS', 50],
        ['CUSTOMERS', 75],
        ['CUSTOMERS', 100],
        ['CUSTOMERS', 125],
        ['CUSTOMERS', 130],
      ]);
      const last = received.at(-1)!;
      expect(last).toMatchObject({
        kind: 'RUN_FINISHED',
        runStatus: 'SUCCEEDED',
        runObjects: 160,
        summary: { status: 'SUCCEEDED', objects: 160, pages: 8 },
      });
      expect(h.fake.seed(account.id, 'test', 'customers', 0).count + h.fake.seed(account.id, 'test', 'products', 0).count).toBe(
        last.summary!.objects,
      );

      const stored = await storedRun(runId);
      expect(stored.status).toBe('SUCCEEDED');
      expect(received).toEqual(stored.events);
      // Nothing after the end of the run (the subscription stays open for the next one).
      await settle(100);
      expect(events(subscription)).toHaveLength(received.length);
      expect(subscription.ended()).toBe(false);
    } finally {
      await subscription.close();
    }
  });

  it('a subscriber attached mid-run gets the earlier events replayed at once, then the live ones, without gaps', async () => {
    const { projectId } = await idleProject({ customers: 200 });
    // Eight pages: two quick ones, a third that takes long (the run is held there while the
    // subscription attaches), then the rest.
    const path = /^\/v1\/customers/;
    h.fake.delayNext(2, 20, { path });
    h.fake.delayNext(1, 2_000, { path });
    h.fake.delayNext(5, 50, { path });
    const runId = await startSync(projectId, ['CUSTOMERS']);
    const before = await h.waitForRun(runId, { until: (run) => run.events.filter((event) => event.kind === 'PAGE').length >= 2 });
    expect(before.status).toBe('RUNNING');

    const subscription = await subscribe(transport, h.app.owner.key, { projectId, environment: 'TEST' });
    try {
      // The replay does not wait for the next live event: it is all there while the run is held.
      await subscription.waitFor((messages) => messages.length >= before.events.length, `the ${before.events.length} stored events`, 1_000);
      expect(events(subscription).map((event) => event.sequence)).toEqual(before.events.map((event) => event.sequence));
      expect((await storedRun(runId)).events).toHaveLength(before.events.length);

      await subscription.waitFor(finishedRun(runId), `RUN_FINISHED of ${runId}`);
      expect(subscription.messages.filter((message) => message.errors)).toEqual([]);
      const received = events(subscription);
      expect(received[0]).toMatchObject({ sequence: 1, kind: 'RUN_QUEUED', runId });
      expect(received.map((event) => event.sequence)).toEqual(oneToN(received));
      // Then live: the held page and everything after it.
      expect(received.length).toBeGreaterThan(before.events.length);
      expect(received.at(-1)).toMatchObject({ kind: 'RUN_FINISHED', summary: { status: 'SUCCEEDED', objects: 200, pages: 8 } });
      expect(received).toEqual((await storedRun(runId)).events);
    } finally {
      await subscription.close();
    }
  });

  it('refuses a stranger (NOT_FOUND) and anonymous (UNAUTHENTICATED) when the subscription starts, and sends them no events', async () => {
    const { projectId } = await idleProject({ customers: 100 });
    h.fake.delayNext(4, 100, { path: /^\/v1\/customers/ });
    const runId = await startSync(projectId, ['CUSTOMERS']);
    await h.waitForRun(runId, { until: (run) => run.status === 'RUNNING' });

    for (const [credential, code] of [
      [h.app.stranger.key, 'NOT_FOUND'],
      [null, 'UNAUTHENTICATED'],
    ] as const) {
      const subscription = await subscribe(transport, credential, { projectId, environment: 'TEST' });
      try {
        await subscription.waitFor((messages) => messages.length > 0, `the ${code} error`);
        // The operation ends there: nothing more while the run goes on.
        await subscription.waitFor(() => subscription.ended(), 'the end of the refused operation', 5_000);
        expect(subscription.messages).toHaveLength(1);
        expect(errorCodes(subscription.messages[0]!)).toEqual([code]);
        expect(subscription.messages[0]!.data ?? null).toBeNull();
        expect(events(subscription)).toEqual([]);
      } finally {
        await subscription.close();
      }
    }
    expect((await h.waitForRun(runId)).status).toBe('SUCCEEDED');
  });
});

import { createParser } from 'eventsource-parser';

/**
 * The one reader of Server-Sent Events in the tests, on `eventsource-parser`: a message may be
 * split across reads, a read may hold several messages, comments (yoga's `:` keep-alives) are no
 * messages. GraphQL over SSE (yoga's distinct-connections mode) sends each result as
 * `event: next` with the JSON in `data`, and ends with `event: complete`.
 *
 * No vitest here: the benchmark's worker threads use `sseParser` too.
 */

export interface SseMessage {
  /** The `event:` field; undefined when the server sent none. */
  event: string | undefined;
  data: string;
  id?: string | undefined;
}

/** A push parser for a transport of one's own: feed it text as it arrives, get whole messages. */
export function sseParser(onMessage: (message: SseMessage) => void) {
  const parser = createParser({ onEvent: (message) => onMessage({ event: message.event, data: message.data, id: message.id }) });
  return { feed: (chunk: string) => parser.feed(chunk) };
}

/** What `next()` or `result()` throws when nothing came in time (the stream stays usable). */
export class SseTimeout extends Error {
  constructor(timeoutMs: number) {
    super(`no SSE message within ${timeoutMs} ms`);
    this.name = 'SseTimeout';
  }
}

export interface SseRequest {
  query: string;
  variables?: Record<string, unknown>;
  /** Sent as `x-api-key`; null or absent for an anonymous caller. */
  credential?: string | null;
  headers?: Record<string, string>;
}

/** `fetch`, or an in-process one such as `app.yoga.fetch`. */
export type SseFetch = (url: string, init: RequestInit) => Promise<Response> | Response;

/** A GraphQL result as SSE carries it. */
export interface SseResult<Data = Record<string, unknown>> {
  data?: Data | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  [key: string]: unknown;
}

export interface SseStream<Data = Record<string, unknown>> extends AsyncIterable<SseResult<Data>> {
  status: number;
  headers: Headers;
  /** True once the stream has ended: the server closed it, it failed, or `close()` was called. */
  readonly ended: boolean;
  /** The next message, whatever its event; null once the stream has ended. Throws SseTimeout (0: waits for ever). */
  next(timeoutMs?: number): Promise<SseMessage | null>;
  /** The next `event: next` result, parsed; null at `event: complete` or the end. Throws SseTimeout (0: waits for ever). */
  result(timeoutMs?: number): Promise<SseResult<Data> | null>;
  /** Aborts the request and waits for the reader to stop. */
  close(): Promise<void>;
}

const NO_TIMEOUT = 0;

/**
 * POSTs a GraphQL operation with `accept: text/event-stream` and reads the answer as it arrives.
 * Iterating yields the results (`event: next`) until `event: complete` or the end of the stream.
 */
export async function subscribeSse<Data = Record<string, unknown>>(
  url: string,
  { query, variables = {}, credential, headers = {} }: SseRequest,
  { fetch: fetchImpl = fetch }: { fetch?: SseFetch } = {},
): Promise<SseStream<Data>> {
  const controller = new AbortController();
  const response = await fetchImpl(url, {
    method: 'POST',
    signal: controller.signal,
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(credential ? { 'x-api-key': credential } : {}),
      ...headers,
    },
    body: JSON.stringify({ query, variables }),
  });

  const queue: SseMessage[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  let completed = false;
  const wake = () => waiters.forEach((wakeUp) => wakeUp());
  const parser = sseParser((message) => {
    queue.push(message);
    wake();
  });

  const reader = response.body?.getReader();
  const pump = (async () => {
    if (!reader) return;
    const decoder = new TextDecoder();
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      parser.feed(decoder.decode(chunk.value, { stream: true }));
    }
    parser.feed(decoder.decode());
  })()
    .catch(() => undefined) // aborted by close(), or the server went away
    .finally(() => {
      ended = true;
      wake();
    });

  function next(timeoutMs = 10_000): Promise<SseMessage | null> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (queue.length > 0) finish(() => resolve(queue.shift()!));
        else if (ended) finish(() => resolve(null));
      };
      const timer = timeoutMs === NO_TIMEOUT ? undefined : setTimeout(() => finish(() => reject(new SseTimeout(timeoutMs))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        settle();
      };
      waiters.add(check);
      check();
    });
  }

  async function result(timeoutMs = 10_000): Promise<SseResult<Data> | null> {
    const deadline = Date.now() + timeoutMs;
    while (!completed) {
      const message = await next(timeoutMs === NO_TIMEOUT ? NO_TIMEOUT : Math.max(1, deadline - Date.now()));
      if (message === null || message.event === 'complete') {
        completed = true;
        break;
      }
      if (message.event === 'next') return JSON.parse(message.data) as SseResult<Data>;
    }
    return null;
  }

  return {
    status: response.status,
    headers: response.headers,
    get ended() {
      return ended;
    },
    next,
    result,
    async *[Symbol.asyncIterator]() {
      for (let item = await result(NO_TIMEOUT); item !== null; item = await result(NO_TIMEOUT)) yield item;
    },
    async close() {
      controller.abort();
      // An in-process fetch (yoga.fetch) does not end the body on abort: cancelling the reader does.
      await reader?.cancel().catch(() => undefined);
      await pump;
    },
  };
}

import { describe, expect, it } from 'vitest';
import { SseTimeout, subscribeSse, type SseFetch } from './sse.js';

/** A fetch whose answer streams these chunks, byte for byte as given, then stays open or ends. */
function streaming(chunks: Array<string | Uint8Array>, { end = true } = {}) {
  const sent: RequestInit[] = [];
  let canceled = false;
  const fetch: SseFetch = (_url, init) => {
    sent.push(init);
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
        if (end) controller.close();
      },
      cancel() {
        canceled = true;
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  };
  return { fetch, sent, canceled: () => canceled };
}

const REQUEST = { query: 'subscription { ping }' };

describe('the SSE reader', () => {
  it('reassembles a message split across reads, even inside a UTF-8 character', async () => {
    const bytes = new TextEncoder().encode('event: next\ndata: {"data":{"ping":"é"}}\n\n');
    const split = bytes.indexOf(0xc3) + 1; // between the two bytes of "é"
    const { fetch } = streaming([':\n\n', 'event: ne', 'xt\nda', bytes.slice(11, split), bytes.slice(split), 'event: complete\ndata:\n\n']);
    const stream = await subscribeSse('http://sse.test/graphql', REQUEST, { fetch });
    expect(await stream.result()).toEqual({ data: { ping: 'é' } });
    expect(await stream.result()).toBeNull();
  });

  it('reads several messages from one read, in order, and ends at `event: complete`', async () => {
    const { fetch } = streaming([
      'event: next\ndata: {"data":{"ping":1}}\n\nevent: next\ndata: {"data":{"ping":2}}\n\n:\n\nevent: complete\ndata:\n\nevent: next\ndata: {"data":{"ping":3}}\n\n',
    ]);
    const stream = await subscribeSse('http://sse.test/graphql', REQUEST, { fetch });
    const results = [];
    for await (const result of stream) results.push(result);
    expect(results).toEqual([{ data: { ping: 1 } }, { data: { ping: 2 } }]);
  });

  it('gives every message raw, comments left out, and null at the end', async () => {
    const { fetch } = streaming([':\n\nevent: next\r\ndata: {"a":\r\ndata: 1}\r\n\r\n', 'data: plain\n\n']);
    const stream = await subscribeSse('http://sse.test/graphql', REQUEST, { fetch });
    expect(await stream.next()).toEqual({ event: 'next', data: '{"a":\n1}', id: undefined });
    expect(await stream.next()).toEqual({ event: undefined, data: 'plain', id: undefined });
    expect(await stream.next()).toBeNull();
    expect(stream.ended).toBe(true);
  });

  it('times out on an open, silent stream, stays usable, and close() cancels the body', async () => {
    const { fetch, canceled } = streaming([':\n\n'], { end: false });
    const stream = await subscribeSse('http://sse.test/graphql', REQUEST, { fetch });
    await expect(stream.result(50)).rejects.toBeInstanceOf(SseTimeout);
    await expect(stream.next(50)).rejects.toThrow('no SSE message within 50 ms');
    expect(stream.ended).toBe(false);
    await stream.close();
    expect(stream.ended).toBe(true);
    expect(canceled()).toBe(true);
    expect(await stream.next()).toBeNull();
  });

  it('POSTs the operation as JSON, asking for an event stream, with the credential', async () => {
    const { fetch, sent } = streaming([]);
    const stream = await subscribeSse(
      'http://sse.test/graphql',
      { ...REQUEST, variables: { id: 1 }, credential: 'key', headers: { 'x-extra': 'yes' } },
      { fetch },
    );
    await stream.close();
    expect(sent[0]).toMatchObject({
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-api-key': 'key', 'x-extra': 'yes' },
      body: JSON.stringify({ query: REQUEST.query, variables: { id: 1 } }),
    });
    const anonymous = streaming([]);
    await (await subscribeSse('http://sse.test/graphql', { ...REQUEST, credential: null }, { fetch: anonymous.fetch })).close();
    expect(anonymous.sent[0]?.headers).not.toHaveProperty('x-api-key');
  });
});

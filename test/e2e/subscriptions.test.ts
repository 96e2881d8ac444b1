import type { AddressInfo } from 'node:net';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHttpServer } from '../../src/app.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { subscribeSse } from '../support/sse.js';

const SUBSCRIPTION = 'subscription Events($projectId: ID!) { projectEvents(projectId: $projectId) { projectId kind } }';
const RENAME = 'mutation Rename($id: ID!, $name: String!) { updateProject(id: $id, input: { name: $name }) { id } }';

/** Subscriptions need a real socket: SSE over HTTP and graphql-ws over WebSocket. */
describe('subscriptions over a real socket', () => {
  let app: TestApp;
  let http: ReturnType<typeof createHttpServer>;
  let base: string;

  beforeAll(async () => {
    app = await createTestApp();
    http = createHttpServer(app.yoga);
    await new Promise<void>((resolve) => http.server.listen(0, '127.0.0.1', resolve));
    base = `127.0.0.1:${(http.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await http.close();
    await app.close();
  });

  const rename = (name: string) => app.request({ query: RENAME, variables: { id: app.project.id, name } }, { credential: app.owner.key });

  const openSse = (credential: string | null) =>
    subscribeSse(`http://${base}/graphql`, { query: SUBSCRIPTION, variables: { projectId: app.project.id }, credential });

  it('streams project events to the owner over SSE, in order', async () => {
    const stream = await openSse(app.owner.key);
    // Give the subscription a moment to attach before publishing.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await rename('first name');
    await rename('second name');
    const events = [await stream.result(), await stream.result()];
    await stream.close();
    expect(events).toEqual([
      { data: { projectEvents: { projectId: app.project.id, kind: 'UPDATED' } } },
      { data: { projectEvents: { projectId: app.project.id, kind: 'UPDATED' } } },
    ]);
  });

  it('refuses a stranger when the SSE subscription starts', async () => {
    const stream = await openSse(app.stranger.key);
    const first = await stream.result();
    await stream.close();
    expect(first).toMatchObject({ errors: [{ extensions: { code: 'NOT_FOUND' } }] });
  });

  function wsClient(credential: string | null): Client {
    return createClient({
      url: `ws://${base}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: credential ? { 'x-api-key': credential } : {},
      retryAttempts: 0,
    });
  }

  it('streams project events to an admin over graphql-ws', async () => {
    const client = wsClient(app.admin.key);
    const received: unknown[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const unsubscribe = client.subscribe(
        { query: SUBSCRIPTION, variables: { projectId: app.project.id } },
        {
          next: (value) => {
            received.push(value);
            if (received.length === 1) {
              unsubscribe();
              resolve();
            }
          },
          error: reject,
          complete: () => undefined,
        },
      );
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await rename('via websocket');
    await done;
    await client.dispose();
    expect(received).toEqual([{ data: { projectEvents: { projectId: app.project.id, kind: 'UPDATED' } } }]);
  });

  it('refuses anonymous and stranger graphql-ws subscriptions when they start', async () => {
    for (const [credential, code] of [
      [null, 'UNAUTHENTICATED'],
      [app.stranger.key, 'NOT_FOUND'],
    ] as const) {
      const client = wsClient(credential);
      const outcome = await new Promise<unknown>((resolve) => {
        client.subscribe(
          { query: SUBSCRIPTION, variables: { projectId: app.project.id } },
          { next: resolve, error: resolve, complete: () => resolve('completed') },
        );
      });
      await client.dispose();
      expect(JSON.stringify(outcome)).toContain(code);
    }
  });
});

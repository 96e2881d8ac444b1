import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHttpServer } from '../../src/app.js';
import { createTestApp, type TestApp } from '../support/app.js';

/**
 * graphql-ws as a client sees it, message by message: a bad credential closes the socket with
 * 4401 (never 4500); a bad operation (unparseable, over the token limit, wrong variables) fails
 * with a coded, scrubbed error for that operation alone, and the other subscriptions on the
 * socket go on.
 */

const EVENTS = 'subscription Events($projectId: ID!) { projectEvents(projectId: $projectId) { kind } }';
const RENAME = 'mutation Rename($id: ID!, $name: String!) { updateProject(id: $id, input: { name: $name }) { id } }';

interface Message {
  id?: string;
  type: string;
  payload?: unknown;
}

/** A raw graphql-transport-ws connection: what arrives, and how the socket closed. */
async function connect(base: string, connectionParams: Record<string, unknown>) {
  const socket = new WebSocket(`ws://${base}/graphql`, 'graphql-transport-ws');
  const messages: Message[] = [];
  const waiters = new Set<() => void>();
  let closed: { code: number; reason: string } | null = null;
  socket.on('message', (data) => {
    messages.push(JSON.parse(data.toString()) as Message);
    waiters.forEach((wake) => wake());
  });
  socket.on('close', (code, reason) => {
    closed = { code, reason: reason.toString() };
    waiters.forEach((wake) => wake());
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'connection_init', payload: connectionParams }));
  const until = (predicate: () => boolean, what: string, timeoutMs = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(messages)} closed ${JSON.stringify(closed)}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return {
    messages,
    closed: () => closed,
    until,
    subscribe: (id: string, query: string, variables: Record<string, unknown> = {}) =>
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } })),
    messagesFor: (id: string) => messages.filter((message) => message.id === id),
    close: () => socket.close(1000),
  };
}

describe('graphql-ws errors', () => {
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

  it('a bad API key closes the connection with 4401 (not 4500), before any operation', async () => {
    for (const params of [{ 'x-api-key': 'cof_AAAAAAAAAAAA_not-a-real-key-at-all-0000000000000000000' }, { Authorization: 'Basic abc' }]) {
      const connection = await connect(base, params);
      await connection.until(() => connection.closed() !== null, 'close');
      expect(connection.closed()?.code).toBe(4401);
      expect(connection.messages.map((message) => message.type)).not.toContain('connection_ack');
    }
  });

  it('a bad operation fails alone: parse errors, the token limit, bad variables; a live subscription on the socket keeps receiving', async () => {
    const canary = 'ws-canary-value-9f31';
    const connection = await connect(base, { 'x-api-key': app.owner.key });
    await connection.until(() => connection.messages.some((message) => message.type === 'connection_ack'), 'ack');
    connection.subscribe('live', EVENTS, { projectId: app.project.id });
    await new Promise((resolve) => setTimeout(resolve, 200));

    connection.subscribe('unparseable', 'subscription { projectEvents(projectId: ');
    connection.subscribe(
      'too-many-tokens',
      `query { ${Array.from({ length: 1500 }, (_value, index) => `a${index}: me { id }`).join(' ')} }`,
    );
    connection.subscribe('bad-variables', EVENTS, { projectId: { nested: canary } });
    connection.subscribe('bad-literal', `subscription { projectEvents(projectId: 12345) { kind } }`);
    for (const id of ['unparseable', 'too-many-tokens', 'bad-variables', 'bad-literal']) {
      await connection.until(() => connection.messagesFor(id).length > 0, `answer to ${id}`);
      const [answer] = connection.messagesFor(id);
      const errors = (answer?.type === 'error' ? answer.payload : (answer?.payload as { errors?: unknown[] })?.errors) as Array<{
        message: string;
        extensions?: { code?: string };
      }>;
      expect(errors?.length, id).toBeGreaterThan(0);
      for (const error of errors) {
        expect(error.extensions?.code, `${id}: ${error.message}`).toMatch(
          /^(GRAPHQL_PARSE_FAILED|GRAPHQL_VALIDATION_FAILED|BAD_USER_INPUT|NOT_FOUND)$/,
        );
        expect(error.message).not.toContain(canary);
      }
    }
    expect(connection.closed()).toBeNull();

    await app.request({ query: RENAME, variables: { id: app.project.id, name: 'still streaming' } }, { credential: app.owner.key });
    await connection.until(
      () => connection.messagesFor('live').some((message) => message.type === 'next'),
      'event on the live subscription',
    );
    expect(connection.messagesFor('live')[0]).toMatchObject({ type: 'next', payload: { data: { projectEvents: { kind: 'UPDATED' } } } });
    connection.close();
  });
});

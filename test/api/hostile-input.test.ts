import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHttpServer } from '../../src/app.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { expectError, type Answer } from '../support/assertions.js';

/**
 * Hostile input over every GraphQL transport (HTTP POST and GET, SSE, graphql-ws, multipart):
 * each case must get a coded error (never a 500, "Unexpected error.", a stack trace, a database
 * message or an echo of what was sent) and change nothing in the database.
 */

/** Text no field accepts: control characters, lone surrogates, and a long one carrying a NUL. */
const HOSTILE_TEXT: Array<[string, string]> = [
  ['NUL inside', 'ab\u0000cd'],
  ['NUL alone', '\u0000'],
  ['SOH', '\u0001start'],
  ['ANSI escape', 'x\u001b[2J'],
  ['DEL', 'del\u007f'],
  ['vertical tab', 'line\u000bbreak'],
  ['header injection', 'evil\u0000\r\nX-Injected: yes'],
  ['lone high surrogate', 'ab\ud800'],
  ['lone low surrogate', '\udc00z'],
  ['100 kB with a NUL', `${'A'.repeat(100_000)}\u0000`],
];

/** Ids nothing can have. */
const HOSTILE_IDS: Array<[string, unknown]> = [
  ['a word', 'nope'],
  ['empty', ''],
  ['blank', '   '],
  ['one bad digit', '00000000-0000-0000-0000-00000000000g'],
  ['braced', '{6b1e2f0e-1d3c-4c5b-9a8f-1e2d3c4b5a69}'],
  ['SQL', "1'; DROP TABLE users; --"],
  ['a number', 12345],
  ['full-width letters', 'ＡＢＣ'],
  ['10 kB', 'x'.repeat(10_000)],
  ['NUL', '\u0000'],
];

/** Values of the wrong type where text is expected. */
const WRONG_TYPES: Array<[string, unknown]> = [
  ['object', { nested: 'value' }],
  ['array', ['a', 'b']],
  ['number', 1e308],
  ['boolean', true],
];

type Caller = 'admin' | 'owner';
interface Operation {
  name: string;
  query: string;
  /** Variables, with the hostile value in place. */
  variables: (app: TestApp, value: unknown) => Record<string, unknown>;
  as?: Caller;
}

const text: Operation[] = [
  {
    name: 'createProject input.name',
    query: 'mutation($v: String!) { createProject(input: { name: $v }) { id } }',
    variables: (_a, v) => ({ v }),
  },
  {
    name: 'updateProject input.name',
    query: 'mutation($id: ID!, $v: String!) { updateProject(id: $id, input: { name: $v }) { id } }',
    variables: (a, v) => ({ id: a.project.id, v }),
  },
  {
    name: 'createApiKey input.name',
    query: 'mutation($v: String!) { createApiKey(input: { name: $v }) { key } }',
    variables: (_a, v) => ({ v }),
  },
  {
    name: 'createUser input.email',
    query: 'mutation($v: String!) { createUser(input: { email: $v }) { id } }',
    variables: (_a, v) => ({ v }),
    as: 'admin',
  },
  {
    name: 'createUser input.name',
    query: 'mutation($v: String) { createUser(input: { email: "hostile@example.test", name: $v }) { id } }',
    variables: (_a, v) => ({ v }),
    as: 'admin',
  },
  {
    name: 'upsertSecret input.name',
    query: 'mutation($v: String!) { upsertSecret(input: { name: $v, value: "x" }) { id } }',
    variables: (_a, v) => ({ v }),
    as: 'admin',
  },
  {
    name: 'upsertSecret input.description',
    query: 'mutation($v: String) { upsertSecret(input: { name: "HOSTILE", value: "x", description: $v }) { id } }',
    variables: (_a, v) => ({ v }),
    as: 'admin',
  },
  {
    name: 'updateSecret input.description',
    query: 'mutation($v: String) { updateSecret(input: { name: "EXISTING", description: $v }) { id } }',
    variables: (_a, v) => ({ v }),
    as: 'admin',
  },
  {
    name: 'secrets filter.namePrefix',
    query: 'query($v: String) { secrets(first: 5, filter: { namePrefix: $v }) { edges { node { id } } } }',
    variables: (_a, v) => ({ v }),
    as: 'admin',
  },
  { name: 'secret name', query: 'query($v: String!) { secret(name: $v) { id } }', variables: (_a, v) => ({ v }), as: 'admin' },
  {
    name: 'deleteSecret name',
    query: 'mutation($v: String!) { deleteSecret(name: $v) { id } }',
    variables: (_a, v) => ({ v }),
    as: 'admin',
  },
  {
    name: 'auditEvents filter.action',
    query: 'query($v: String) { auditEvents(first: 5, filter: { action: $v }) { edges { node { id } } } }',
    variables: (_a, v) => ({ v }),
    as: 'admin',
  },
  {
    name: 'auditEvents filter.targetName',
    query: 'query($v: String) { auditEvents(first: 5, filter: { targetName: $v }) { edges { node { id } } } }',
    variables: (_a, v) => ({ v }),
    as: 'admin',
  },
  {
    name: 'stripeCustomers filter.email',
    query:
      'query($p: ID!, $v: String) { stripeCustomers(projectId: $p, environment: TEST, first: 5, filter: { email: $v }) { totalCount } }',
    variables: (a, v) => ({ p: a.project.id, v }),
  },
  {
    name: 'stripePrices filter.productId',
    query:
      'query($p: ID!, $v: String) { stripePrices(projectId: $p, environment: TEST, first: 5, filter: { productId: $v }) { totalCount } }',
    variables: (a, v) => ({ p: a.project.id, v }),
  },
  {
    name: 'configureStripe input.testSecretKey',
    query: 'mutation($p: ID!, $v: String) { configureStripe(projectId: $p, input: { testSecretKey: $v }) { results { environment } } }',
    variables: (a, v) => ({ p: a.project.id, v }),
  },
];

/** [operation, expected code]: a malformed id given as an argument is NOT_FOUND, inside an input BAD_USER_INPUT. */
const ids: Array<[Operation, 'NOT_FOUND' | 'BAD_USER_INPUT']> = [
  [{ name: 'project id', query: 'query($v: ID!) { project(id: $v) { id } }', variables: (_a, v) => ({ v }) }, 'NOT_FOUND'],
  [
    {
      name: 'updateProject id',
      query: 'mutation($v: ID!) { updateProject(id: $v, input: { name: "x" }) { id } }',
      variables: (_a, v) => ({ v }),
    },
    'NOT_FOUND',
  ],
  [{ name: 'revokeApiKey id', query: 'mutation($v: ID!) { revokeApiKey(id: $v) { id } }', variables: (_a, v) => ({ v }) }, 'NOT_FOUND'],
  [
    {
      name: 'issueToken input.userId',
      query: 'mutation($v: ID!) { issueToken(input: { userId: $v }) { token } }',
      variables: (_a, v) => ({ v }),
      as: 'admin',
    },
    'BAD_USER_INPUT',
  ],
  [
    {
      name: 'createApiKey input.userId',
      query: 'mutation($v: ID) { createApiKey(input: { name: "k", userId: $v }) { key } }',
      variables: (_a, v) => ({ v }),
      as: 'admin',
    },
    'BAD_USER_INPUT',
  ],
  [
    {
      name: 'projects ownerId',
      query: 'query($v: ID) { projects(first: 5, ownerId: $v) { edges { node { id } } } }',
      variables: (_a, v) => ({ v }),
      as: 'admin',
    },
    'NOT_FOUND',
  ],
  [
    {
      name: 'auditEvents filter.actorId',
      query: 'query($v: ID) { auditEvents(first: 5, filter: { actorId: $v }) { edges { node { id } } } }',
      variables: (_a, v) => ({ v }),
      as: 'admin',
    },
    'BAD_USER_INPUT',
  ],
  [
    {
      name: 'stripeConfig projectId',
      query: 'query($v: ID!) { stripeConfig(projectId: $v) { projectId } }',
      variables: (_a, v) => ({ v }),
    },
    'NOT_FOUND',
  ],
  [{ name: 'stripeSyncRun id', query: 'query($v: ID!) { stripeSyncRun(id: $v) { id } }', variables: (_a, v) => ({ v }) }, 'NOT_FOUND'],
  [
    { name: 'cancelStripeSync runId', query: 'mutation($v: ID!) { cancelStripeSync(runId: $v) { id } }', variables: (_a, v) => ({ v }) },
    'NOT_FOUND',
  ],
  [
    {
      name: 'startStripeSync projectId',
      query: 'mutation($v: ID!) { startStripeSync(projectId: $v, environment: TEST) { id } }',
      variables: (_a, v) => ({ v }),
    },
    'NOT_FOUND',
  ],
  [
    {
      name: 'stripeProducts projectId',
      query: 'query($v: ID!) { stripeProducts(projectId: $v, environment: TEST, first: 1) { totalCount } }',
      variables: (_a, v) => ({ v }),
    },
    'NOT_FOUND',
  ],
  [
    {
      name: 'secrets scope.projectId',
      query: 'query($v: ID) { secrets(first: 1, scope: { type: PROJECT, projectId: $v }) { edges { node { id } } } }',
      variables: (_a, v) => ({ v }),
    },
    'BAD_USER_INPUT',
  ],
  [
    {
      name: 'upsertSecret input.scope.userId',
      query: 'mutation($v: ID) { upsertSecret(input: { name: "X", value: "x", scope: { type: USER, userId: $v } }) { id } }',
      variables: (_a, v) => ({ v }),
    },
    'BAD_USER_INPUT',
  ],
];

const TABLES = [
  'users',
  'projects',
  'api_keys',
  'secrets',
  'secret_versions',
  'audit_events',
  'keyring_terms',
  'stripe_environments',
  'stripe_credentials',
  'stripe_sync_runs',
];

describe('hostile input over every transport: a coded error, and nothing changes', () => {
  let app: TestApp;
  let http: ReturnType<typeof createHttpServer>;
  let origin: string;

  beforeAll(async () => {
    app = await createTestApp();
    const existing = await app.request(
      { query: 'mutation { upsertSecret(input: { name: "EXISTING", value: "seed" }) { id } }' },
      { credential: app.admin.key },
    );
    expect(existing.json.errors).toBeUndefined();
    http = createHttpServer(app.yoga);
    await new Promise<void>((resolve) => http.server.listen(0, '127.0.0.1', resolve));
    origin = `127.0.0.1:${(http.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await http.close();
    await app.close();
  });

  const snapshot = async () =>
    Object.fromEntries(
      await Promise.all(
        TABLES.map(async (table) => [
          table,
          (await app.db.prisma.$queryRawUnsafe<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM ${table}`))[0]?.n,
        ]),
      ),
    );
  const keyOf = (as: Caller | undefined) => (as === 'admin' ? app.admin.key : app.owner.key);

  /** The answer is a clean refusal with `code`, and holds nothing of what was sent. */
  function expectRefusal(status: number, text: string, code: string, sent: unknown) {
    expect(status, text.slice(0, 300)).toBeLessThan(500);
    expect(text).not.toMatch(/Unexpected error|INTERNAL_SERVER_ERROR|\bat .*\.(ts|js):\d+|Prisma|invalid byte sequence|22P05|X-Injected/);
    expectError({ status, text, json: JSON.parse(text) as Answer['json'] }, code, { among: true });
    if (typeof sent === 'string' && sent.length > 200) expect(text).not.toContain(sent.slice(0, 200));
  }

  async function post(operation: Operation, value: unknown) {
    const response = await app.request(
      { query: operation.query, variables: operation.variables(app, value) },
      { credential: keyOf(operation.as) },
    );
    return { status: response.status, text: response.text };
  }

  describe('HTTP POST: text no field accepts', () => {
    for (const operation of text) {
      for (const [label, value] of HOSTILE_TEXT) {
        it(`${operation.name} ← ${label}`, async () => {
          const before = await snapshot();
          const { status, text: body } = await post(operation, value);
          expectRefusal(status, body, 'BAD_USER_INPUT', value);
          expect(await snapshot()).toEqual(before);
        });
      }
    }
  });

  describe('HTTP POST: ids nothing can have', () => {
    for (const [operation, code] of ids) {
      for (const [label, value] of HOSTILE_IDS) {
        it(`${operation.name} ← ${label}`, async () => {
          const before = await snapshot();
          const { status, text: body } = await post(operation, value);
          expectRefusal(status, body, code, value);
          expect(await snapshot()).toEqual(before);
        });
      }
    }
  });

  describe('HTTP POST: values of the wrong type', () => {
    for (const operation of text.slice(0, 6)) {
      for (const [label, value] of WRONG_TYPES) {
        it(`${operation.name} ← ${label}`, async () => {
          const before = await snapshot();
          const { status, text: body } = await post(operation, value);
          expectRefusal(status, body, 'BAD_USER_INPUT', value);
          expect(await snapshot()).toEqual(before);
        });
      }
    }
  });

  describe('HTTP GET', () => {
    const get = (params: Record<string, string>, key = app.admin.key) =>
      fetch(`http://${origin}/graphql?${new URLSearchParams(params).toString()}`, {
        headers: { 'x-api-key': key, accept: 'application/json' },
      });
    const queries = text.filter((operation) => operation.query.startsWith('query'));
    for (const operation of queries) {
      for (const [label, value] of HOSTILE_TEXT.slice(0, 7)) {
        it(`${operation.name} ← ${label}`, async () => {
          const response = await get(
            { query: operation.query, variables: JSON.stringify(operation.variables(app, value)) },
            keyOf(operation.as),
          );
          expectRefusal(response.status, await response.text(), 'BAD_USER_INPUT', value);
        });
      }
    }
    for (const [label, params] of [
      ['variables that are no JSON', { query: '{ me { id } }', variables: '{nope' }],
      ['extensions that are no JSON', { query: '{ me { id } }', extensions: '[' }],
      ['variables that are a JSON string', { query: '{ me { id } }', variables: '"text"' }],
      ['a mutation over GET', { query: 'mutation { createProject(input: { name: "via GET" }) { id } }' }],
    ] as const) {
      it(label, async () => {
        const before = await snapshot();
        const response = await get(params);
        const body = await response.text();
        expect(response.status).toBeLessThan(500);
        expect(body).not.toMatch(/Unexpected error|INTERNAL_SERVER_ERROR/);
        expect(JSON.parse(body).errors?.[0]?.extensions?.code).toBeTruthy();
        expect(await snapshot()).toEqual(before);
      });
    }
  });

  describe('multipart (no uploads in this API)', () => {
    it('a multipart request is refused with a code, and runs nothing', async () => {
      const before = await snapshot();
      const body =
        '--xx\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query":"mutation { createProject(input: { name: \\"via multipart\\" }) { id } }"}\r\n--xx--\r\n';
      const response = await fetch(`http://${origin}/graphql`, {
        method: 'POST',
        headers: { 'x-api-key': app.owner.key, 'content-type': 'multipart/form-data; boundary=xx' },
        body,
      });
      const text = await response.text();
      expect(response.status).toBeLessThan(500);
      expect(text).not.toMatch(/Unexpected error/);
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('SSE and graphql-ws subscriptions', () => {
    const SUBSCRIBE = 'subscription($v: ID!) { projectEvents(projectId: $v) { kind } }';
    for (const [label, value] of HOSTILE_IDS) {
      it(`SSE projectEvents projectId ← ${label}`, async () => {
        const response = await fetch(`http://${origin}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-api-key': app.owner.key },
          body: JSON.stringify({ query: SUBSCRIBE, variables: { v: value } }),
        });
        const text = await response.text();
        expect(response.status).toBeLessThan(500);
        expect(text).toContain('NOT_FOUND');
        expect(text).not.toMatch(/Unexpected error|INTERNAL_SERVER_ERROR/);
      });
      it(`graphql-ws projectEvents projectId ← ${label}`, async () => {
        const socket = new WebSocket(`ws://${origin}/graphql`, 'graphql-transport-ws');
        const messages: Array<{ type: string; id?: string; payload?: unknown }> = [];
        const done = new Promise<void>((resolve, reject) => {
          socket.on('message', (data) => {
            const message = JSON.parse(data.toString()) as { type: string; id?: string; payload?: unknown };
            messages.push(message);
            if (message.type === 'connection_ack')
              socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUBSCRIBE, variables: { v: value } } }));
            if (message.id === '1' && message.type !== 'connection_ack') resolve();
          });
          socket.on('close', (code) => reject(new Error(`closed ${code}: ${JSON.stringify(messages)}`)));
        });
        await new Promise((resolve) => socket.once('open', resolve));
        socket.send(JSON.stringify({ type: 'connection_init', payload: { 'x-api-key': app.owner.key } }));
        await done;
        socket.close(1000);
        const text = JSON.stringify(messages);
        expect(text).toContain('NOT_FOUND');
        expect(text).not.toMatch(/Unexpected error|INTERNAL_SERVER_ERROR/);
      });
    }
  });
});

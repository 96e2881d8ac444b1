import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { CofferClient, CofferClientError, documents } from '../../src/client/index.js';

/** The client's error mapping and retry rule, against a scripted fetch (the CLI tests use a real server). */
function scripted(answers: Array<() => Response | Promise<Response>>) {
  const calls: Array<{ body: string; headers: Record<string, string> }> = [];
  const fake = (async (_url: string, init: RequestInit) => {
    calls.push({ body: String(init.body), headers: init.headers as Record<string, string> });
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    return next();
  }) as unknown as typeof fetch;
  return { fake, calls };
}
const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const unavailable = () => json({ errors: [{ message: 'The database is unavailable.', extensions: { code: 'SERVICE_UNAVAILABLE' } }] }, 503);

describe('CofferClient', () => {
  it('sends the key as x-api-key and returns typed data', async () => {
    const { fake, calls } = scripted([() => json({ data: { secret: { name: 'A', version: 1, environment: null, value: 'v' } } })]);
    const client = new CofferClient({ url: 'http://coffer.test/graphql', apiKey: 'cof_key', fetch: fake });
    expect(await client.getSecret('A')).toBe('v');
    expect(calls[0]!.headers['x-api-key']).toBe('cof_key');
    expect(JSON.parse(calls[0]!.body)).toMatchObject({ variables: { name: 'A' } });
  });

  it('retries a query on a retryable error, never a mutation', async () => {
    const query = scripted([unavailable, () => json({ data: { secretValues: [] } })]);
    const reader = new CofferClient({ url: 'http://coffer.test/graphql', apiKey: 'k', fetch: query.fake, retryDelayMs: 1 });
    expect(await reader.secretValues({ type: 'ACCOUNT' })).toEqual([]);
    expect(query.calls).toHaveLength(2);

    const mutation = scripted([unavailable, () => json({ data: { upsertSecret: null } })]);
    const writer = new CofferClient({ url: 'http://coffer.test/graphql', apiKey: 'k', fetch: mutation.fake, retryDelayMs: 1 });
    const error = await writer
      .request(documents.UpsertSecretDocument, { input: { name: 'A', value: 'v' } })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CofferClientError);
    expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true });
    expect(mutation.calls).toHaveLength(1);
  });

  it('maps field errors, refused credentials, timeouts and unreachable servers to coded errors', async () => {
    const bad = scripted([
      () =>
        json({
          errors: [
            {
              message: 'The input is not valid.',
              extensions: { code: 'BAD_USER_INPUT', fields: [{ field: 'name', message: 'must be A-Z' }] },
            },
          ],
        }),
    ]);
    const error = await new CofferClient({ url: 'http://coffer.test/graphql', apiKey: 'k', fetch: bad.fake })
      .getSecret('x')
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', retryable: false, fields: [{ field: 'name', message: 'must be A-Z' }] });

    const slowFetch = ((url: string, init: RequestInit) =>
      new Promise<Response>((_, reject) =>
        init.signal!.addEventListener('abort', () => reject(init.signal!.reason as Error)),
      )) as unknown as typeof fetch;
    const timedOut = await new CofferClient({ url: 'http://coffer.test/graphql', apiKey: 'k', fetch: slowFetch, timeoutMs: 20, retries: 0 })
      .getSecret('A')
      .catch((caught: unknown) => caught);
    expect(timedOut).toMatchObject({ code: 'TIMEOUT', retryable: true });

    const unreachable = await new CofferClient({ url: 'http://127.0.0.1:9/graphql', apiKey: 'k', retries: 0 })
      .getSecret('A')
      .catch((caught: unknown) => caught);
    expect(unreachable).toMatchObject({ code: 'NETWORK_ERROR' });
  });

  it("keeps an error's other extensions (a sync CONFLICT's activeRunId) apart from code and fields", async () => {
    const conflict = scripted([
      () =>
        json({
          errors: [{ message: 'A sync is already running.', extensions: { code: 'CONFLICT', activeRunId: 'run-1', fields: [] } }],
        }),
    ]);
    const error = await new CofferClient({ url: 'http://coffer.test/graphql', apiKey: 'k', fetch: conflict.fake })
      .request(documents.StartStripeSyncDocument, { projectId: 'p', environment: 'TEST' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CofferClientError);
    expect(error).toMatchObject({ code: 'CONFLICT', fields: [], extensions: { activeRunId: 'run-1' } });
    expect((error as CofferClientError).extensions).not.toHaveProperty('code');
  });

  it('reports a refused subscription credential to onError as UNAUTHENTICATED, and close() still resolves', async () => {
    // A graphql-ws server that refuses every connection the way Coffer refuses a bad key.
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    server.on('connection', (socket) => socket.once('message', () => socket.close(4401, 'Unauthorized')));
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const url = `http://127.0.0.1:${port}/graphql`;
      const variables = { projectId: 'p', environment: 'TEST' } as const;
      const client = new CofferClient({ url, apiKey: 'k' });
      const refused = new Promise<CofferClientError>((resolve) =>
        client.subscribe(documents.StripeSyncProgressDocument, variables, () => {}, resolve),
      );
      expect(await refused).toMatchObject({ code: 'UNAUTHENTICATED', retryable: false });
      await expect(client.close()).resolves.toBeUndefined();

      // Closed while the refusal is on its way (a command whose first request failed at once).
      const hasty = new CofferClient({ url, apiKey: 'k' });
      const connected = new Promise((resolve) => server.once('connection', resolve));
      hasty.subscribe(documents.StripeSyncProgressDocument, variables, () => {});
      await connected;
      await expect(hasty.close()).resolves.toBeUndefined();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

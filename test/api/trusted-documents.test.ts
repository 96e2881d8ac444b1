import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHttpServer } from '../../src/app.js';
import { graphql } from '../../src/generated/graphql/index.js';
import { createTestApp, errorCodes, type TestApp } from '../support/app.js';

// The manifest `npm run codegen` writes for the tests' own documents (this file's included).
const manifest = fileURLToPath(new URL('../../src/generated/graphql/persisted-documents.json', import.meta.url));

const TrustedMe = graphql(`
  query TrustedMe {
    me {
      id
    }
  }
`);
const hashOf = (document: unknown) => (document as { __meta__: { hash: string } }).__meta__.hash;
const arbitrary = 'query Arbitrary { me { id email } }';
const arbitrarySubscription =
  'subscription ArbitrarySub($projectId: ID!) { stripeSyncProgress(projectId: $projectId, environment: TEST) { sequence } }';

describe('TRUSTED_DOCUMENTS set', () => {
  let app: TestApp;
  let http: ReturnType<typeof createHttpServer>;
  let base: string;
  beforeAll(async () => {
    app = await createTestApp({ env: { TRUSTED_DOCUMENTS: manifest } });
    http = createHttpServer(app.yoga);
    await new Promise<void>((resolve) => http.server.listen(0, '127.0.0.1', resolve));
    base = `127.0.0.1:${(http.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await http?.close();
    await app?.close();
  });

  it('runs a manifest document sent by hash (documentId or persistedQuery extension)', async () => {
    const byId = await app.request({ documentId: hashOf(TrustedMe) }, { credential: app.owner.key });
    expect(byId.json).toEqual({ data: { me: { id: app.owner.user.id } } });
    const byExtension = await app.request(
      { extensions: { persistedQuery: { version: 1, sha256Hash: hashOf(TrustedMe) } } },
      { credential: app.owner.key },
    );
    expect(byExtension.json).toEqual({ data: { me: { id: app.owner.user.id } } });
  });

  it('runs a manifest document sent as full text, however it is printed', async () => {
    const result = await app.execute(TrustedMe, {}, { credential: app.owner.key });
    expect(result.data).toEqual({ me: { id: app.owner.user.id } });
    expect(print(TrustedMe)).not.toBe('query TrustedMe { me { id } }');
  });

  it('refuses an arbitrary document or an unknown hash from a developer with PERSISTED_QUERY_ONLY', async () => {
    const refused = await app.request({ query: arbitrary }, { credential: app.owner.key });
    expect(refused.status).toBe(403);
    expect(errorCodes(refused.json)).toEqual(['PERSISTED_QUERY_ONLY']);
    expect(refused.json.data).toBeUndefined();
    const unknown = await app.request({ documentId: 'sha256:0000' }, { credential: app.owner.key });
    expect(errorCodes(unknown.json)).toEqual(['PERSISTED_QUERY_ONLY']);
    const anonymous = await app.request({ query: arbitrary });
    expect(errorCodes(anonymous.json)).toEqual(['PERSISTED_QUERY_ONLY']);
  });

  it('lets an admin send an arbitrary document', async () => {
    const result = await app.request({ query: arbitrary }, { credential: app.admin.key });
    expect(result.json.errors).toBeUndefined();
    expect(result.json.data).toMatchObject({ me: { id: app.admin.user.id } });
  });

  it('refuses an arbitrary subscription over SSE from a developer', async () => {
    const response = await app.yoga.fetch('http://coffer.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-api-key': app.owner.key },
      body: JSON.stringify({ query: arbitrarySubscription, variables: { projectId: app.project.id } }),
    });
    const text = await response.text();
    expect(text).toContain('PERSISTED_QUERY_ONLY');
    expect(text).not.toContain('"sequence"');
  });

  it('refuses an arbitrary subscription over graphql-ws from a developer', async () => {
    const client = createClient({
      url: `ws://${base}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { 'x-api-key': app.owner.key },
      retryAttempts: 0,
    });
    const ending = await new Promise<unknown>((resolve) => {
      const timer = setTimeout(() => resolve('still open'), 10_000);
      client.subscribe(
        { query: arbitrarySubscription, variables: { projectId: app.project.id } },
        {
          next: () => undefined,
          error: (error) => {
            clearTimeout(timer);
            resolve(error);
          },
          complete: () => {
            clearTimeout(timer);
            resolve('complete');
          },
        },
      );
    });
    await client.dispose();
    expect(JSON.stringify(ending)).toContain('PERSISTED_QUERY_ONLY');
  });
});

describe('TRUSTED_DOCUMENTS unset', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('accepts an arbitrary document from a developer', async () => {
    const result = await app.request({ query: arbitrary }, { credential: app.owner.key });
    expect(result.json.errors).toBeUndefined();
    expect(result.json.data).toMatchObject({ me: { id: app.owner.user.id } });
  });
});

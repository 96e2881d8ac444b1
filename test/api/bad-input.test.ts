import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../src/generated/graphql/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { expectError, type Answer } from '../support/assertions.js';
import { createApiKey } from '../../src/features/credentials/index.js';
import { createHttpServer } from '../../src/app.js';

const Me = graphql(`query BadInputMe { me { id email } }`);
const CreateProject = graphql(`mutation BadInputCreateProject($input: CreateProjectInput!) { createProject(input: $input) { id name } }`);
const IssueToken = graphql(`mutation BadInputIssueToken($input: IssueTokenInput!) { issueToken(input: $input) { token } }`);
const RevokeApiKey = graphql(`mutation BadInputRevoke($id: ID!) { revokeApiKey(id: $id) { id } }`);

/** No bad request may produce a 500, a stack trace, or an error without a code. */
const expectCleanFailure = (response: Answer, code: string) => expectError(response, code, { among: true });

describe('bad input gets a coded error, never a 500', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { MAX_REQUEST_BODY_BYTES: '4096' } });
  });
  afterAll(() => app.close());

  it('malformed JSON', async () => {
    const response = await app.yoga.fetch('http://coffer.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": ',
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: Array<{ message: string }> };
    expect(body.errors[0]?.message).toMatch(/JSON/i);
  });

  it('syntax errors in the query', async () => {
    expectCleanFailure(await app.request({ query: '{ me { id ' }, { credential: app.owner.key }), 'GRAPHQL_PARSE_FAILED');
  });

  it('unknown fields', async () => {
    expectCleanFailure(await app.request({ query: '{ me { id password } }' }, { credential: app.owner.key }), 'GRAPHQL_VALIDATION_FAILED');
  });

  it('unknown input fields and wrong variable types', async () => {
    const unknownField = await app.request(
      { query: 'mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }', variables: { i: { name: 'x', owner: 'me' } } },
      { credential: app.owner.key },
    );
    expectCleanFailure(unknownField, 'BAD_USER_INPUT');
    const wrongType = await app.request(
      { query: 'mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }', variables: { i: { name: 42 } } },
      { credential: app.owner.key },
    );
    expectCleanFailure(wrongType, 'BAD_USER_INPUT');
  });

  it('validation failures name the field and change nothing', async () => {
    const before = await app.db.prisma.project.count();
    const response = await app.execute(CreateProject, { input: { name: '   ' } }, { credential: app.owner.key });
    expectCleanFailure(response, 'BAD_USER_INPUT');
    expect(response.errors[0]?.extensions?.fields).toEqual([expect.objectContaining({ field: 'input.name' })]);
    expect(await app.db.prisma.project.count()).toBe(before);
  });

  it('oversize bodies are refused before parsing', async () => {
    const response = await app.request({ query: `{ me { id } } # ${'x'.repeat(10_000)}` }, { credential: app.owner.key });
    expect(response.status).toBe(413);
  });

  it('an endless body sent in chunks (no Content-Length): 413, and reading stops near the limit', async () => {
    let pulled = 0;
    const chunk = new TextEncoder().encode(`{"query":"{ me { id } }","padding":"${'a'.repeat(16 * 1024)}`);
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const response = await app.yoga.fetch('http://coffer.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': app.owner.key },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    await response.body?.cancel();
    // The limit is 4 KiB: a few chunks of read-ahead at most, never the body.
    expect(pulled).toBeLessThan(8 * chunk.byteLength);
  });

  describe('over a real socket (where Content-Length is trusted, and chunks are counted)', () => {
    let origin: string;
    let close: () => Promise<void>;
    beforeAll(async () => {
      const http = createHttpServer(app.yoga);
      await new Promise<void>((resolve) => http.server.listen(0, '127.0.0.1', resolve));
      origin = `http://127.0.0.1:${(http.server.address() as AddressInfo).port}`;
      close = () => http.close();
    });
    afterAll(() => close());

    /** POSTs `chunks` to /graphql, chunked unless `contentLength` is given; status and JSON body. */
    function post(chunks: string[], contentLength?: number): Promise<{ status: number; body: string }> {
      return new Promise((resolve, reject) => {
        const headers: Record<string, string | number> = { 'content-type': 'application/json', 'x-api-key': app.owner.key };
        if (contentLength !== undefined) headers['content-length'] = contentLength;
        const req = request(`${origin}/graphql`, { method: 'POST', headers }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        // The server may answer and close before every chunk is written: that is the point.
        req.on('error', (error: NodeJS.ErrnoException) =>
          error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error),
        );
        for (const chunk of chunks) req.write(chunk);
        req.end();
      });
    }

    it('a small body with Content-Length is answered', async () => {
      const body = JSON.stringify({ query: '{ me { id } }' });
      const answer = await post([body], Buffer.byteLength(body));
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({ data: { me: { id: app.owner.user.id } } });
    });

    it('a small chunked body is answered', async () => {
      const answer = await post(['{"query":', '"{ me { id } }"}']);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({ data: { me: { id: app.owner.user.id } } });
    });

    it('a chunked body over the limit: 413, never parsed', async () => {
      const answer = await post(['{"query":"{ me { id } }","padding":"', ...Array.from({ length: 8 }, () => 'a'.repeat(1024)), '"}']);
      expect(answer.status).toBe(413);
      expect(answer.body).not.toContain('"data"');
    });

    it('a Content-Length over the limit: 413 before the body is read', async () => {
      const answer = await post(['{"query":"{ me { id } }"}'], 10_000);
      expect(answer.status).toBe(413);
    });
  });

  it('depth bombs', async () => {
    const deep = `{ me { id } ${'projects { edges { node { owner { '.repeat(4)}id${' } } } }'.repeat(4)} }`;
    const response = await app.request({ query: deep }, { credential: app.owner.key });
    expectCleanFailure(response, 'BAD_USER_INPUT');
    expect(response.json.errors?.[0]?.message).toMatch(/depth limit/i);
  });

  it('alias bombs', async () => {
    const aliases = Array.from({ length: 50 }, (_, i) => `a${i}: me { id }`).join(' ');
    const response = await app.request({ query: `{ ${aliases} }` }, { credential: app.owner.key });
    expectCleanFailure(response, 'BAD_USER_INPUT');
    expect(response.json.errors?.[0]?.message).toMatch(/aliases limit/i);
  });

  it('a malformed Authorization header', async () => {
    const response = await app.execute(Me, {}, { headers: { authorization: 'Basic abc' } });
    expectCleanFailure(response, 'UNAUTHENTICATED');
  });

  it('a token signed with another secret', async () => {
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('coffer')
      .setAudience('coffer-api')
      .setSubject(app.owner.user.id)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('x'.repeat(40)));
    const response = await app.execute(Me, {}, { credential: forged, as: 'bearer' });
    expectCleanFailure(response, 'UNAUTHENTICATED');
    expect(response.errors[0]?.message).toBe('The token is not valid.');
  });

  it('an expired token', async () => {
    const issued = await app.execute(IssueToken, { input: { userId: app.owner.user.id } }, { credential: app.admin.key });
    const token = issued.data!.issueToken.token;
    expect((await app.execute(Me, {}, { credential: token, as: 'bearer' })).data?.me.id).toBe(app.owner.user.id);
    app.clock.advance(2 * 3600_000);
    try {
      const response = await app.execute(Me, {}, { credential: token, as: 'bearer' });
      expectCleanFailure(response, 'UNAUTHENTICATED');
      expect(response.errors[0]?.message).toBe('The token has expired.');
    } finally {
      app.clock.advance(-2 * 3600_000);
    }
  });

  it('a revoked API key', async () => {
    const { key, apiKey } = await createApiKey({
      db: app.db,
      keys: app.services.auth.keys,
      userId: app.stranger.user.id,
      name: 'soon revoked',
    });
    expect((await app.execute(Me, {}, { credential: key })).data?.me.id).toBe(app.stranger.user.id);
    await app.execute(RevokeApiKey, { id: apiKey.id }, { credential: key });
    const response = await app.execute(Me, {}, { credential: key });
    expectCleanFailure(response, 'UNAUTHENTICATED');
    expect(response.errors[0]?.message).toBe('The API key has been revoked.');
  });

  it('a well-formed but unknown API key, and a key with a wrong secret', async () => {
    const wrongSecret = `${app.owner.key.slice(0, 17)}${'A'.repeat(43)}`;
    for (const key of ['cof_AAAAAAAAAAAA_' + 'B'.repeat(43), wrongSecret, 'cof_garbage']) {
      const response = await app.execute(Me, {}, { credential: key });
      expectCleanFailure(response, 'UNAUTHENTICATED');
      expect(response.errors[0]?.message).toBe('The API key is not valid.');
    }
  });

  it('bad pagination arguments and forged cursors', async () => {
    for (const query of [
      '{ projects(first: 0) { edges { cursor } } }',
      '{ projects(first: 101) { edges { cursor } } }',
      '{ projects(after: "x", before: "y") { edges { cursor } } }',
      '{ projects(after: "Zm9yZ2Vk") { edges { cursor } } }',
    ]) {
      expectCleanFailure(await app.request({ query }, { credential: app.owner.key }), 'BAD_USER_INPUT');
    }
  });

  it('a duplicate project name is a CONFLICT', async () => {
    const first = await app.execute(CreateProject, { input: { name: 'dup' } }, { credential: app.owner.key });
    expect(first.errors).toEqual([]);
    expectCleanFailure(await app.execute(CreateProject, { input: { name: 'dup' } }, { credential: app.owner.key }), 'CONFLICT');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../src/generated/graphql/index.js';
import { createCapturingLogger } from '../support/logs.js';
import { createTestApp, type TestApp } from '../support/app.js';

const Me = graphql(`query LoggedMe { me { id } }`);
const CreateApiKey = graphql(`mutation LoggedCreateApiKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`);

describe('request logging', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  const requestLines = () => app.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'request');

  it('writes one line per request with operation name, duration and outcome', async () => {
    const before = requestLines().length;
    const response = await app.execute(Me, {}, { credential: app.owner.key, headers: { 'x-request-id': 'req-abc-123' } });
    expect(response.headers.get('x-request-id')).toBe('req-abc-123');
    const lines = requestLines().slice(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      requestId: 'req-abc-123',
      operationName: 'LoggedMe',
      operationType: 'query',
      status: 200,
      outcome: 'ok',
      path: '/graphql',
    });
    expect(typeof lines[0]?.durationMs).toBe('number');
  });

  it('records the error codes of a failed request', async () => {
    const before = requestLines().length;
    await app.execute(Me, {}, { credential: 'cof_AAAAAAAAAAAA_' + 'C'.repeat(43) });
    expect(requestLines().slice(before)[0]).toMatchObject({ operationName: 'LoggedMe', outcome: 'error', errorCodes: ['UNAUTHENTICATED'] });
  });

  it('never logs credentials: API keys sent, API keys created, tokens', async () => {
    const created = await app.execute(CreateApiKey, { input: { name: 'logged' } }, { credential: app.owner.key, as: 'bearer' });
    const newKey = created.data!.createApiKey!.key;
    const all = app.logs.join('\n');
    expect(all).not.toContain(app.owner.key);
    expect(all).not.toContain(newKey);
    expect(all).not.toContain(newKey.slice(17));
  });

  it('redacts credential-bearing fields by configuration even when a whole object is logged', () => {
    const { logger, lines } = createCapturingLogger();
    const canary = 'sk_live_CANARY_0123456789abcdef';
    logger.info(
      {
        req: { headers: { authorization: `Bearer ${canary}`, 'x-api-key': canary } },
        input: { value: canary, secretKey: canary, liveWebhookSecret: canary },
        variables: { value: canary },
        token: canary,
      },
      'careless',
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(canary);
    expect(lines[0]).toContain('[redacted]');
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';

/** METRICS=on: /metrics in Prometheus text format, moved by real requests; off by default. */

const scrape = (app: TestApp, headers: Record<string, string> = {}) => app.yoga.fetch('http://coffer.test/metrics', { headers });

/** The value of one series in Prometheus text format (0 when it is absent). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const line = text
    .split('\n')
    .find((entry) => entry.startsWith(`${name}{`) && wanted.every((pair) => entry.slice(name.length).includes(pair)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('METRICS=on', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { METRICS: 'on' } });
  });
  afterAll(() => app?.close());

  it('counts operations by name and outcome, authentication failures and webhooks', async () => {
    const key = app.admin.key;
    for (let i = 0; i < 3; i++) expect((await app.request({ query: 'query Me { me { id } }' }, { credential: key })).status).toBe(200);
    await app.request({ query: '{ me { id } }' }, { credential: key });
    await app.request({ query: 'query Evil$Name { me { id } }' }, { credential: key }); // a syntax error: never a label
    await app.request({ query: `query ${'x'.repeat(80)} { me { id } }` }, { credential: key });
    await app.request({ query: 'query Me { me { id } }' }, { credential: 'cof_AAAAAAAAAAAA_' + 'A'.repeat(43) });
    await app.yoga.fetch(`http://coffer.test/webhooks/stripe/${randomUUID()}/test`, { method: 'POST', body: '{}' });

    const response = await scrape(app);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(sample(text, 'coffer_graphql_requests_total', { operation: 'Me', outcome: 'OK' })).toBe(3);
    expect(sample(text, 'coffer_graphql_request_duration_seconds_count', { operation: 'Me', outcome: 'OK' })).toBe(3);
    expect(sample(text, 'coffer_graphql_requests_total', { operation: 'other', outcome: 'OK' })).toBe(2);
    expect(sample(text, 'coffer_auth_failures_total', { code: 'UNAUTHENTICATED' })).toBe(1);
    expect(text).toMatch(/^coffer_stripe_webhook_requests_total\{status="4\d\d"\} 1$/m);
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).not.toContain('Evil');
    expect(text).not.toContain('x'.repeat(64));
  });
});

describe('/metrics refusals', () => {
  it('is 404 when METRICS is off (the default)', async () => {
    const app = await createTestApp();
    try {
      expect((await scrape(app)).status).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('with METRICS_TOKEN, is 401 without that bearer token and 200 with it', async () => {
    const app = await createTestApp({ env: { METRICS: 'on', METRICS_TOKEN: 'scrape-token-0123456789' } });
    try {
      expect((await scrape(app)).status).toBe(401);
      expect((await scrape(app, { authorization: 'Bearer wrong' })).status).toBe(401);
      expect((await scrape(app, { authorization: 'Bearer scrape-token-0123456789' })).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/auth/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { errorCodes, type Answer } from '../support/assertions.js';

/**
 * Failed sign-ins are limited per client address and per API-key id over a sliding window:
 * a brute force gets RATE_LIMITED with Retry-After instead of answers, while valid keys keep
 * working, whatever others try against them or from elsewhere.
 */

const TEST_REDIS_URL = process.env.TEST_REDIS_URL;
const ME = '{ me { id } }';
/** Coffer sits behind one proxy here: the client's address is the last X-Forwarded-For entry. */
const THROTTLE_ENV = {
  TRUST_PROXY_HOPS: '1',
  AUTH_FAILURES_PER_ADDRESS: '5',
  AUTH_FAILURES_PER_KEY: '4',
  AUTH_FAILURE_WINDOW_SECONDS: '60',
};

const apps: TestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function throttledApp(env: Record<string, string> = {}) {
  const app = await createTestApp({ env: { ...THROTTLE_ENV, ...env } });
  apps.push(app);
  return app;
}

async function call(app: TestApp, key: string, address: string) {
  const response = await app.yoga.fetch('http://coffer.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key, 'x-forwarded-for': address },
    body: JSON.stringify({ query: ME }),
  });
  const json = (await response.json()) as Answer['json'];
  return { status: response.status, code: errorCodes({ json })[0] ?? 'ok', retryAfter: response.headers.get('retry-after') };
}

const wrongKey = () => generateApiKey().key;
/** The right lookup id with a wrong secret: what guessing a known key's secret looks like. */
const guessFor = (key: string) => `${key.slice(0, 17)}${generateApiKey().key.slice(17)}`;

describe('credential throttling', () => {
  it('an address that keeps failing is refused RATE_LIMITED with Retry-After, before any lookup; a valid key from another address keeps working', async () => {
    const app = await throttledApp();
    const attacker = '203.0.113.7';
    const outcomes = [];
    for (let attempt = 0; attempt < 8; attempt++) outcomes.push(await call(app, wrongKey(), attacker));
    expect(outcomes.slice(0, 5).map((outcome) => outcome.code)).toEqual(Array(5).fill('UNAUTHENTICATED'));
    for (const refused of outcomes.slice(5)) {
      expect(refused).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
      expect(Number(refused.retryAfter)).toBeGreaterThan(0);
      expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    }
    // Even the right key is refused from that address while it is throttled ...
    expect((await call(app, app.owner.key, attacker)).code).toBe('RATE_LIMITED');
    // ... and works from anywhere else, throughout.
    expect(await call(app, app.owner.key, '198.51.100.20')).toMatchObject({ status: 200, code: 'ok' });
  });

  it("guessing one key's secret from many addresses is RATE_LIMITED for that key id, and its owner's right key still works", async () => {
    const app = await throttledApp();
    const outcomes = [];
    for (let attempt = 0; attempt < 7; attempt++) outcomes.push(await call(app, guessFor(app.owner.key), `192.0.2.${attempt + 1}`));
    expect(outcomes.slice(0, 4).map((outcome) => outcome.code)).toEqual(Array(4).fill('UNAUTHENTICATED'));
    expect(outcomes.slice(4).map((outcome) => outcome.code)).toEqual(Array(3).fill('RATE_LIMITED'));
    expect(await call(app, app.owner.key, '192.0.2.99')).toMatchObject({ status: 200, code: 'ok' });
    // Another key's id is not affected.
    expect((await call(app, guessFor(app.stranger.key), '192.0.2.100')).code).toBe('UNAUTHENTICATED');
  });

  it('the window slides: failures older than it no longer count', async () => {
    const app = await throttledApp({ AUTH_FAILURE_WINDOW_SECONDS: '2' });
    for (let attempt = 0; attempt < 5; attempt++) await call(app, wrongKey(), '203.0.113.50');
    expect((await call(app, wrongKey(), '203.0.113.50')).code).toBe('RATE_LIMITED');
    app.clock.advance(2_100);
    expect((await call(app, app.owner.key, '203.0.113.50')).code).toBe('ok');
  });

  it.skipIf(!TEST_REDIS_URL)('with REDIS_URL the count is shared: failures on one replica throttle the address on another', async () => {
    const namespace = `203.0.113.${Math.floor(Math.random() * 200) + 20}`;
    const replicaA = await throttledApp({ REDIS_URL: TEST_REDIS_URL! });
    const replicaB = await throttledApp({ REDIS_URL: TEST_REDIS_URL! });
    for (let attempt = 0; attempt < 5; attempt++) await call(replicaA, wrongKey(), namespace);
    expect((await call(replicaB, wrongKey(), namespace)).code).toBe('RATE_LIMITED');
    expect((await call(replicaB, replicaB.owner.key, '198.51.100.77')).code).toBe('ok');
  });

  it.skipIf(!TEST_REDIS_URL)('another deployment on the same Redis (its own REDIS_KEY_PREFIX) does not share the count', async () => {
    const address = `198.18.0.${Math.floor(Math.random() * 200) + 20}`;
    const prefix = `coffer-test-${Math.random().toString(36).slice(2)}:`;
    const deploymentA = await throttledApp({ REDIS_URL: TEST_REDIS_URL!, REDIS_KEY_PREFIX: `${prefix}a:` });
    const deploymentB = await throttledApp({ REDIS_URL: TEST_REDIS_URL!, REDIS_KEY_PREFIX: `${prefix}b:` });
    for (let attempt = 0; attempt < 6; attempt++) await call(deploymentA, wrongKey(), address);
    expect((await call(deploymentA, deploymentA.owner.key, address)).code).toBe('RATE_LIMITED');
    expect((await call(deploymentB, deploymentB.owner.key, address)).code).toBe('ok');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPortUrl, maskOf, randomBody, RemoveStripe, RetryStripeWebhook, startStripeHarness, type StripeHarness } from '../support.js';

/**
 * One tour through every Stripe operation, successful and failing, then the property: no full
 * key or signing secret used on the way appears in logs, errors, audit records or responses.
 * (Every other file in this folder ends with the same check over its own tests.)
 */
let main: StripeHarness;
let offline: StripeHarness;
let local: StripeHarness;
const harnesses = () => [main, offline, local];

async function tour(h: StripeHarness) {
  const a = h.account('Canary A').id;
  const b = h.account('Canary B').id;
  const project = await h.project();
  const projectId = project.id;

  await h.configure(projectId, {
    testSecretKey: h.key(a),
    testPublishableKey: h.key(a, { kind: 'publishable' }),
    liveSecretKey: h.key(a, { mode: 'live' }),
    livePublishableKey: h.key(a, { mode: 'live', kind: 'publishable' }),
    liveWebhookSecret: h.manualWebhookSecret(),
  });
  await h.readConfig(projectId);
  const secret = (await h.storedWebhookSecret(projectId))!;

  // Refusals of every kind, each carrying full credentials in the request.
  await h.configure(projectId, {
    testSecretKey: h.key(a, { mode: 'live' }),
    testPublishableKey: h.key(a, { mode: 'live', kind: 'publishable' }),
    testWebhookSecret: h.key(a),
  });
  await h.configure(projectId, { liveSecretKey: `sk_live_${randomBody()}`, testSecretKey: h.key(a) });
  await h.configure(projectId, { testSecretKey: h.key(a, { kind: 'restricted', permissions: 'none' }) });
  await h.validate(projectId, { testSecretKey: `sk_test_${randomBody()}` });
  h.fake.failNext(1, { status: 500, path: /^\/v1\/account$/, shouldRetry: false });
  await h.configure(projectId, { testSecretKey: h.key(a) });
  h.fake.failNext(1, { status: 401, path: /^\/v1\/account$/ });
  await h.validate(projectId, { liveSecretKey: h.key(a, { mode: 'live' }) });
  await h.configure(projectId, { testSecretKey: h.key(a) }, { credential: h.app.stranger.key });

  // Successes and changes.
  await h.validate(projectId, { testSecretKey: h.key(a), liveSecretKey: h.key(b, { mode: 'live', kind: 'restricted' }) });
  await h.configure(projectId, { testSecretKey: h.key(a) });
  await h.configure(projectId, { testSecretKey: h.key(b) });
  await h.storedWebhookSecret(projectId);
  h.fake.failNext(1, { status: 500, method: 'POST', path: /^\/v1\/webhook_endpoints$/, shouldRetry: false });
  await h.execute(RetryStripeWebhook, { projectId, environment: 'TEST' });
  await h.execute(RetryStripeWebhook, { projectId, environment: 'TEST' });
  const current = (await h.storedWebhookSecret(projectId))!;

  // Webhooks, good and bad.
  const payload = h.eventPayload({ object: { id: 'cus_canary', object: 'customer', name: 'Ada' } });
  await h.sendWebhook(projectId, payload, { secret: current });
  await h.sendWebhook(projectId, payload, { secret: current });
  await h.sendWebhook(projectId, payload, { secret });
  await h.sendWebhook(projectId, payload, { secret: current, timestamp: h.clockSeconds() - 600 });
  await h.sendWebhook(projectId, h.eventPayload({ livemode: true, object: { id: 'cus_live', object: 'customer' } }), { secret: current });

  await h.configure(projectId, { testPublishableKey: null, liveWebhookSecret: null });
  await h.execute(RemoveStripe, { projectId, environment: 'TEST' });
  await h.execute(RemoveStripe, { projectId, environment: 'LIVE' });
}

beforeAll(async () => {
  main = await startStripeHarness();
  offline = await startStripeHarness({ env: { STRIPE_API_BASE: await closedPortUrl() } });
  local = await startStripeHarness({ env: { PUBLIC_URL: 'http://localhost:4000' } });
  await tour(main);
  for (const h of [offline, local]) {
    const account = h.account().id;
    const project = await h.project();
    await h.configure(project.id, { testSecretKey: h.key(account), testPublishableKey: h.key(account, { kind: 'publishable' }) });
    await h.validate(project.id, { liveSecretKey: h.key(account, { mode: 'live' }) });
    await h.execute(RetryStripeWebhook, { projectId: project.id, environment: 'TEST' });
  }
}, 120_000);
afterAll(async () => {
  for (const h of harnesses()) await h?.close();
});

const allLeaks = () => Promise.all(harnesses().map((h) => h.leaks()));

describe('leak canary', () => {
  it('collected full credentials of every kind along the way', () => {
    const all = harnesses().flatMap((h) => [...h.credentials]);
    for (const prefix of ['sk_test_', 'sk_live_', 'rk_test_', 'rk_live_', 'pk_test_', 'pk_live_', 'whsec_']) {
      expect(
        all.some((credential) => credential.startsWith(prefix)),
        prefix,
      ).toBe(true);
    }
    expect(all.length).toBeGreaterThan(25);
  });

  it('no full credential appears in the logs', async () => {
    for (const h of harnesses()) expect(h.app.logs.length).toBeGreaterThan(0);
    expect((await allLeaks()).map((leaks) => leaks.logs)).toEqual([[], [], []]);
  });

  it('no full credential appears in any GraphQL error (message or extensions)', async () => {
    const errorCount = main.responses.filter((text) => text.includes('"errors"')).length;
    expect(errorCount).toBeGreaterThan(5);
    expect((await allLeaks()).map((leaks) => leaks.errors)).toEqual([[], [], []]);
  });

  it('no full credential appears in any audit_events row', async () => {
    expect(await main.app.db.prisma.auditEvent.count({ where: { action: { startsWith: 'stripe.' } } })).toBeGreaterThan(5);
    expect((await allLeaks()).map((leaks) => leaks.audit)).toEqual([[], [], []]);
  });

  it('responses never hold a full credential, only masked forms', async () => {
    const leaks = await allLeaks();
    expect(leaks.map((found) => found.responses)).toEqual([[], [], []]);
    expect(leaks.map((found) => found.unmaskedInResponses)).toEqual([[], [], []]);
    const all = main.responses.join('\n');
    expect(all).toMatch(/sk_test_\.\.\.[A-Za-z0-9]{4}/);
    expect(all).toMatch(/whsec_\.\.\.[A-Za-z0-9]{4}/);
  });

  it('the canary itself notices a planted leak', async () => {
    const [credential] = [...main.credentials];
    main.app.logs.push(`{"msg":"oops","key":"${credential}"}`);
    try {
      expect((await main.leaks()).logs).toEqual([maskOf(credential!)]);
    } finally {
      main.app.logs.pop();
    }
  });
});

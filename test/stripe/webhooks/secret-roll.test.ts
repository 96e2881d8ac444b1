import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk } from '../../support/assertions.js';
import { NO_LEAKS, startStripeHarness, type StripeHarness } from '../support.js';

/**
 * Rolling a webhook signing secret: while the new one is introduced at Stripe, events signed under
 * either are accepted, for STRIPE_WEBHOOK_SECRET_OVERLAP_SECONDS (default a day); then only the new.
 */

let h: StripeHarness;
beforeAll(async () => {
  h = await startStripeHarness();
});
afterAll(() => h.close());

const secretA = 'whsec_RollFirstSecret0000000001';
const secretB = 'whsec_RollSecondSecret000000002';
const DAY_MS = 24 * 3600 * 1000;

async function deliver(projectId: string, secret: string, id: string) {
  const payload = h.eventPayload({ id, object: { id: `cus_${id}`, object: 'customer', email: null, name: id, created: 1 } });
  return (await h.sendWebhook(projectId, payload, { secret })).status;
}

describe('webhook signing-secret roll', () => {
  it('accepts the replaced secret during the overlap, then refuses it; a new account keeps no old secret', async () => {
    const account = h.account('Roll Ltd');
    const project = await h.project();
    expectOk(await h.configure(project.id, { testSecretKey: h.key(account.id), testWebhookSecret: secretA }));
    expect(await deliver(project.id, secretA, 'evt_a1')).toBe(200);

    expectOk(await h.configure(project.id, { testWebhookSecret: secretB }));
    expect(await deliver(project.id, secretB, 'evt_b1')).toBe(200);
    expect(await deliver(project.id, secretA, 'evt_a2')).toBe(200); // Stripe may still sign with the old one
    expect(await deliver(project.id, 'whsec_NeverConfigured000000003', 'evt_x1')).toBe(400);

    h.app.clock.advance(DAY_MS - 60_000);
    expect(await deliver(project.id, secretA, 'evt_a3')).toBe(200);
    h.app.clock.advance(2 * 60_000);
    expect(await deliver(project.id, secretA, 'evt_a4')).toBe(400);
    expect(await deliver(project.id, secretB, 'evt_b2')).toBe(200);

    // Rolling again replaces the previous one: only the secret just replaced overlaps.
    const secretC = 'whsec_RollThirdSecret0000000003';
    expectOk(await h.configure(project.id, { testWebhookSecret: secretC }));
    expect(await deliver(project.id, secretB, 'evt_b3')).toBe(200);
    expect(await deliver(project.id, secretA, 'evt_a5')).toBe(400);

    // Another Stripe account: the old account's secret is not accepted for a moment longer.
    const other = h.account('Roll Other Ltd');
    const secretD = 'whsec_RollOtherAccount00000004';
    expectOk(await h.configure(project.id, { testSecretKey: h.key(other.id), testWebhookSecret: secretD }));
    expect(await deliver(project.id, secretD, 'evt_d1')).toBe(200);
    expect(await deliver(project.id, secretC, 'evt_c1')).toBe(400);

    // Removing the secret removes the overlap too.
    expectOk(await h.configure(project.id, { testWebhookSecret: null }));
    expect(await deliver(project.id, secretD, 'evt_d2')).toBe(404);
    expect(await h.leaks()).toEqual(NO_LEAKS);
  });
});

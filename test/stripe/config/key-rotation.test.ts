import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeHarness, type StripeHarness } from '../support.js';

let h: StripeHarness;
beforeAll(async () => {
  h = await startStripeHarness();
});
afterAll(() => h.close());

/** Stripe credentials live in the vault's keyring: a master-key rotation moves them too. */
describe('Stripe credentials and master-key rotation', () => {
  it('re-wraps stored credentials, retires the old key, and they still work', async () => {
    const accountId = h.account('Rotating Co').id;
    const project = await h.project();
    const configured = await h.configure(project.id, { testSecretKey: h.key(accountId) });
    expect(configured.data?.configureStripe!.results[0]?.webhook?.ok).toBe(true);
    const before = await h.app.db.prisma.stripeCredential.findMany();
    const oldKeyIds = new Set(before.map((row) => row.keyId));

    const rotation = await h.app.request(
      { query: 'mutation { rotateMasterKey(generateNewKey: true) { activeKeyId rewrapped remaining retiredKeyIds } }' },
      { credential: h.app.admin.key },
    );
    const result = rotation.json.data?.rotateMasterKey as {
      activeKeyId: string;
      rewrapped: number;
      remaining: number;
      retiredKeyIds: string[];
    };
    expect(result.remaining).toBe(0);
    expect(result.rewrapped).toBeGreaterThanOrEqual(before.length);
    expect(result.retiredKeyIds.sort()).toEqual([...oldKeyIds].sort());

    const after = await h.app.db.prisma.stripeCredential.findMany();
    expect(after.every((row) => row.keyId === result.activeKeyId)).toBe(true);
    // The webhook signing secret decrypts under the new key: a signed event is accepted.
    const secret = await h.storedWebhookSecret(project.id);
    expect(secret).toMatch(/^whsec_/);
    const payload = h.eventPayload({
      id: 'evt_after_rotation',
      type: 'customer.created',
      created: h.clockSeconds(),
      object: { id: 'cus_rot', object: 'customer' },
    });
    expect((await h.sendWebhook(project.id, payload, { secret: secret! })).status).toBe(200);
  });
});

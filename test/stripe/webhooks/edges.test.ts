import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_EVENT_BYTES } from '../../../src/features/stripe/webhooks/webhook-ingestion.js';
import { KeyringUnavailableError } from '../../../src/keyring/index.js';
import { graphql } from '../../../src/generated/graphql/index.js';
import { startStripeHarness, type StripeHarness } from '../support.js';

const RejectedEvents = graphql(`
  query EdgesRejectedEvents($projectId: ID!) {
    stripeWebhookEvents(projectId: $projectId, environment: TEST, rejectedOnly: true, first: 10) {
      totalCount
      edges { node { id type objectId rejected rejectedReason } }
    }
  }
`);
const AllEvents = graphql(`
  query EdgesAllEvents($projectId: ID!) {
    stripeWebhookEvents(projectId: $projectId, environment: TEST, first: 50) { edges { node { id rejected } } }
  }
`);

/**
 * The webhook route from a hostile or unlucky side: bodies that never end, bodies sent in chunks
 * with no Content-Length, timestamps from the future, validly signed garbage, an unreadable
 * keyring. Never a 500; the limit is counted as bytes arrive and reading stops there.
 */

let h: StripeHarness;
let projectId: string;
let secret: string;
beforeAll(async () => {
  h = await startStripeHarness();
  const account = h.account('Edge Cases Ltd');
  const project = await h.project();
  const response = await h.configure(project.id, { testSecretKey: h.key(account.id) });
  expect(response.data?.configureStripe!.results[0]?.webhook?.ok).toBe(true);
  projectId = project.id;
  secret = (await h.storedWebhookSecret(project.id))!;
});
afterAll(() => h.close());

const CHUNK = 64 * 1024;

/** A body that streams `total` bytes (endless when Infinity) in 64 KiB chunks, counting what was pulled. */
function streamingBody(total: number, fill = 'a') {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= total) return controller.close();
      const size = Math.min(CHUNK, total - pulled);
      pulled += size;
      controller.enqueue(new TextEncoder().encode(fill.repeat(size)));
    },
  });
  return { stream, pulled: () => pulled };
}

async function post(path: string, body: BodyInit, headers: Record<string, string>) {
  const response = await h.app.yoga.fetch(`http://coffer.test${path}`, {
    method: 'POST',
    headers,
    body,
    duplex: 'half',
  } as RequestInit);
  return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, unknown> };
}

const route = (id = projectId) => `/webhooks/stripe/${id}/test`;
const recorded = (eventId: string) =>
  h.app.db.prisma.stripeWebhookEvent.findUnique({ where: { projectId_environment_eventId: { projectId, environment: 'TEST', eventId } } });
const customerRow = (stripeId: string) =>
  h.app.db.prisma.stripeCustomer.findUnique({ where: { projectId_environment_stripeId: { projectId, environment: 'TEST', stripeId } } });

/** A real event padded to `bytes` with a long metadata value: as Stripe would sign it. */
function paddedEvent(id: string, bytes: number) {
  const base = h.eventPayload({
    id,
    type: 'customer.updated',
    object: { id: `cus_${id}`, object: 'customer', created: 1, metadata: { pad: '' } },
  });
  return base.replace('"pad":""', `"pad":"${'x'.repeat(Math.max(0, bytes - base.length))}"`);
}

describe('body limit: counted as the bytes arrive', () => {
  it(`a signed event of 600 KB sent in chunks, without Content-Length → 413, nothing recorded`, async () => {
    const payload = paddedEvent('evt_chunked_big', 600 * 1024);
    const signature = h.fake.signWebhook(payload, secret, h.clockSeconds());
    const encoded = new TextEncoder().encode(payload);
    let offset = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= encoded.length) return controller.close();
        controller.enqueue(encoded.slice(offset, offset + CHUNK));
        offset += CHUNK;
      },
    });
    const response = await post(route(), stream, { 'stripe-signature': signature });
    expect(response.status).toBe(413);
    expect(await recorded('evt_chunked_big')).toBeNull();
  });

  it('a signed event just under the limit sent in chunks is accepted', async () => {
    const payload = paddedEvent('evt_chunked_ok', MAX_EVENT_BYTES - 1024);
    const signature = h.fake.signWebhook(payload, secret, h.clockSeconds());
    const response = await post(route(), payload, { 'stripe-signature': signature });
    expect(response).toMatchObject({ status: 200, json: { received: true } });
    expect(await recorded('evt_chunked_ok')).not.toBeNull();
  });

  it("an endless body: reading stops at the limit (past it only by the streams' own read-ahead) → 413", async () => {
    const body = streamingBody(Infinity);
    const response = await post(route(), body.stream, { 'stripe-signature': 't=1,v1=00' });
    expect(response.status).toBe(413);
    expect(body.pulled()).toBeLessThanOrEqual(MAX_EVENT_BYTES + 4 * CHUNK);
  });

  it('a declared Content-Length over the limit → 413 before any byte is read', async () => {
    const body = streamingBody(10 * 1024 * 1024);
    const response = await post(route(), body.stream, { 'stripe-signature': 't=1,v1=00', 'content-length': String(10 * 1024 * 1024) });
    expect(response.status).toBe(413);
    expect(body.pulled()).toBeLessThanOrEqual(CHUNK);
  });

  it('no signature header, or no webhook configured: refused before the body is read', async () => {
    const unsigned = streamingBody(Infinity);
    expect((await post(route(), unsigned.stream, {})).status).toBe(400);
    const unconfigured = streamingBody(Infinity);
    const response = await post(route('00000000-0000-4000-8000-000000000000'), unconfigured.stream, { 'stripe-signature': 't=1,v1=00' });
    expect(response.status).toBe(404);
    expect(unsigned.pulled() + unconfigured.pulled()).toBeLessThanOrEqual(2 * CHUNK);
  });

  it('a project id that is no UUID → 404, never an internal error', async () => {
    for (const id of ['nope', '1%00', "' OR 1=1 --", 'x'.repeat(300)]) {
      const response = await post(`/webhooks/stripe/${encodeURIComponent(id)}/test`, '{}', { 'stripe-signature': 't=1,v1=00' });
      expect([404]).toContain(response.status);
    }
  });
});

describe('signature timestamps: refused outside the tolerance in both directions', () => {
  it('ten minutes in the future → 400, nothing recorded', async () => {
    const payload = h.eventPayload({ id: 'evt_future', object: { id: 'cus_future', object: 'customer', created: 1 } });
    const response = await h.sendWebhook(projectId, payload, { secret, timestamp: h.clockSeconds() + 600 });
    expect(response.status).toBe(400);
    expect(await recorded('evt_future')).toBeNull();
  });

  it('four minutes in the future (clock skew) is inside the window → 200', async () => {
    const payload = h.eventPayload({ id: 'evt_skewed', object: { id: 'cus_skewed', object: 'customer', created: 1 } });
    const response = await h.sendWebhook(projectId, payload, { secret, timestamp: h.clockSeconds() + 240 });
    expect(response.status).toBe(200);
  });
});

describe('poison events: validly signed, unusable, acknowledged (never a 500, never retried for days)', () => {
  it('a signed body that is not JSON → 200 ignored, nothing recorded', async () => {
    const response = await h.sendWebhook(projectId, 'not json at all {', { secret });
    expect(response).toMatchObject({ status: 200, json: { received: true, ignored: 'not a Stripe event' } });
  });

  it('signed JSON without data.object, or with the wrong types → 200 ignored', async () => {
    const shapes = [
      { id: 'evt_no_object', object: 'event', type: 'customer.updated', created: h.clockSeconds(), livemode: false, data: {} },
      { id: 'evt_array', object: 'event', type: 'customer.updated', created: h.clockSeconds(), livemode: false, data: { object: [] } },
      { id: 42, object: 'event', type: 'customer.updated', created: h.clockSeconds(), livemode: false, data: { object: {} } },
      { id: 'evt_bad_created', object: 'event', type: 'x', created: 'yesterday', livemode: false, data: { object: {} } },
      [],
      null,
    ];
    for (const shape of shapes) {
      const response = await h.sendWebhook(projectId, JSON.stringify(shape), { secret });
      expect(response).toMatchObject({ status: 200, json: { ignored: 'not a Stripe event' } });
    }
  });

  it('an object the mirror cannot hold (created is text) → 200, recorded as received, not applied; again → duplicate', async () => {
    const payload = h.eventPayload({
      id: 'evt_poison_created',
      type: 'customer.created',
      object: { id: 'cus_poison', object: 'customer', created: 'not-a-number', email: 'p@example.com' },
    });
    const first = await h.sendWebhook(projectId, payload, { secret });
    expect(first).toMatchObject({ status: 200, json: { received: true } });
    expect(await recorded('evt_poison_created')).not.toBeNull();
    expect(await customerRow('cus_poison')).toBeNull();
    const again = await h.sendWebhook(projectId, payload, { secret });
    expect(again).toMatchObject({ status: 200, json: { received: true, duplicate: true } });

    // Visible to the project's owner, with why and without its data.
    const listed = await h.execute(RejectedEvents, { projectId });
    expect(listed.errors).toEqual([]);
    expect(listed.data?.stripeWebhookEvents).toMatchObject({
      totalCount: 1,
      edges: [
        {
          node: {
            id: 'evt_poison_created',
            type: 'customer.created',
            objectId: 'cus_poison',
            rejected: true,
            rejectedReason: expect.stringMatching(/^the object cannot be stored in the mirror \(SQLSTATE 22P02\)$/),
          },
        },
      ],
    });
    const all = await h.execute(AllEvents, { projectId });
    expect(all.data?.stripeWebhookEvents.edges.map((edge) => edge.node.rejected)).toContain(false);
  });
});

describe('outages: retryable, never a 500', () => {
  it('a keyring that cannot be read → 503 with Retry-After (Stripe retries), nothing recorded', async () => {
    const spy = vi
      .spyOn(h.app.services.keyring, 'holding')
      .mockRejectedValue(new KeyringUnavailableError({ code: 'ROOT_KEY_MISMATCH', message: 'root key does not open the keyring' }));
    try {
      const payload = h.eventPayload({ id: 'evt_keyring_down', object: { id: 'cus_kd', object: 'customer', created: 1 } });
      const response = await h.app.yoga.fetch(`http://coffer.test${route()}`, {
        method: 'POST',
        headers: { 'stripe-signature': h.fake.signWebhook(payload, secret, h.clockSeconds()) },
        body: payload,
      });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(await recorded('evt_keyring_down')).toBeNull();
    } finally {
      spy.mockRestore();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectOwnedBy } from '../../src/features/projects/projects.factory.js';
import { createTestApp, errorCodes, type TestApp } from '../support/app.js';
import { findTrace } from '../support/leaks.js';
import { startReceiver, verifySignature, waitFor } from '../support/notification-receiver.js';

const CREATE = `mutation($projectId: ID!, $url: String!) {
  createNotificationEndpoint(projectId: $projectId, input: { url: $url }) { endpoint { id url enabled } signingSecret }
}`;
const DELIVERIES = `query($id: ID!, $status: NotificationDeliveryStatus) {
  notificationDeliveries(endpointId: $id, status: $status) {
    id status attempts lastStatusCode lastError deliveredAt change { sequence kind name version }
  }
}`;

describe('notification endpoints', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({
      env: {
        NOTIFICATION_ALLOW_LOCAL_HTTP: 'true',
        NOTIFICATION_RETRY_BASE_MS: '50',
        NOTIFICATION_MAX_ATTEMPTS: '3',
        NOTIFICATION_POLL_SECONDS: '0.05',
      },
    });
    app.services.notificationWorker.start();
  });
  afterAll(async () => {
    await app.close();
  });

  const call = async (query: string, variables: Record<string, unknown>, credential = app.owner.key) => {
    const response = await app.request({ query, variables }, { credential });
    if (response.json.errors) throw new Error(response.text);
    return response.json.data as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const write = (projectId: string, name: string, value: string) =>
    call('mutation($input: UpsertSecretInput!) { upsertSecret(input: $input) { id } }', {
      input: { name, value, scope: { type: 'PROJECT', projectId } },
    });
  const deliveries = async (endpointId: string, status: string | null = null) =>
    (await call(DELIVERIES, { id: endpointId, status })).notificationDeliveries as Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any

  it('POSTs each change, signed with the secret shown once at creation', async () => {
    const receiver = await startReceiver();
    const project = await projectOwnedBy({ db: app.db, ownerId: app.owner.user.id });
    const created = (await call(CREATE, { projectId: project.id, url: receiver.url })).createNotificationEndpoint;
    expect(created.signingSecret).toMatch(/^whsec_/);
    const value = 'canary-value-NOTIFY-1234567890';
    await write(project.id, 'DATABASE_URL', value);
    await write(project.id, 'DATABASE_URL', `${value}-2`);
    await waitFor('two deliveries', () => receiver.received.length >= 2);
    const bodies = receiver.received.map((entry) => JSON.parse(entry.body) as Record<string, unknown>);
    expect(bodies.map((body) => [body.sequence, body.kind, body.name, body.version]).sort()).toEqual([
      [1, 'CREATED', 'DATABASE_URL', 1],
      [2, 'VERSION_CREATED', 'DATABASE_URL', 2],
    ]);
    for (const entry of receiver.received) {
      expect(verifySignature(entry.headers['coffer-signature'] as string, entry.body, created.signingSecret)).toBe(true);
      expect(verifySignature(entry.headers['coffer-signature'] as string, entry.body, 'whsec_wrong')).toBe(false);
      expect(entry.headers['coffer-event-id']).toMatch(new RegExp(`^${project.id}:\\d$`));
      expect(findTrace(JSON.stringify(entry), value)).toBeNull();
    }
    // The secret is never shown again, and not stored in the clear.
    const listed = await call('query($id: ID!) { notificationEndpoints(projectId: $id) { id url enabled } }', { id: project.id });
    expect(listed.notificationEndpoints).toEqual([{ id: created.endpoint.id, url: receiver.url, enabled: true }]);
    const row = await app.db.prisma.notificationEndpoint.findUniqueOrThrow({ where: { id: created.endpoint.id } });
    expect(findTrace(Buffer.from(JSON.stringify(row)), created.signingSecret.slice(6))).toBeNull();
    // The receiver has the bodies before the worker records its answers: wait for the records.
    const log = await waitFor('both deliveries recorded', async () => {
      const found = await deliveries(created.endpoint.id);
      return found.every((entry) => entry.status !== 'PENDING') && found;
    });
    expect(log.map((entry) => [entry.status, entry.attempts, entry.lastStatusCode])).toEqual([
      ['DELIVERED', 1, 200],
      ['DELIVERED', 1, 200],
    ]);
    await receiver.close();
  });

  it('retries with back-off after a 500, gives up after NOTIFICATION_MAX_ATTEMPTS, and replays on request', async () => {
    let failing = true;
    const receiver = await startReceiver(() => (failing ? 500 : 204));
    const project = await projectOwnedBy({ db: app.db, ownerId: app.owner.user.id });
    const created = (await call(CREATE, { projectId: project.id, url: receiver.url })).createNotificationEndpoint;
    await write(project.id, 'FLAKY', 'x');
    const [failed] = await waitFor('the delivery to fail for good', async () => {
      const found = await deliveries(created.endpoint.id, 'FAILED');
      return found.length > 0 && found;
    });
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 3, lastStatusCode: 500, lastError: 'HTTP 500', deliveredAt: null });
    expect(receiver.received).toHaveLength(3);
    // The same body each time: receivers deduplicate by its id.
    expect(new Set(receiver.received.map((entry) => entry.body)).size).toBe(1);
    failing = false;
    const retried = await call('mutation($id: ID!) { retryNotificationDelivery(id: $id) { id status attempts } }', { id: failed!.id });
    expect(retried.retryNotificationDelivery).toMatchObject({ status: 'PENDING', attempts: 0 });
    await waitFor('the replay', async () => (await deliveries(created.endpoint.id, 'DELIVERED')).length === 1);
    expect(receiver.received).toHaveLength(4);
    await receiver.close();
  });

  it('sends nothing to a disabled endpoint, and refuses plain http unless allowed', async () => {
    const receiver = await startReceiver();
    const project = await projectOwnedBy({ db: app.db, ownerId: app.owner.user.id });
    const created = (await call(CREATE, { projectId: project.id, url: receiver.url })).createNotificationEndpoint;
    await call('mutation($id: ID!) { setNotificationEndpointEnabled(id: $id, enabled: false) { enabled } }', { id: created.endpoint.id });
    await write(project.id, 'QUIET', 'x');
    expect(await deliveries(created.endpoint.id)).toEqual([]);
    await receiver.close();
    for (const url of ['http://example.com/hook', 'ftp://example.com/hook', 'https://user:pass@example.com/hook', 'not a url']) {
      const refused = await app.request({ query: CREATE, variables: { projectId: project.id, url } }, { credential: app.owner.key });
      expect(errorCodes(refused)).toEqual(['BAD_USER_INPUT']);
    }
  });
});

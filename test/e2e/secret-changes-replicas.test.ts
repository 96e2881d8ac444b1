import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../support/database.js';
import type { ScratchDatabase } from '../support/scratch-database.js';
import { cleanUpProcesses, graphqlAt, operatorChosenKey, rootKey, startCoffer, tempDir } from '../support/processes.js';
import { subscribeSse, type SseStream } from '../support/sse.js';
import { startReceiver, verifySignature, waitFor } from '../support/notification-receiver.js';

/**
 * Change streams and notifications across real server processes sharing PostgreSQL and Redis:
 * a subscriber on one replica sees writes made through the other, resumes elsewhere without a gap
 * or a duplicate; each notification is delivered once although both replicas run a worker, and
 * one whose sender was killed mid-request is delivered by the process started after it.
 */

const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? (TEST_DATABASE_URL ? 'redis://127.0.0.1:6379' : undefined);
const TIMEOUT_MS = 240_000;

afterAll(cleanUpProcesses);

const CHANGES = `subscription($projectId: ID!, $afterSequence: Int) {
  secretChanges(projectId: $projectId, afterSequence: $afterSequence) { sequence kind name }
}`;
type Change = { sequence: number; kind: string; name: string };

describe.skipIf(!TEST_DATABASE_URL)('change streams across two server processes (PostgreSQL + Redis)', () => {
  const scratches: ScratchDatabase[] = [];
  afterAll(async () => {
    await Promise.all(scratches.map((scratch) => scratch.drop()));
  });

  async function cluster(extra: Record<string, string> = {}) {
    const scratch = await createScratchDatabase(TEST_DATABASE_URL!);
    scratches.push(scratch);
    const admin = operatorChosenKey();
    const env = {
      DATABASE_URL: scratch.url,
      REDIS_URL: TEST_REDIS_URL!,
      COFFER_ROOT_KEY: rootKey(),
      COFFER_TOKEN_SECRET: randomBytes(32).toString('hex'),
      COFFER_ADMIN_API_KEY: admin,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      NOTIFICATION_ALLOW_LOCAL_HTTP: 'true',
      NOTIFICATION_POLL_SECONDS: '0.1',
      NOTIFICATION_RETRY_BASE_MS: '100',
      ...extra,
    };
    const start = async () => {
      const replica = startCoffer({ ...env, DATA_DIR: await tempDir() });
      return { replica, url: await replica.ready(30_000) };
    };
    const call = async (url: string, query: string, variables: Record<string, unknown> = {}) => {
      const answer = await graphqlAt(url, query, { key: admin, variables });
      if (answer.errors) throw new Error(JSON.stringify(answer.errors));
      return answer.data!;
    };
    return { admin, start, call };
  }

  async function take(stream: SseStream<{ secretChanges: Change }>, count: number) {
    const changes: Change[] = [];
    while (changes.length < count) {
      const result = await stream.result(30_000);
      if (!result?.data) throw new Error(`stream ended or failed: ${JSON.stringify(result)}`);
      changes.push(result.data.secretChanges);
    }
    return changes;
  }

  const write = (
    call: (url: string, q: string, v: Record<string, unknown>) => Promise<unknown>,
    url: string,
    projectId: string,
    name: string,
  ) =>
    call(url, 'mutation($input: UpsertSecretInput!) { upsertSecret(input: $input) { id } }', {
      input: { name, value: `value-of-${name}`, scope: { type: 'PROJECT', projectId } },
    });

  it('streams writes made through the other replica, and resumes on either without gap or duplicate', { timeout: TIMEOUT_MS }, async () => {
    const { admin, start, call } = await cluster();
    const [a, b] = await Promise.all([start(), start()]);
    const project = (await call(a.url, 'mutation { createProject(input: { name: "streamed" }) { id } }')).createProject as { id: string };
    const open = (url: string, afterSequence: number) =>
      subscribeSse<{ secretChanges: Change }>(url, {
        query: CHANGES,
        variables: { projectId: project.id, afterSequence },
        credential: admin,
      });

    const first = await open(b.url, 0);
    await Promise.all(['ONE', 'TWO', 'THREE'].map((name) => write(call, a.url, project.id, name)));
    const seen = await take(first, 3);
    await first.close();
    // While disconnected, writes through both replicas.
    await write(call, b.url, project.id, 'FOUR');
    await write(call, a.url, project.id, 'FIVE');
    const second = await open(a.url, seen.at(-1)!.sequence);
    await write(call, b.url, project.id, 'SIX');
    const rest = await take(second, 3);
    const extra = await second.result(1_000).catch(() => null);
    await second.close();
    expect(extra).toBeNull();
    expect([...seen, ...rest].map((change) => change.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rest.map((change) => change.name)).toEqual(['FOUR', 'FIVE', 'SIX']);
    await Promise.all([a.replica.stop(), b.replica.stop()]);
  });

  it('delivers each notification exactly once although both replicas run a worker', { timeout: TIMEOUT_MS }, async () => {
    const { start, call } = await cluster();
    const [a, b] = await Promise.all([start(), start()]);
    const receiver = await startReceiver();
    const project = (await call(a.url, 'mutation { createProject(input: { name: "notified" }) { id } }')).createProject as { id: string };
    const created = (
      await call(
        b.url,
        'mutation($p: ID!, $url: String!) { createNotificationEndpoint(projectId: $p, input: { url: $url }) { endpoint { id } signingSecret } }',
        {
          p: project.id,
          url: receiver.url,
        },
      )
    ).createNotificationEndpoint as { endpoint: { id: string }; signingSecret: string };
    const names = Array.from({ length: 12 }, (_, index) => `NAME_${index}`);
    await Promise.all(names.map((name, index) => write(call, index % 2 ? a.url : b.url, project.id, name)));
    await waitFor('every delivery', async () => {
      const log = (
        await call(a.url, 'query($id: ID!) { notificationDeliveries(endpointId: $id, status: DELIVERED) { id } }', {
          id: created.endpoint.id,
        })
      ).notificationDeliveries as unknown[];
      return log.length === names.length;
    });
    // Both workers keep polling for a while: nothing is sent twice.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await receiver.close();
    const ids = receiver.received.map((entry) => entry.headers['coffer-event-id']);
    expect(ids).toHaveLength(names.length);
    expect(new Set(ids).size).toBe(names.length);
    for (const entry of receiver.received)
      expect(verifySignature(entry.headers['coffer-signature'] as string, entry.body, created.signingSecret)).toBe(true);
    await Promise.all([a.replica.stop(), b.replica.stop()]);
  });

  it('delivers a notification whose sender was killed mid-request once the next process starts', { timeout: TIMEOUT_MS }, async () => {
    // Lease = timeout + 5 s: the killed process's claim runs out 10 s after it was taken.
    const { start, call } = await cluster({ NOTIFICATION_TIMEOUT_SECONDS: '5' });
    const a = await start();
    let killed = false;
    const receiver = await startReceiver(() => {
      if (!killed) {
        killed = true;
        a.replica.child.kill('SIGKILL');
        return 200; // never reaches the killed sender
      }
      return 200;
    });
    const project = (await call(a.url, 'mutation { createProject(input: { name: "restarted" }) { id } }')).createProject as { id: string };
    const created = (
      await call(
        a.url,
        'mutation($p: ID!, $url: String!) { createNotificationEndpoint(projectId: $p, input: { url: $url }) { endpoint { id } } }',
        {
          p: project.id,
          url: receiver.url,
        },
      )
    ).createNotificationEndpoint as { endpoint: { id: string } };
    await write(call, a.url, project.id, 'SURVIVOR');
    await a.replica.exited;
    const b = await start();
    const delivered = await waitFor(
      'the delivery after the restart',
      async () => {
        const log = (
          await call(b.url, 'query($id: ID!) { notificationDeliveries(endpointId: $id) { status attempts } }', { id: created.endpoint.id })
        ).notificationDeliveries as Array<{ status: string; attempts: number }>;
        return log[0]?.status === 'DELIVERED' && log[0];
      },
      60_000,
    );
    expect(delivered.attempts).toBe(2);
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[0]!.body).toBe(receiver.received[1]!.body);
    await receiver.close();
    await b.replica.stop();
  });
});

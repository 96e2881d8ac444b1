import type { AddressInfo } from 'node:net';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHttpServer } from '../../src/app.js';
import { emitExpiryWarnings } from '../../src/features/secret-changes/index.js';
import { purgeExpiredSecrets } from '../../src/features/secrets/expiry-sweeper.js';
import { projectOwnedBy } from '../../src/features/projects/projects.factory.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { findTrace } from '../support/leaks.js';
import { subscribeSse, type SseStream } from '../support/sse.js';

const CHANGES = `subscription Changes($projectId: ID!, $environment: String, $afterSequence: Int) {
  secretChanges(projectId: $projectId, environment: $environment, afterSequence: $afterSequence) {
    projectId sequence kind name environment version actorId actorVia at
  }
}`;
const UPSERT = 'mutation($input: UpsertSecretInput!) { upsertSecret(input: $input) { id currentVersion } }';

interface Change {
  projectId: string;
  sequence: number;
  kind: string;
  name: string;
  environment: string | null;
  version: number | null;
  actorId: string | null;
  actorVia: string;
  at: string;
}
type ChangesData = { secretChanges: Change };

describe('secretChanges: the change stream of a project', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { SECRET_EXPIRY_WARNING_SECONDS: '3600' } });
  });
  afterAll(async () => {
    await app.close();
  });

  const call = async (query: string, variables: Record<string, unknown>, credential = app.owner.key) => {
    const response = await app.request({ query, variables }, { credential });
    if (response.json.errors) throw new Error(response.text);
    return response.json.data as Record<string, unknown>;
  };
  const scopeOf = (projectId: string) => ({ type: 'PROJECT', projectId });
  const upsert = (projectId: string, name: string, value: string, extra: Record<string, unknown> = {}) =>
    call(UPSERT, { input: { name, value, scope: scopeOf(projectId), ...extra } });

  const open = (projectId: string, variables: Record<string, unknown> = {}, credential: string | null = app.owner.key) =>
    subscribeSse<ChangesData>(
      'http://coffer.test/graphql',
      { query: CHANGES, variables: { projectId, ...variables }, credential },
      { fetch: app.yoga.fetch },
    );

  /** The next `count` changes of a stream (generous deadline: the machine is shared). */
  async function take(stream: SseStream<ChangesData>, count: number): Promise<Change[]> {
    const changes: Change[] = [];
    while (changes.length < count) {
      const result = await stream.result(20_000);
      if (!result?.data) throw new Error(`stream ended or failed: ${JSON.stringify(result)}`);
      changes.push(result.data.secretChanges);
    }
    return changes;
  }

  /** Nothing more arrives for a while (used only after everything expected has arrived). */
  async function expectQuiet(stream: SseStream<ChangesData>) {
    const more = await stream.result(500).catch(() => null);
    expect(more).toBeNull();
  }

  it('numbers 30 concurrent writes of one project 1..30, without gaps or duplicates', async () => {
    const project = await projectOwnedBy({ db: app.db, ownerId: app.owner.user.id });
    // Half of them write one name (they line up on its row), half write names of their own.
    await Promise.all(
      Array.from({ length: 30 }, (_, index) => upsert(project.id, index % 2 === 0 ? 'SHARED' : `OWN_${index}`, `value-${index}`)),
    );
    const stream = await open(project.id, { afterSequence: 0 });
    const changes = await take(stream, 30);
    await expectQuiet(stream);
    await stream.close();
    expect(changes.map((change) => change.sequence)).toEqual(Array.from({ length: 30 }, (_, index) => index + 1));
    expect(changes.filter((change) => change.name === 'SHARED').map((change) => change.version)).toEqual(
      Array.from({ length: 15 }, (_, index) => index + 1),
    );
  });

  it('replays the stored changes after afterSequence, then streams live ones, none twice', async () => {
    const project = await projectOwnedBy({ db: app.db, ownerId: app.owner.user.id });
    for (const name of ['A', 'B', 'C']) await upsert(project.id, name, 'x');
    const stream = await open(project.id, { afterSequence: 1 });
    const replayed = await take(stream, 2);
    // Writes racing the start of the stream: each arrives once, in order.
    await Promise.all([upsert(project.id, 'D', 'x'), upsert(project.id, 'E', 'x')]);
    const live = await take(stream, 2);
    await expectQuiet(stream);
    await stream.close();
    expect(replayed.map((change) => [change.sequence, change.name])).toEqual([
      [2, 'B'],
      [3, 'C'],
    ]);
    expect(live.map((change) => change.sequence)).toEqual([4, 5]);
  });

  it('without afterSequence streams only what happens from now on', async () => {
    const project = await projectOwnedBy({ db: app.db, ownerId: app.owner.user.id });
    await upsert(project.id, 'OLD', 'x');
    const stream = await open(project.id);
    await stream.result(300).catch(() => null); // attached (a keep-alive or nothing)
    await upsert(project.id, 'NEW', 'x');
    const [change] = await take(stream, 1);
    await stream.close();
    expect(change).toMatchObject({ sequence: 2, name: 'NEW', kind: 'CREATED' });
  });

  it('resumes after a disconnect with nothing missed and nothing repeated', async () => {
    const project = await projectOwnedBy({ db: app.db, ownerId: app.owner.user.id });
    const first = await open(project.id, { afterSequence: 0 });
    await upsert(project.id, 'ONE', 'x');
    await upsert(project.id, 'TWO', 'x');
    const seen = await take(first, 2);
    await first.close();
    // Written while no one listens.
    await upsert(project.id, 'THREE', 'x');
    await upsert(project.id, 'FOUR', 'x');
    const second = await open(project.id, { afterSequence: seen.at(-1)!.sequence });
    await upsert(project.id, 'FIVE', 'x');
    const rest = await take(second, 3);
    await expectQuiet(second);
    await second.close();
    expect([...seen, ...rest].map((change) => change.name)).toEqual(['ONE', 'TWO', 'THREE', 'FOUR', 'FIVE']);
    expect([...seen, ...rest].map((change) => change.sequence)).toEqual([1, 2, 3, 4, 5]);
  });

  it('reports every kind of change, with versions and the actor, and never a value', async () => {
    const project = await projectOwnedBy({ db: app.db, ownerId: app.owner.user.id });
    const value = 'sk_live_canary_CHANGESTREAM_0123456789';
    const scope = scopeOf(project.id);
    const stream = await open(project.id, { afterSequence: 0 });
    await upsert(project.id, 'API_KEY', value);
    await upsert(project.id, 'API_KEY', `${value}-2`);
    await call('mutation($input: UpdateSecretInput!) { updateSecret(input: $input) { id } }', {
      input: { name: 'API_KEY', scope, description: 'the key' },
    });
    await call('mutation($scope: SecretScopeInput) { rollbackSecret(name: "API_KEY", scope: $scope, version: 1) { id } }', { scope });
    await call('mutation($scope: SecretScopeInput) { deleteSecret(name: "API_KEY", scope: $scope) { id } }', { scope });
    await call('mutation($scope: SecretScopeInput) { restoreSecret(name: "API_KEY", scope: $scope) { id } }', { scope });
    await call('mutation($scope: SecretScopeInput) { destroySecret(name: "API_KEY", scope: $scope) { id } }', { scope }, app.admin.key);
    // Expiry: warned once when it comes near, then purged by the sweeper.
    const expiresAt = new Date(app.clock.now().getTime() + 30 * 60_000);
    await upsert(project.id, 'SHORT_LIVED', `${value}-3`, { expiresAt: expiresAt.toISOString() });
    const warn = (now: Date) =>
      emitExpiryWarnings({ db: app.db, events: app.services.events, now, warningMs: app.config.secretExpiryWarningMs });
    expect(await warn(app.clock.now())).toBe(1);
    expect(await warn(app.clock.now())).toBe(0);
    await purgeExpiredSecrets({
      db: app.db,
      logger: app.services.logger,
      events: app.services.events,
      now: new Date(expiresAt.getTime() + 1),
    });
    const changes = await take(stream, 10);
    await stream.close();
    expect(changes.map((change) => [change.kind, change.name, change.version])).toEqual([
      ['CREATED', 'API_KEY', 1],
      ['VERSION_CREATED', 'API_KEY', 2],
      ['METADATA_UPDATED', 'API_KEY', 2],
      ['ROLLED_BACK', 'API_KEY', 3],
      ['DELETED', 'API_KEY', 3],
      ['RESTORED', 'API_KEY', 3],
      ['DESTROYED', 'API_KEY', null],
      ['CREATED', 'SHORT_LIVED', 1],
      ['EXPIRING', 'SHORT_LIVED', 1],
      ['EXPIRED', 'SHORT_LIVED', 1],
    ]);
    expect(changes[0]).toMatchObject({ actorId: app.owner.user.id, actorVia: expect.stringMatching(/^api-key:/) });
    expect(changes.at(-1)).toMatchObject({ actorId: null, actorVia: 'system' });
    const stored = await app.db.prisma.secretChangeEvent.findMany({ where: { projectId: project.id } });
    for (const text of [JSON.stringify(changes), JSON.stringify(stored)]) {
      for (const leaked of [value, `${value}-2`, `${value}-3`]) expect(findTrace(text, leaked)).toBeNull();
    }
  });

  it('has no stream for account or user secrets, and filters by environment', async () => {
    const project = await projectOwnedBy({ db: app.db, ownerId: app.owner.user.id });
    await call(UPSERT, { input: { name: 'MINE', value: 'x', scope: { type: 'USER' } } });
    await upsert(project.id, 'PROJECT_ONE', 'x');
    const all = await open(project.id, { afterSequence: 0 });
    expect((await take(all, 1))[0]).toMatchObject({ sequence: 1, name: 'PROJECT_ONE', environment: 'production' });
    await all.close();
    // The write named no environment: production. A stream of another environment sees nothing.
    const production = await open(project.id, { afterSequence: 0, environment: 'production' });
    expect((await take(production, 1))[0]).toMatchObject({ sequence: 1, name: 'PROJECT_ONE', environment: 'production' });
    await production.close();
    const staging = await open(project.id, { afterSequence: 0, environment: 'staging' });
    await expectQuiet(staging);
    await staging.close();
  });

  it('refuses anonymous callers and strangers when the stream starts', async () => {
    for (const [credential, code] of [
      [null, 'UNAUTHENTICATED'],
      [app.stranger.key, 'NOT_FOUND'],
    ] as const) {
      const stream = await open(app.project.id, { afterSequence: 0 }, credential);
      const first = await stream.result(20_000);
      await stream.close();
      expect(first).toMatchObject({ errors: [{ extensions: { code } }] });
      expect(first?.data ?? null).toBeNull();
    }
  });

  it('ends the stream with a coded error when the subscriber’s API key is revoked', async () => {
    const created = (await call('mutation { createApiKey(input: { name: "stream" }) { apiKey { id } key } }', {})) as {
      createApiKey: { apiKey: { id: string }; key: string };
    };
    const stream = await open(app.project.id, {}, created.createApiKey.key);
    await stream.result(300).catch(() => null);
    await upsert(app.project.id, 'BEFORE_REVOKE', 'x');
    expect((await take(stream, 1))[0]).toMatchObject({ name: 'BEFORE_REVOKE' });
    await call('mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: created.createApiKey.apiKey.id });
    const last = await stream.result(20_000);
    expect(last).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
    expect(await stream.result(20_000)).toBeNull();
    await stream.close();
  });

  it('streams over graphql-ws on a real socket, and ends it on revocation', async () => {
    const http = createHttpServer(app.yoga);
    await new Promise<void>((resolve) => http.server.listen(0, '127.0.0.1', resolve));
    const port = (http.server.address() as AddressInfo).port;
    const created = (await call('mutation { createApiKey(input: { name: "ws" }) { apiKey { id } key } }', {})) as {
      createApiKey: { apiKey: { id: string }; key: string };
    };
    const client = createClient({
      url: `ws://127.0.0.1:${port}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { 'x-api-key': created.createApiKey.key },
      retryAttempts: 0,
    });
    const project = await projectOwnedBy({ db: app.db, ownerId: app.owner.user.id });
    await upsert(project.id, 'STORED', 'x');
    const received: Array<{ data?: ChangesData | null; errors?: Array<{ extensions?: { code?: string } }> }> = [];
    const ended = new Promise<unknown>((resolve) => {
      client.subscribe(
        { query: CHANGES, variables: { projectId: project.id, afterSequence: 0 } },
        {
          next: (value) => {
            received.push(value as (typeof received)[number]);
            if (received.length === 1) void upsert(project.id, 'LIVE', 'x');
            if (received.length === 2)
              void call('mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: created.createApiKey.apiKey.id });
          },
          error: resolve,
          complete: () => resolve('complete'),
        },
      );
    });
    await ended;
    await client.dispose();
    await http.close();
    expect(received.slice(0, 2).map((result) => result.data?.secretChanges.name)).toEqual(['STORED', 'LIVE']);
    expect(received[2]).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
  });
});

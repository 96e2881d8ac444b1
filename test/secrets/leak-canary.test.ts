import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type CallOptions, type TestApp } from '../support/app.js';
import { startReceiver, waitFor } from '../support/notification-receiver.js';
import { subscribeSse, type SseStream } from '../support/sse.js';
import {
  uniqueName,
  VaultDelete,
  VaultList,
  VaultMetadata,
  VaultRestore,
  VaultReveal,
  VaultRollback,
  VaultRotate,
  VaultUpdate,
  VaultUpsert,
  VaultVersions,
  type Scope,
} from './support.js';

/**
 * A distinctive value is written, then driven through every operation and error path. It may
 * come back only where an authorised caller selected `value`: never in another response, an
 * error, a log line, an audit record, or the stored rows.
 */
const CORE = randomUUID();
const CANARY = `canary-${CORE}-VALUE`;

interface Exchange {
  label: string;
  status: number;
  text: string;
  errors: unknown[];
  /** An authorised caller asked for `value`: the one place the canary belongs. */
  revealsByDesign: boolean;
  /**
   * Rejected by GraphQL's own coercion of a variable or literal (wrong type, bad enum, bad date),
   * before any resolver: checked by its own test, because graphql-js quotes the rejected input.
   */
  coercion: boolean;
}

const holdsCanary = (text: string) => text.includes(CANARY) || text.includes(CORE);

describe('leak canary: a secret value appears only where it was asked for', () => {
  let app: TestApp;
  const exchanges: Exchange[] = [];
  // The project's change stream and notifications, watched while everything below happens.
  let changeStream: SseStream;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const streamed: string[] = [];

  async function record(
    label: string,
    call: Promise<{ status: number; text: string; json: { errors?: unknown[] } }>,
    { revealsByDesign = false, coercion = false } = {},
  ) {
    const response = await call;
    exchanges.push({ label, status: response.status, text: response.text, errors: response.json.errors ?? [], revealsByDesign, coercion });
    return response;
  }

  beforeAll(async () => {
    app = await createTestApp({ env: { NOTIFICATION_ALLOW_LOCAL_HTTP: 'true', NOTIFICATION_POLL_SECONDS: '0.05' } });
    receiver = await startReceiver();
    const endpoint = await app.request(
      {
        query: 'mutation($p: ID!, $url: String!) { createNotificationEndpoint(projectId: $p, input: { url: $url }) { endpoint { id } } }',
        variables: { p: app.project.id, url: receiver.url },
      },
      { credential: app.owner.key },
    );
    if (endpoint.json.errors) throw new Error(endpoint.text);
    app.services.notificationWorker.start();
    changeStream = await subscribeSse(
      'http://coffer.test/graphql',
      {
        query:
          'subscription($p: ID!) { secretChanges(projectId: $p, afterSequence: 0) { sequence kind name environment version actorId actorVia at } }',
        variables: { p: app.project.id },
        credential: app.owner.key,
      },
      { fetch: app.yoga.fetch },
    );
    void (async () => {
      for (let message = await changeStream.next(); message; message = await changeStream.next()) streamed.push(message.data);
    })();
    const owner: CallOptions = { credential: app.owner.key };
    const admin: CallOptions = { credential: app.admin.key };
    const stranger: CallOptions = { credential: app.stranger.key };
    const project: Scope = { type: 'PROJECT', projectId: app.project.id };
    const name = uniqueName('CANARY');
    const accountName = uniqueName('CANARY_ACCOUNT');
    const userName = uniqueName('CANARY_USER');
    const upsert = (label: string, input: Record<string, unknown>, options: CallOptions, flags: { coercion?: boolean } = {}) =>
      record(
        label,
        app.request(
          {
            query: 'mutation CanaryUpsert($input: UpsertSecretInput!) { upsertSecret(input: $input) { id currentVersion } }',
            variables: { input },
          },
          options,
        ),
        flags,
      );

    // Writes in every scope; the responses are metadata.
    await record(
      'create (project)',
      app.execute(VaultUpsert, { input: { name, value: CANARY, scope: project, description: 'canary holder' } }, owner),
    );
    await record('create (account)', app.execute(VaultUpsert, { input: { name: accountName, value: CANARY } }, admin));
    await record('create (user)', app.execute(VaultUpsert, { input: { name: userName, value: CANARY, scope: { type: 'USER' } } }, owner));
    await record(
      'create (inline literal in the query text)',
      app.request({ query: `mutation { upsertSecret(input: { name: "${uniqueName('INLINE')}", value: "${CANARY}" }) { id } }` }, admin),
    );

    // Reveals by authorised callers: the canary belongs here, and only here.
    await record('reveal by owner', app.execute(VaultReveal, { name, scope: project }, owner), { revealsByDesign: true });
    await record('reveal by admin', app.execute(VaultReveal, { name, scope: project }, admin), { revealsByDesign: true });
    await record('reveal of version 1', app.execute(VaultReveal, { name, scope: project, version: 1 }, owner), { revealsByDesign: true });
    await record('reveal (user scope)', app.execute(VaultReveal, { name: userName, scope: { type: 'USER' } }, owner), {
      revealsByDesign: true,
    });

    // Metadata reads.
    await record('metadata', app.execute(VaultMetadata, { name, scope: project }, owner));
    await record('list', app.execute(VaultList, { scope: project, first: 100 }, owner));
    await record('list including deleted', app.execute(VaultList, { scope: project, first: 100, filter: { includeDeleted: true } }, admin));
    await record('versions', app.execute(VaultVersions, { name, scope: project }, owner));

    // Conflicts, each carrying the value.
    await upsert('ifExists FAIL conflict', { name, value: CANARY, scope: project, ifExists: 'FAIL' }, owner);
    await upsert('expectedVersion mismatch', { name, value: CANARY, scope: project, expectedVersion: 7 }, owner);
    await upsert('expectedVersion 0 on an existing secret', { name, value: CANARY, scope: project, expectedVersion: 0 }, owner);
    await record(
      'update with a stale expectedVersion',
      app.execute(VaultUpdate, { input: { name, value: CANARY, scope: project, expectedVersion: 9 } }, owner),
    );
    await record(
      'update of a missing secret',
      app.execute(VaultUpdate, { input: { name: uniqueName('MISSING'), value: CANARY, scope: project } }, owner),
    );

    // Bad input carrying the value, rejected by Coffer's own validation.
    await upsert('invalid name, value in value', { name: 'lower-case', value: CANARY, scope: project }, owner);
    await upsert('the value as the name', { name: CANARY, value: 'v', scope: project }, owner);
    await upsert('the value as an over-long description', { name: uniqueName('DESC'), value: 'v', description: CANARY.repeat(40) }, admin);
    await upsert('expiresAt in the past', { name: uniqueName('PAST'), value: CANARY, expiresAt: '2000-01-01T00:00:00Z' }, admin);
    await upsert('PROJECT scope without projectId', { name: uniqueName('NOPROJ'), value: CANARY, scope: { type: 'PROJECT' } }, owner);
    await upsert(
      'the value as the projectId',
      { name: uniqueName('PROJ'), value: 'v', scope: { type: 'PROJECT', projectId: CANARY } },
      owner,
    );
    await upsert('the value as the userId', { name: uniqueName('USR'), value: 'v', scope: { type: 'USER', userId: CANARY } }, owner);
    await upsert(
      'ACCOUNT scope with a userId',
      { name: uniqueName('ACC'), value: CANARY, scope: { type: 'ACCOUNT', userId: app.owner.user.id } },
      admin,
    );
    await upsert(
      'an oversize value made of the canary',
      { name: uniqueName('HUGE'), value: CANARY.repeat(Math.ceil((64 * 1024) / CANARY.length) + 1) },
      admin,
    );
    await upsert('a developer setting isReserved', { name: uniqueName('RSV'), value: CANARY, scope: project, isReserved: true }, owner);
    await record('the value as a secret name to read', app.execute(VaultReveal, { name: CANARY }, admin));
    await record('the value as a namePrefix', app.execute(VaultList, { filter: { namePrefix: CANARY } }, admin));
    await record('the value as a cursor', app.execute(VaultList, { after: CANARY }, admin));
    await record('the value, encoded, as a cursor', app.execute(VaultList, { after: Buffer.from(CANARY).toString('base64url') }, admin));
    await record(
      'a syntax error after an inline value',
      app.request({ query: `mutation { upsertSecret(input: { name: "X", value: "${CANARY}" }) { id ` }, admin),
    );
    await record(
      'a body over the size limit',
      app.request(
        {
          query: 'mutation($v: String!) { upsertSecret(input: { name: "BIG", value: $v }) { id } }',
          variables: { v: CANARY.repeat(30_000) },
        },
        admin,
      ),
    );
    const getQuery = async (query: string, variables: object) => {
      const url = `http://coffer.test/graphql?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(JSON.stringify(variables))}`;
      const response = await app.yoga.fetch(url, { headers: { 'x-api-key': app.admin.key, accept: 'application/json' } });
      const text = await response.text();
      return { status: response.status, text, json: JSON.parse(text) as { errors?: unknown[] } };
    };
    await record('the value in a GET query string', getQuery('query($n: String!) { secret(name: $n) { id } }', { n: CANARY }));

    // Bad input carrying the value, rejected by GraphQL coercion before any resolver runs.
    const coercion = { coercion: true };
    await upsert('the value as expiresAt', { name: uniqueName('DATE'), value: 'v', expiresAt: CANARY }, admin, coercion);
    await upsert('the value as the scope type', { name: uniqueName('ENUM'), value: 'v', scope: { type: CANARY } }, admin, coercion);
    await upsert('the value as ifExists', { name: uniqueName('IFX'), value: 'v', ifExists: CANARY }, admin, coercion);
    await upsert('the value as expectedVersion', { name: uniqueName('INT'), value: 'v', expectedVersion: CANARY }, admin, coercion);
    await upsert('the value wrapped in an object', { name: uniqueName('OBJ'), value: { secret: CANARY } }, admin, coercion);
    await upsert('the value wrapped in a list', { name: uniqueName('LIST'), value: [CANARY] }, admin, coercion);
    await record('the value as expiringBefore', app.execute(VaultList, { filter: { expiringBefore: CANARY } }, admin), coercion);
    await record(
      'the value as an inline expiresAt literal',
      app.request({ query: `mutation { upsertSecret(input: { name: "LIT", value: "v", expiresAt: "${CANARY}" }) { id } }` }, admin),
      coercion,
    );

    // Other people.
    await record('stranger reveal', app.execute(VaultReveal, { name, scope: project }, stranger));
    await record('stranger reveal of version 1', app.execute(VaultReveal, { name, scope: project, version: 1 }, stranger));
    await record('stranger versions', app.execute(VaultVersions, { name, scope: project }, stranger));
    await record('stranger list', app.execute(VaultList, { scope: project }, stranger));
    await record(
      'stranger reveal of a user secret',
      app.execute(VaultReveal, { name: userName, scope: { type: 'USER', userId: app.owner.user.id } }, stranger),
    );
    await upsert('stranger overwrite with the value', { name, value: CANARY, scope: project }, stranger);
    await record('stranger update with the value', app.execute(VaultUpdate, { input: { name, value: CANARY, scope: project } }, stranger));
    await record('stranger rollback', app.execute(VaultRollback, { name, scope: project, version: 1 }, stranger));
    await record('owner reveal of an account secret', app.execute(VaultReveal, { name: accountName }, owner));
    await record('anonymous reveal', app.execute(VaultReveal, { name, scope: project }, {}));
    await upsert('anonymous write with the value', { name, value: CANARY, scope: project }, {});

    // History: replace, roll back to the canary, delete and restore.
    await record(
      'replace with another value',
      app.execute(VaultUpsert, { input: { name, value: 'something else', scope: project } }, owner),
    );
    await record('rollback to the canary', app.execute(VaultRollback, { name, scope: project, version: 1 }, owner));
    await record('reveal after rollback', app.execute(VaultReveal, { name, scope: project }, owner), { revealsByDesign: true });
    await record('reveal of a version that is not kept', app.execute(VaultReveal, { name, scope: project, version: 99 }, owner));
    await record('rollback to a version that is not kept', app.execute(VaultRollback, { name, scope: project, version: 99 }, owner));
    await record('delete', app.execute(VaultDelete, { name, scope: project }, owner));
    await record('reveal while deleted', app.execute(VaultReveal, { name, scope: project }, owner));
    await record('versions while deleted', app.execute(VaultVersions, { name, scope: project }, owner));
    await upsert(
      'ifExists FAIL on the user secret, with the value',
      { name: userName, value: CANARY, scope: { type: 'USER' }, ifExists: 'FAIL' },
      owner,
    );
    await record('restore', app.execute(VaultRestore, { name, scope: project }, owner));

    // References: the value travels inside another secret's expansion, or a broken one's refusal.
    const holder = uniqueName('CANARY_HOLDER');
    const looping = uniqueName('CANARY_LOOP');
    await record(
      'a reference to the canary',
      app.execute(VaultUpsert, { input: { name: holder, value: `\${${name}}`, scope: project } }, owner),
    );
    await record('reveal through a reference', app.execute(VaultReveal, { name: holder, scope: project }, owner), {
      revealsByDesign: true,
    });
    await record('stranger reveal through a reference', app.execute(VaultReveal, { name: holder, scope: project }, stranger));
    await record(
      'a reference next to a missing one',
      app.execute(VaultUpsert, { input: { name: looping, value: `\${${name}}\${${uniqueName('NOWHERE')}}`, scope: project } }, owner),
    );
    await record('reveal of a missing reference', app.execute(VaultReveal, { name: looping, scope: project }, owner));
    await record(
      'a reference cycle through the canary',
      app.execute(VaultUpsert, { input: { name: looping, value: `\${${name}}\${${looping}}`, scope: project } }, owner),
    );
    await record('reveal of a cycle', app.execute(VaultReveal, { name: looping, scope: project }, owner));
    await upsert('the value with a broken reference', { name: uniqueName('BROKEN'), value: `${CANARY}\${`, scope: project }, owner);

    // Whole environments: bulk reads, copies and comparisons.
    const bulk = (label: string, variables: Record<string, unknown>, options: CallOptions, flags: { revealsByDesign?: boolean } = {}) =>
      record(
        label,
        app.request(
          {
            query:
              'query CanaryValues($scope: SecretScopeInput!, $names: [String!], $raw: Boolean) { secretValues(scope: $scope, names: $names, raw: $raw) { name value version } }',
            variables,
          },
          options,
        ),
        flags,
      );
    await bulk('bulk read by owner', { scope: project, names: [name, holder] }, owner, { revealsByDesign: true });
    await bulk('bulk read, raw', { scope: project, names: [name], raw: true }, admin, { revealsByDesign: true });
    await bulk('stranger bulk read', { scope: project, names: [name, holder] }, stranger);
    await bulk('bulk read of a cycle', { scope: project, names: [looping] }, owner);
    await bulk('the value as a name to bulk read', { scope: project, names: [CANARY] }, owner);
    const copy = (label: string, variables: Record<string, unknown>, options: CallOptions) =>
      record(
        label,
        app.request(
          {
            query:
              'mutation CanaryCopy($p: ID!, $from: String!, $to: String!, $names: [String!], $overwrite: Boolean, $expected: [ExpectedVersionInput!]) { copySecrets(projectId: $p, from: $from, to: $to, names: $names, overwrite: $overwrite, expectedVersions: $expected) { name environment version created } }',
            variables: { p: app.project.id, from: 'production', to: 'staging', ...variables },
          },
          options,
        ),
      );
    await copy('copy to staging', { names: [name, holder] }, owner);
    await copy('copy again without overwrite (conflict)', { names: [name, holder] }, owner);
    await copy('copy with a stale expected version', { names: [name], overwrite: true, expected: [{ name, version: 7 }] }, owner);
    await copy('stranger copy', { names: [name], overwrite: true }, stranger);
    await copy('the value as the target environment', { to: CANARY, names: [name] }, owner);
    await copy('the value as a name to copy', { names: [CANARY] }, owner);
    const compare = (label: string, options: CallOptions) =>
      record(
        label,
        app.request(
          {
            query:
              'query CanaryCompare($p: ID!) { compareEnvironments(projectId: $p, a: "production", b: "staging") { a b entries { name status versionInA versionInB } } }',
            variables: { p: app.project.id },
          },
          options,
        ),
      );
    await compare('compare production and staging', owner);
    await compare('stranger compare', stranger);

    // Master-key rotation, then the value must still read back.
    await record('rotate with a new key', app.execute(VaultRotate, { generateNewKey: true }, admin));
    await record('rotate again', app.execute(VaultRotate, {}, admin));
    await record('reveal after rotation', app.execute(VaultReveal, { name, scope: project }, owner), { revealsByDesign: true });
    await record('reveal of the account secret after rotation', app.execute(VaultReveal, { name: accountName }, admin), {
      revealsByDesign: true,
    });
  });
  afterAll(async () => {
    await changeStream.close();
    await receiver.close();
    await app.close();
  });

  it('no change event, streamed change or notification holds the value', async () => {
    const events = await app.db.prisma.secretChangeEvent.findMany({ where: { projectId: app.project.id } });
    expect(events.length).toBeGreaterThanOrEqual(5);
    await waitFor(
      'every change streamed and notified',
      () => streamed.length >= events.length && receiver.received.length >= events.length,
    );
    const deliveries = await app.db.prisma.notificationDelivery.findMany();
    const texts = [
      ...events.map((e) => JSON.stringify(e)),
      ...streamed,
      ...receiver.received.map((r) => JSON.stringify(r)),
      JSON.stringify(deliveries),
    ];
    expect(texts.filter(holdsCanary)).toEqual([]);
  });

  it('the authorised reveals did return the value (the canary is detectable)', () => {
    const reveals = exchanges.filter((exchange) => exchange.revealsByDesign);
    expect(reveals.length).toBeGreaterThanOrEqual(6);
    for (const reveal of reveals) {
      expect(reveal.errors, reveal.label).toEqual([]);
      const data = (JSON.parse(reveal.text) as { data: { secret?: { value: string }; secretValues?: Array<{ value: string }> } }).data;
      const values = data.secret ? [data.secret.value] : (data.secretValues ?? []).map((entry) => entry.value);
      expect(values, reveal.label).toContain(CANARY);
    }
  });

  it('every other response leaves the value out', () => {
    const leaking = exchanges
      .filter((exchange) => !exchange.revealsByDesign && !exchange.coercion && holdsCanary(exchange.text))
      .map((exchange) => exchange.label);
    expect(leaking).toEqual([]);
  });

  it('no GraphQL error holds the value', () => {
    const leaking = exchanges
      .filter((exchange) => !exchange.coercion && holdsCanary(JSON.stringify(exchange.errors)))
      .map((exchange) => exchange.label);
    expect(leaking).toEqual([]);
    // The error paths were really taken: most exchanges above are refusals.
    expect(exchanges.filter((exchange) => exchange.errors.length > 0 || exchange.status >= 400).length).toBeGreaterThan(30);
  });

  // KNOWN SRC BUG: fails today. graphql-js words coercion errors as
  // `Variable "$input" got invalid value <the input> at "input.expiresAt"; ...`, and Coffer passes
  // them through (src/graphql/plugins.ts, useErrorCodes, only adds a code), so a value pasted into
  // the wrong field is echoed back.
  it('bad input rejected by GraphQL coercion does not echo what was sent', () => {
    const rejected = exchanges.filter((exchange) => exchange.coercion);
    expect(rejected.length).toBeGreaterThanOrEqual(8);
    for (const exchange of rejected) expect(exchange.errors.length, exchange.label).toBeGreaterThan(0);
    expect(rejected.filter((exchange) => holdsCanary(exchange.text)).map((exchange) => exchange.label)).toEqual([]);
  });

  it('no log line holds the value', () => {
    expect(app.logs.length).toBeGreaterThan(exchanges.length);
    expect(app.logs.filter(holdsCanary)).toEqual([]);
  });

  it('no audit record holds the value', async () => {
    const records = await app.db.prisma.auditEvent.findMany();
    expect(records.length).toBeGreaterThan(20);
    expect(records.filter((record) => holdsCanary(JSON.stringify(record)))).toEqual([]);
  });

  it('the stored rows hold only ciphertext', async () => {
    const secrets = await app.db.prisma.secret.findMany();
    expect(secrets.filter((secret) => holdsCanary(JSON.stringify(secret)))).toEqual([]);
    const versions = await app.db.prisma.secretVersion.findMany();
    expect(versions.length).toBeGreaterThan(0);
    for (const version of versions) {
      for (const column of [version.ciphertext, version.wrappedKey, version.iv, version.tag]) {
        const bytes = Buffer.from(column);
        expect(bytes.includes(Buffer.from(CORE))).toBe(false);
      }
    }
  });
});

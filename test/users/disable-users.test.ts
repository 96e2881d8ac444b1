import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/auth/index.js';
import { userWithApiKey } from '../../src/features/credentials/credentials.factory.js';
import { issueToken } from '../../src/features/credentials/index.js';
import { setUserDisabled } from '../../src/features/users/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { expectError, expectOk, fieldsOf } from '../support/assertions.js';

/**
 * disableUser / enableUser over GraphQL: admins only; a disabled user's API keys and tokens are
 * refused from the very next request (the principal cache is told, not waited out); nobody
 * disables themself and the last enabled admin stays enabled, with nothing changed.
 */

const ME = { query: '{ me { id } }' };
const DISABLE = 'mutation ($id: ID!) { disableUser(id: $id) { id email disabledAt } }';
const ENABLE = 'mutation ($id: ID!) { enableUser(id: $id) { id email disabledAt } }';

const codeOf = (answer: { json: { errors?: Array<{ extensions?: Record<string, unknown> }> } }) =>
  answer.json.errors?.[0]?.extensions?.code ?? 'OK';

describe('disabling users through the API', () => {
  let app: TestApp;
  // A long cache: only the announcement of the change can refuse a cached key at once.
  beforeAll(async () => {
    app = await createTestApp({ env: { AUTH_CACHE_SECONDS: '600' } });
  });
  afterAll(() => app.close());

  const person = (role: 'ADMIN' | 'DEVELOPER' = 'DEVELOPER') => userWithApiKey({ db: app.db, keys: app.services.auth.keys, role });
  const call = (query: string, id: string, credential: string) => app.request({ query, variables: { id } }, { credential });
  const auditOf = (targetId: string) =>
    app.db.prisma.auditEvent.findMany({ where: { targetType: 'user', targetId }, orderBy: [{ at: 'asc' }, { action: 'asc' }] });

  it("an admin disables a user: the user's API key and token are refused on the next request; enabling lets the key in again", async () => {
    const { user, key } = await person();
    const { token } = await issueToken({
      db: app.db,
      keys: app.services.auth.keys,
      ttlSeconds: 600,
      userId: user.id,
      now: app.clock.now(),
    });
    // Both credentials verified once, so their principals are cached.
    expect(codeOf(await app.request(ME, { credential: key }))).toBe('OK');
    expect(codeOf(await app.request(ME, { credential: token, as: 'bearer' }))).toBe('OK');

    const disabled = await call(DISABLE, user.id, app.admin.key);
    expect(expectOk({ ...disabled, data: disabled.json.data })).toEqual({
      disableUser: { id: user.id, email: user.email, disabledAt: app.clock.now().toISOString() },
    });
    expect(codeOf(await app.request(ME, { credential: key }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await app.request(ME, { credential: token, as: 'bearer' }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await app.request({ query: '{ projects(first: 1) { totalCount } }' }, { credential: key }))).toBe('UNAUTHENTICATED');

    // Disabling again changes nothing (the first time stays the time).
    app.clock.advance(1000);
    const again = await call(DISABLE, user.id, app.admin.key);
    expect((again.json.data as { disableUser: { disabledAt: string } }).disableUser.disabledAt).toBe(
      new Date(app.clock.now().getTime() - 1000).toISOString(),
    );

    const enabled = await call(ENABLE, user.id, app.admin.key);
    expect(enabled.json.errors).toBeUndefined();
    expect(enabled.json.data).toEqual({ enableUser: { id: user.id, email: user.email, disabledAt: null } });
    expect(codeOf(await app.request(ME, { credential: key }))).toBe('OK');

    const audit = await auditOf(user.id);
    expect(audit.map((row) => [row.action, row.outcome, row.targetName, row.actorId, row.reason])).toEqual([
      ['user.disable', 'SUCCESS', user.email, app.admin.user.id, null],
      ['user.disable', 'SUCCESS', user.email, app.admin.user.id, 'already disabled'],
      ['user.enable', 'SUCCESS', user.email, app.admin.user.id, null],
    ]);
  });

  it('is for admins only: a developer (the owner, or the user themself) is FORBIDDEN and nothing changes', async () => {
    const { user, key } = await person();
    for (const credential of [app.owner.key, app.stranger.key, key]) {
      expectError(await call(DISABLE, user.id, credential), 'FORBIDDEN');
      expectError(await call(ENABLE, user.id, credential), 'FORBIDDEN');
    }
    expectError(await app.request({ query: DISABLE, variables: { id: user.id } }), 'UNAUTHENTICATED');
    expect((await app.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).disabledAt).toBeNull();
    expect(codeOf(await app.request(ME, { credential: key }))).toBe('OK');
    expect(await auditOf(user.id)).toEqual([]);
  });

  it('an admin cannot disable themself: BAD_USER_INPUT, and they stay enabled', async () => {
    const answer = await call(DISABLE, app.admin.user.id, app.admin.key);
    expect(expectError(answer, 'BAD_USER_INPUT').message).toBeTruthy();
    expect(fieldsOf(answer)).toEqual(['id']);
    expect((await app.db.prisma.user.findUniqueOrThrow({ where: { id: app.admin.user.id } })).disabledAt).toBeNull();
    expect(codeOf(await app.request(ME, { credential: app.admin.key }))).toBe('OK');
    expect(await auditOf(app.admin.user.id)).toEqual([]);
  });

  it('an admin disables another admin (not the last one); an unknown or malformed id is NOT_FOUND', async () => {
    const other = await person('ADMIN');
    expect(codeOf(await call(DISABLE, other.user.id, app.admin.key))).toBe('OK');
    expect(codeOf(await app.request(ME, { credential: other.key }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await call(ENABLE, other.user.id, app.admin.key))).toBe('OK');
    for (const id of [randomUUID(), 'not-an-id', "1'; DROP TABLE users; --"]) {
      expectError(await call(DISABLE, id, app.admin.key), 'NOT_FOUND');
      expectError(await call(ENABLE, id, app.admin.key), 'NOT_FOUND');
    }
  });
});

describe('the last enabled admin', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  const enabledAdmins = () => app.db.prisma.user.count({ where: { role: 'ADMIN', disabledAt: null } });

  it('cannot be disabled, whoever asks: CONFLICT, and nothing changes', async () => {
    expect(await enabledAdmins()).toBe(1);
    const refused = setUserDisabled({
      db: app.db,
      signals: app.services.signals,
      actor: SYSTEM_ACTOR,
      userId: app.admin.user.id,
      disabled: true,
      now: app.clock.now(),
    });
    await expect(refused).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('last enabled admin') });
    expect(await enabledAdmins()).toBe(1);
    expect(await app.db.prisma.auditEvent.count({ where: { targetType: 'user' } })).toBe(0);
    expect(codeOf(await app.request(ME, { credential: app.admin.key }))).toBe('OK');
  });

  it('two admins disabling each other at once: never both; one admin stays enabled', async () => {
    const other = await userWithApiKey({ db: app.db, keys: app.services.auth.keys, role: 'ADMIN' });
    expect(await enabledAdmins()).toBe(2);
    const answers = await Promise.all([
      app.request({ query: DISABLE, variables: { id: other.user.id } }, { credential: app.admin.key }),
      app.request({ query: DISABLE, variables: { id: app.admin.user.id } }, { credential: other.key }),
    ]);
    const codes = answers.map(codeOf);
    // The loser is refused as the last admin, or (if the winner committed before it signed in) as disabled.
    expect(codes.filter((code) => code === 'OK')).toHaveLength(1);
    expect(codes.filter((code) => code === 'CONFLICT' || code === 'UNAUTHENTICATED')).toHaveLength(1);
    expect(await enabledAdmins()).toBe(1);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrincipalChange, PrincipalCache, principalChangeMessage } from '../../src/auth/principal-cache.js';
import type { UserViewer } from '../../src/auth/index.js';
import { RESYNC } from '../../src/events/signals.js';
import { userWithApiKey } from '../../src/features/credentials/credentials.factory.js';
import { issueToken } from '../../src/features/credentials/index.js';
import { deleteUser, setUserDisabled, setUserRole } from '../../src/features/users/index.js';
import { createTestApp, type TestApp } from '../support/app.js';

const viewerOf = (userId: string, apiKeyId?: string): UserViewer =>
  ({
    kind: 'user',
    userId,
    role: 'DEVELOPER',
    user: { id: userId } as UserViewer['user'],
    credential: apiKeyId ? { kind: 'api-key', apiKeyId } : { kind: 'token' },
  }) as UserViewer;

describe('PrincipalCache', () => {
  it('answers within its lifetime, then forgets', () => {
    const cache = new PrincipalCache(30_000);
    cache.set('api-key:a', { viewer: viewerOf('u1', 'k1') }, 1_000, cache.snapshot());
    expect(cache.get('api-key:a', 30_999)?.viewer).toMatchObject({ userId: 'u1' });
    expect(cache.get('api-key:a', 31_000)).toBeNull();
    expect(cache.size).toBe(0);
  });

  it('a lifetime of 0 stores nothing', () => {
    const cache = new PrincipalCache(0);
    cache.set('token:u1', { viewer: viewerOf('u1') }, 0, cache.snapshot());
    expect(cache.get('token:u1', 0)).toBeNull();
    expect(cache.enabled).toBe(false);
  });

  it('forgets one key, every credential of one user, or everything', () => {
    const cache = new PrincipalCache(30_000);
    const fill = () => {
      cache.set('api-key:a', { viewer: viewerOf('u1', 'k1') }, 0, cache.snapshot());
      cache.set('api-key:b', { viewer: viewerOf('u1', 'k2') }, 0, cache.snapshot());
      cache.set('token:u1', { viewer: viewerOf('u1') }, 0, cache.snapshot());
      cache.set('token:u2', { viewer: viewerOf('u2') }, 0, cache.snapshot());
    };
    fill();
    cache.forget({ apiKeyId: 'k1' });
    expect(['api-key:a', 'api-key:b', 'token:u1', 'token:u2'].map((key) => cache.get(key, 1) !== null)).toEqual([false, true, true, true]);
    cache.forget({ userId: 'u1' });
    expect(['api-key:b', 'token:u1', 'token:u2'].map((key) => cache.get(key, 1) !== null)).toEqual([false, false, true]);
    fill();
    cache.forget('all');
    expect(cache.size).toBe(0);
  });

  it('does not store a lookup that raced a change (read before it, stored after it)', () => {
    const cache = new PrincipalCache(30_000);
    const before = cache.snapshot();
    cache.forget({ userId: 'someone else' });
    cache.set('token:u1', { viewer: viewerOf('u1') }, 0, before);
    expect(cache.get('token:u1', 1)).toBeNull();
  });

  it('stays within its bound, dropping the oldest entry first', () => {
    const cache = new PrincipalCache(30_000, 2);
    for (const id of ['a', 'b', 'c']) cache.set(`token:${id}`, { viewer: viewerOf(id) }, 0, cache.snapshot());
    expect(cache.size).toBe(2);
    expect(cache.get('token:a', 1)).toBeNull();
    expect(cache.get('token:c', 1)).not.toBeNull();
  });

  it('signal messages round-trip; RESYNC and anything unknown mean "forget everything"', () => {
    expect(parsePrincipalChange(principalChangeMessage({ apiKeyId: 'k1' }))).toEqual({ apiKeyId: 'k1' });
    expect(parsePrincipalChange(principalChangeMessage({ userId: 'u1' }))).toEqual({ userId: 'u1' });
    expect(parsePrincipalChange(RESYNC)).toBe('all');
    expect(parsePrincipalChange('')).toBe('all');
  });
});

const ME = { query: '{ me { id role } }' };
const USERS = { query: '{ users(first: 1) { edges { node { id } } } }' };
const codeOf = (answer: { json: { errors?: Array<{ extensions?: Record<string, unknown> }> } }) =>
  answer.json.errors?.[0]?.extensions?.code ?? 'OK';

describe('authentication cache in a process', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  const person = () => userWithApiKey({ db: app.db, keys: app.services.auth.keys });

  it('a verified key is answered from memory: a change nobody announced is not seen until the entry expires', async () => {
    const { user, key } = await person();
    expect(codeOf(await app.request(ME, { credential: key }))).toBe('OK');
    await app.db.prisma.user.update({ where: { id: user.id }, data: { disabledAt: new Date() } });
    expect(codeOf(await app.request(ME, { credential: key }))).toBe('OK');
    app.clock.advance(app.config.authCacheSeconds * 1000);
    expect(codeOf(await app.request(ME, { credential: key }))).toBe('UNAUTHENTICATED');
  });

  it('the cache is keyed by key id but checks the secret: a wrong secret with a cached key id is refused', async () => {
    const { key } = await person();
    expect(codeOf(await app.request(ME, { credential: key }))).toBe('OK');
    const wrong = `${key.slice(0, 17)}${'A'.repeat(43)}`;
    expect(codeOf(await app.request(ME, { credential: wrong }))).toBe('UNAUTHENTICATED');
  });

  it('revoking a key refuses it at once', async () => {
    const { key, apiKey } = await person();
    expect(codeOf(await app.request(ME, { credential: key }))).toBe('OK');
    const revoked = await app.request({ query: `mutation { revokeApiKey(id: "${apiKey.id}") { id } }` }, { credential: key });
    expect(codeOf(revoked)).toBe('OK');
    expect(codeOf(await app.request(ME, { credential: key }))).toBe('UNAUTHENTICATED');
  });

  it('disabling a user refuses their keys and tokens at once; enabling lets them in again', async () => {
    const { user, key } = await person();
    const { token } = await issueToken({
      db: app.db,
      keys: app.services.auth.keys,
      ttlSeconds: 600,
      userId: user.id,
      now: app.clock.now(),
    });
    expect(codeOf(await app.request(ME, { credential: key }))).toBe('OK');
    expect(codeOf(await app.request(ME, { credential: token, as: 'bearer' }))).toBe('OK');
    await setUserDisabled({ db: app.db, signals: app.services.signals, userId: user.id, disabled: true, now: app.clock.now() });
    expect(codeOf(await app.request(ME, { credential: key }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await app.request(ME, { credential: token, as: 'bearer' }))).toBe('UNAUTHENTICATED');
    await setUserDisabled({ db: app.db, signals: app.services.signals, userId: user.id, disabled: false, now: app.clock.now() });
    expect(codeOf(await app.request(ME, { credential: key }))).toBe('OK');
  });

  it('a role change takes effect at once, both ways', async () => {
    const { user, key } = await person();
    expect(codeOf(await app.request(USERS, { credential: key }))).toBe('FORBIDDEN');
    await setUserRole({ db: app.db, signals: app.services.signals, userId: user.id, role: 'ADMIN' });
    expect(codeOf(await app.request(USERS, { credential: key }))).toBe('OK');
    expect((await app.request(ME, { credential: key })).json.data?.me).toMatchObject({ role: 'ADMIN' });
    await setUserRole({ db: app.db, signals: app.services.signals, userId: user.id, role: 'DEVELOPER' });
    expect(codeOf(await app.request(USERS, { credential: key }))).toBe('FORBIDDEN');
  });

  it('deleting a user refuses their keys and tokens at once', async () => {
    const { user, key } = await person();
    const { token } = await issueToken({
      db: app.db,
      keys: app.services.auth.keys,
      ttlSeconds: 600,
      userId: user.id,
      now: app.clock.now(),
    });
    expect(codeOf(await app.request(ME, { credential: key }))).toBe('OK');
    expect(codeOf(await app.request(ME, { credential: token, as: 'bearer' }))).toBe('OK');
    await deleteUser({ db: app.db, signals: app.services.signals, userId: user.id });
    expect(codeOf(await app.request(ME, { credential: key }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await app.request(ME, { credential: token, as: 'bearer' }))).toBe('UNAUTHENTICATED');
  });

  it('a lost connection (RESYNC) forgets everything', async () => {
    const { key } = await person();
    await app.request(ME, { credential: key });
    expect(app.services.auth.cache.size).toBeGreaterThan(0);
    await app.services.signals.publish('credentials', RESYNC);
    expect(app.services.auth.cache.size).toBe(0);
  });

  it('requests answered from memory still count as uses of the key', async () => {
    const { key, apiKey } = await person();
    await app.request(ME, { credential: key });
    app.clock.advance(5_000);
    await app.request(ME, { credential: key });
    await app.services.auth.usage.flush();
    const row = await app.db.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
    expect(row.lastUsedAt?.getTime()).toBe(Math.floor(app.clock.current.getTime() / 1000) * 1000);
  });
});

describe('AUTH_CACHE_SECONDS=0', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { AUTH_CACHE_SECONDS: '0' } });
  });
  afterAll(() => app.close());

  it('every request reads the database: an unannounced change is seen at once', async () => {
    const { user, key } = await userWithApiKey({ db: app.db, keys: app.services.auth.keys });
    expect(codeOf(await app.request(ME, { credential: key }))).toBe('OK');
    await app.db.prisma.user.update({ where: { id: user.id }, data: { disabledAt: new Date() } });
    expect(codeOf(await app.request(ME, { credential: key }))).toBe('UNAUTHENTICATED');
    expect(app.services.auth.cache.size).toBe(0);
  });
});

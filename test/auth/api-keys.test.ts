import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../src/generated/graphql/index.js';
import { createTestApp, errorCodes, type TestApp } from '../support/app.js';
import { createApiKey } from '../../src/features/credentials/index.js';

const Me = graphql(`query KeysMe { me { id apiKeys { id name prefix lastUsedAt revokedAt expiresAt } } }`);
const CreateApiKey = graphql(
  `mutation KeysCreate($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { id name prefix userId } } }`,
);
const RevokeApiKey = graphql(`mutation KeysRevoke($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`);
const UserKeys = graphql(
  `query KeysOfOwner($ownerId: ID) { projects(first: 5, ownerId: $ownerId) { edges { node { owner { apiKeys { id } } } } } }`,
);

describe('API keys', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('shows the key once, stores only an HMAC, and lists keys without it', async () => {
    const created = await app.execute(CreateApiKey, { input: { name: 'deploy bot' } }, { credential: app.stranger.key });
    const { key, apiKey } = created.data!.createApiKey!;
    expect(key).toMatch(/^cof_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(apiKey.prefix).toBe(`${key.slice(0, 17)}…`);
    expect(apiKey.userId).toBe(app.stranger.user.id);

    const row = await app.db.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
    expect(JSON.stringify(row)).not.toContain(key.slice(17));
    expect(Buffer.from(row.secretHash)).toHaveLength(32);

    const listed = await app.execute(Me, {}, { credential: key });
    expect(listed.text).not.toContain(key.slice(17));
    expect(listed.data?.me.apiKeys.map((k) => k.name)).toContain('deploy bot');
  });

  it('an admin can create a key for another user, which then acts as that user', async () => {
    const created = await app.execute(
      CreateApiKey,
      { input: { name: 'for owner', userId: app.owner.user.id } },
      { credential: app.admin.key },
    );
    expect((await app.execute(Me, {}, { credential: created.data!.createApiKey!.key })).data?.me.id).toBe(app.owner.user.id);
  });

  it('refuses an expiry in the past and honours a future one', async () => {
    const past = await app.execute(
      CreateApiKey,
      { input: { name: 'x', expiresAt: '2020-01-01T00:00:00Z' } },
      { credential: app.owner.key },
    );
    expect(errorCodes(past)).toEqual(['BAD_USER_INPUT']);
    const soon = new Date(app.clock.current.getTime() + 60_000).toISOString();
    const created = await app.execute(CreateApiKey, { input: { name: 'short-lived', expiresAt: soon } }, { credential: app.owner.key });
    const key = created.data!.createApiKey!.key;
    expect((await app.execute(Me, {}, { credential: key })).errors).toEqual([]);
    app.clock.advance(61_000);
    const expired = await app.execute(Me, {}, { credential: key });
    expect(expired.errors[0]?.message).toBe('The API key has expired.');
  });

  it('records last use in batches, without a write per request', async () => {
    const { key, apiKey } = await createApiKey({ db: app.db, keys: app.services.auth.keys, userId: app.stranger.user.id, name: 'usage' });
    await app.execute(Me, {}, { credential: key });
    await app.execute(Me, {}, { credential: key });
    expect((await app.db.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } })).lastUsedAt).toBeNull();
    await app.services.auth.usage.flush();
    expect((await app.db.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } })).lastUsedAt?.getTime()).toBe(
      Math.floor(app.clock.current.getTime() / 1000) * 1000,
    );
  });

  it("a developer cannot reach another user's keys through a nested field", async () => {
    const ownerKeyIds = (await app.db.prisma.apiKey.findMany({ where: { userId: app.owner.user.id } })).map((k) => k.id);
    const asAdmin = await app.execute(UserKeys, { ownerId: app.owner.user.id }, { credential: app.admin.key });
    expect(asAdmin.text).toContain(ownerKeyIds[0]);
    // For developers `ownerId` is ignored: they only ever see their own projects, hence only their own keys.
    const asStranger = await app.execute(UserKeys, { ownerId: app.owner.user.id }, { credential: app.stranger.key });
    expect(asStranger.errors).toEqual([]);
    for (const id of ownerKeyIds) expect(asStranger.text).not.toContain(id);
  });

  it('revoking is immediate and idempotent', async () => {
    const { key, apiKey } = await createApiKey({ db: app.db, keys: app.services.auth.keys, userId: app.owner.user.id, name: 'revoke me' });
    const first = await app.execute(RevokeApiKey, { id: apiKey.id }, { credential: app.owner.key });
    const second = await app.execute(RevokeApiKey, { id: apiKey.id }, { credential: app.owner.key });
    expect(second.data?.revokeApiKey!.revokedAt).toBe(first.data?.revokeApiKey!.revokedAt);
    expect(errorCodes(await app.execute(Me, {}, { credential: key }))).toEqual(['UNAUTHENTICATED']);
  });
});

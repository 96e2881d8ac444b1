import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../src/app.js';
import { purgeExpiredSecrets } from '../../src/features/secrets/expiry-sweeper.js';
import { buildSchema } from '../../src/schema.js';
import { createTestApp, errorCodes, type TestApp } from '../support/app.js';
import { expectError, expectOk } from '../support/assertions.js';
import {
  auditOf,
  putSecret,
  scopesOf,
  uniqueName,
  vaultCounts,
  VaultAuditEvents,
  VaultDelete,
  VaultDestroy,
  VaultList,
  VaultMetadata,
  VaultRestore,
  VaultReveal,
  VaultRollback,
  VaultUpdate,
  VaultUpsert,
  VaultVersions,
  type Scope,
} from './support.js';

/**
 * The rules of the vault, one property per test: what a secret is, how versions, deletion,
 * reservation and expiry behave, and what the audit trail records.
 */
describe('secret semantics', () => {
  let app: TestApp;
  let scopes: ReturnType<typeof scopesOf>;
  const asAdmin = () => ({ credential: app.admin.key });
  const asOwner = () => ({ credential: app.owner.key });
  const asStranger = () => ({ credential: app.stranger.key });
  const iso = (date: Date) => date.toISOString();
  const inFuture = (ms: number) => new Date(app.clock.current.getTime() + ms).toISOString();

  const reveal = async (name: string, scope?: Scope, version?: number, credential = app.admin.key) =>
    expectOk(await app.execute(VaultReveal, { name, scope, version }, { credential })).secret;
  const metadata = async (name: string, scope?: Scope, credential = app.admin.key) =>
    expectOk(await app.execute(VaultMetadata, { name, scope }, { credential })).secret;
  const versionsOf = async (name: string, scope?: Scope, credential = app.admin.key) =>
    expectOk(await app.execute(VaultVersions, { name, scope }, { credential })).secretVersions.map((entry) => entry.version);
  const listNames = async (namePrefix: string, scope?: Scope, filter: Record<string, unknown> = {}) =>
    expectOk(await app.execute(VaultList, { scope, filter: { namePrefix, ...filter }, first: 100 }, asAdmin())).secrets.edges.map(
      (edge) => edge.node.name,
    );

  beforeAll(async () => {
    app = await createTestApp();
    scopes = scopesOf(app);
  });
  afterAll(() => app.close());

  describe('the model: a secret is (scope, name)', () => {
    it('an omitted scope means ACCOUNT', async () => {
      const name = uniqueName('OMITTED');
      const created = await putSecret(app, { name, value: 'account value' });
      expect(created).toMatchObject({ scope: 'ACCOUNT', projectId: null, userId: null, currentVersion: 1 });
      const explicit = await reveal(name, { type: 'ACCOUNT' });
      expect(explicit).toMatchObject({ id: created!.id, value: 'account value' });
    });

    it('the same name in ACCOUNT, PROJECT and USER scope is three different secrets', async () => {
      const name = uniqueName('SAME');
      const account = await putSecret(app, { name, value: 'in account' });
      const project = await putSecret(app, { name, value: 'in project', scope: scopes.PROJECT }, asOwner());
      const user = await putSecret(app, { name, value: 'in user', scope: { type: 'USER' } }, asOwner());
      expect(new Set([account!.id, project!.id, user!.id]).size).toBe(3);
      expect(project).toMatchObject({ scope: 'PROJECT', projectId: app.project.id, userId: null });
      expect(user).toMatchObject({ scope: 'USER', userId: app.owner.user.id, projectId: null });
      expect((await reveal(name)).value).toBe('in account');
      expect((await reveal(name, scopes.PROJECT)).value).toBe('in project');
      expect((await reveal(name, scopes.USER)).value).toBe('in user');
    });

    it('USER scope without userId is the caller', async () => {
      const name = uniqueName('MINE');
      const owners = await putSecret(app, { name, value: 'owner own', scope: { type: 'USER' } }, asOwner());
      const strangers = await putSecret(app, { name, value: 'stranger own', scope: { type: 'USER' } }, asStranger());
      expect(owners!.userId).toBe(app.owner.user.id);
      expect(strangers!.userId).toBe(app.stranger.user.id);
      expect((await reveal(name, { type: 'USER' }, undefined, app.owner.key)).value).toBe('owner own');
      expect((await reveal(name, { type: 'USER' }, undefined, app.stranger.key)).value).toBe('stranger own');
      // An admin's own USER scope is the admin's, not anyone else's.
      expectError(await app.execute(VaultReveal, { name, scope: { type: 'USER' } }, asAdmin()), 'NOT_FOUND');
      expect((await reveal(name, { type: 'USER', userId: app.owner.user.id })).value).toBe('owner own');
    });

    it('names of 1 and of 255 characters of A-Z, 0-9 and _ are accepted', async () => {
      for (const name of ['Q', '0_9', uniqueName('LONG').padEnd(255, '_')]) {
        expect((await putSecret(app, { name, value: 'v', scope: { type: 'USER' } }, asStranger()))!.name).toBe(name);
      }
    });

    it('values from 1 byte to exactly 64 KiB of UTF-8 survive byte for byte', async () => {
      const values = [
        '1',
        '-----BEGIN PRIVATE KEY-----\r\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nline three\twith tab  \n\n-----END PRIVATE KEY-----\n',
        '  leading and trailing spaces  ',
        'ünïcødé 🔑 中文 \u0000 nul and \u200b zero-width',
        'é'.repeat(32 * 1024), // 64 KiB in bytes, 32 K characters: the limit is bytes, not characters
        'x'.repeat(64 * 1024),
      ];
      for (const [index, value] of values.entries()) {
        const name = uniqueName(`VALUE_${index}`);
        await putSecret(app, { name, value });
        const read = await reveal(name);
        expect(Buffer.from(read.value, 'utf8').equals(Buffer.from(value, 'utf8'))).toBe(true);
      }
    });
  });

  describe('versions', () => {
    it('every write of a value makes a new version, and each kept version can be read', async () => {
      const name = uniqueName('VERSIONS');
      expect((await putSecret(app, { name, value: 'one' }))!.currentVersion).toBe(1);
      expect((await putSecret(app, { name, value: 'two' }))!.currentVersion).toBe(2);
      expect(expectOk(await app.execute(VaultUpdate, { input: { name, value: 'three' } }, asAdmin())).updateSecret!.currentVersion).toBe(3);
      expect(await versionsOf(name)).toEqual([3, 2, 1]);
      expect(await reveal(name)).toMatchObject({ version: 3, currentVersion: 3, value: 'three' });
      expect(await reveal(name, undefined, 1)).toMatchObject({ version: 1, currentVersion: 3, value: 'one' });
      expect(await reveal(name, undefined, 2)).toMatchObject({ version: 2, value: 'two' });
    });

    it('changing only metadata does not make a version', async () => {
      const name = uniqueName('FLAGS_ONLY');
      await putSecret(app, { name, value: 'v' });
      const updated = expectOk(
        await app.execute(VaultUpdate, { input: { name, description: 'now described', isActive: false } }, asAdmin()),
      ).updateSecret;
      expect(updated!.currentVersion).toBe(1);
      expect(await versionsOf(name)).toEqual([1]);
    });

    it('the last 20 versions are kept by default; older ones can neither be read nor rolled back to', async () => {
      const name = uniqueName('KEEP_20');
      for (let version = 1; version <= 22; version += 1) await putSecret(app, { name, value: `value ${version}` });
      const kept = await versionsOf(name);
      expect(kept).toEqual(Array.from({ length: 20 }, (_, index) => 22 - index));
      expect((await reveal(name, undefined, 3)).value).toBe('value 3');
      expectError(await app.execute(VaultReveal, { name, version: 2 }, asAdmin()), 'NOT_FOUND');
      expectError(await app.execute(VaultRollback, { name, version: 2 }, asAdmin()), 'NOT_FOUND');
      expect((await metadata(name)).currentVersion).toBe(22);
    });

    it('rollbackSecret makes a kept version current again, as a new version', async () => {
      const name = uniqueName('ROLLBACK');
      await putSecret(app, { name, value: 'first' });
      await putSecret(app, { name, value: 'second' });
      const rolled = expectOk(await app.execute(VaultRollback, { name, version: 1 }, asAdmin())).rollbackSecret;
      expect(rolled!.currentVersion).toBe(3);
      expect(await reveal(name)).toMatchObject({ version: 3, value: 'first' });
      expect((await reveal(name, undefined, 2)).value).toBe('second');
      expect(await versionsOf(name)).toEqual([3, 2, 1]);
    });

    it('rollbackSecret checks expectedVersion and refuses versions that do not exist', async () => {
      const name = uniqueName('ROLLBACK_CAS');
      await putSecret(app, { name, value: 'first' });
      await putSecret(app, { name, value: 'second' });
      expectError(await app.execute(VaultRollback, { name, version: 1, expectedVersion: 1 }, asAdmin()), 'CONFLICT');
      expectError(await app.execute(VaultRollback, { name, version: 7 }, asAdmin()), 'NOT_FOUND');
      expect(await reveal(name)).toMatchObject({ currentVersion: 2, value: 'second' });
      expect(
        expectOk(await app.execute(VaultRollback, { name, version: 1, expectedVersion: 2 }, asAdmin())).rollbackSecret!.currentVersion,
      ).toBe(3);
    });

    describe('with SECRET_VERSIONS_KEPT=3', () => {
      let small: TestApp;
      beforeAll(async () => {
        small = await createTestApp({ env: { SECRET_VERSIONS_KEPT: '3' } });
      });
      afterAll(() => small.close());

      it('keeps exactly the last 3 versions, readable and restorable by rollback', async () => {
        const name = uniqueName('KEEP_3');
        for (let version = 1; version <= 5; version += 1) await putSecret(small, { name, value: `value ${version}` });
        const versions = async () =>
          expectOk(await small.execute(VaultVersions, { name }, { credential: small.admin.key })).secretVersions.map(
            (entry) => entry.version,
          );
        expect(await versions()).toEqual([5, 4, 3]);
        expectError(await small.execute(VaultReveal, { name, version: 2 }, { credential: small.admin.key }), 'NOT_FOUND');
        expect(expectOk(await small.execute(VaultReveal, { name, version: 3 }, { credential: small.admin.key })).secret.value).toBe(
          'value 3',
        );
        expect(
          expectOk(await small.execute(VaultRollback, { name, version: 3 }, { credential: small.admin.key })).rollbackSecret!
            .currentVersion,
        ).toBe(6);
        expect(await versions()).toEqual([6, 5, 4]);
        expect(expectOk(await small.execute(VaultReveal, { name }, { credential: small.admin.key })).secret.value).toBe('value 3');
        const [rows] = await small.db.prisma.$queryRaw<Array<{ count: bigint }>>`
          SELECT count(*) FROM secret_versions v JOIN secrets s ON s.id = v.secret_id WHERE s.name = ${name}`;
        expect(Number(rows?.count)).toBe(3);
      });
    });
  });

  describe('upsertSecret', () => {
    it('creates, then replaces by default', async () => {
      const name = uniqueName('UPSERT');
      const created = await putSecret(app, { name, value: 'a' });
      const replaced = await putSecret(app, { name, value: 'b' });
      expect(replaced).toMatchObject({ id: created!.id, currentVersion: 2 });
      expect((await reveal(name)).value).toBe('b');
    });

    it('ifExists: FAIL creates a free name', async () => {
      const name = uniqueName('FAIL_FREE');
      expect((await putSecret(app, { name, value: 'a', ifExists: 'FAIL' }))!.currentVersion).toBe(1);
    });

    it('ifExists: FAIL is a CONFLICT when the name is taken, and changes nothing', async () => {
      const name = uniqueName('FAIL_TAKEN');
      await putSecret(app, { name, value: 'original', description: 'kept' });
      const before = await vaultCounts(app);
      expectError(
        await app.execute(VaultUpsert, { input: { name, value: 'intruder', ifExists: 'FAIL', description: 'changed' } }, asAdmin()),
        'CONFLICT',
      );
      expect(await reveal(name)).toMatchObject({ currentVersion: 1, value: 'original' });
      expect((await metadata(name)).description).toBe('kept');
      expect(await vaultCounts(app)).toEqual(before);
    });

    it('expectedVersion: a matching version writes', async () => {
      const name = uniqueName('CAS_MATCH');
      await putSecret(app, { name, value: 'a' });
      expect((await putSecret(app, { name, value: 'b', expectedVersion: 1 }))!.currentVersion).toBe(2);
      expect((await reveal(name)).value).toBe('b');
    });

    it('expectedVersion: a mismatch is a CONFLICT and changes nothing', async () => {
      const name = uniqueName('CAS_MISMATCH');
      await putSecret(app, { name, value: 'a' });
      await putSecret(app, { name, value: 'b' });
      for (const expectedVersion of [1, 3]) {
        expectError(await app.execute(VaultUpsert, { input: { name, value: 'stale', expectedVersion } }, asAdmin()), 'CONFLICT');
      }
      expect(await reveal(name)).toMatchObject({ currentVersion: 2, value: 'b' });
      expect(await versionsOf(name)).toEqual([2, 1]);
    });

    it('expectedVersion 0 means "must not exist"', async () => {
      const name = uniqueName('CAS_ZERO');
      expect((await putSecret(app, { name, value: 'first', expectedVersion: 0 }))!.currentVersion).toBe(1);
      expectError(await app.execute(VaultUpsert, { input: { name, value: 'second', expectedVersion: 0 } }, asAdmin()), 'CONFLICT');
      expect((await reveal(name)).value).toBe('first');
    });

    it('recreating a deleted name works, even with ifExists: FAIL and expectedVersion 0', async () => {
      const name = uniqueName('REVIVE');
      await putSecret(app, { name, value: 'old life', scope: scopes.PROJECT }, asOwner());
      expectOk(await app.execute(VaultDelete, { name, scope: scopes.PROJECT }, asOwner()));
      const revived = await putSecret(
        app,
        { name, value: 'new life', scope: scopes.PROJECT, ifExists: 'FAIL', expectedVersion: 0 },
        asOwner(),
      );
      expect(revived!.deletedAt).toBeNull();
      expect((await reveal(name, scopes.PROJECT, undefined, app.owner.key)).value).toBe('new life');
      expect(await listNames(name, scopes.PROJECT)).toEqual([name]);
    });
  });

  describe('updateSecret', () => {
    it('changes only the fields it is given', async () => {
      const name = uniqueName('PARTIAL');
      const expiresAt = inFuture(86_400_000);
      await putSecret(app, { name, value: 'v1', description: 'first', expiresAt });
      const described = expectOk(await app.execute(VaultUpdate, { input: { name, description: 'second' } }, asAdmin())).updateSecret;
      expect(described).toMatchObject({ description: 'second', isActive: true, expiresAt, currentVersion: 1, isReserved: false });
      const deactivated = expectOk(await app.execute(VaultUpdate, { input: { name, isActive: false } }, asAdmin())).updateSecret;
      expect(deactivated).toMatchObject({ description: 'second', isActive: false, expiresAt, currentVersion: 1 });
      const revalued = expectOk(await app.execute(VaultUpdate, { input: { name, value: 'v2' } }, asAdmin())).updateSecret;
      expect(revalued).toMatchObject({ description: 'second', isActive: false, expiresAt, currentVersion: 2 });
      expect((await reveal(name)).value).toBe('v2');
    });

    it('expiresAt: null clears the expiry; an omitted expiresAt keeps it', async () => {
      const name = uniqueName('CLEAR_EXPIRY');
      const expiresAt = inFuture(3_600_000);
      await putSecret(app, { name, value: 'v', expiresAt });
      expect(expectOk(await app.execute(VaultUpdate, { input: { name, description: 'x' } }, asAdmin())).updateSecret!.expiresAt).toBe(
        expiresAt,
      );
      expect(expectOk(await app.execute(VaultUpdate, { input: { name, expiresAt: null } }, asAdmin())).updateSecret!.expiresAt).toBeNull();
      expect((await metadata(name)).expiresAt).toBeNull();
    });

    it('expectedVersion: match writes, mismatch is a CONFLICT', async () => {
      const name = uniqueName('UPDATE_CAS');
      await putSecret(app, { name, value: 'a' });
      expectError(await app.execute(VaultUpdate, { input: { name, value: 'b', expectedVersion: 2 } }, asAdmin()), 'CONFLICT');
      expect((await reveal(name)).value).toBe('a');
      expect(
        expectOk(await app.execute(VaultUpdate, { input: { name, value: 'b', expectedVersion: 1 } }, asAdmin())).updateSecret!
          .currentVersion,
      ).toBe(2);
    });

    it('a missing or deleted secret is NOT_FOUND, and updating does not create it', async () => {
      const missing = uniqueName('UPDATE_MISSING');
      expectError(await app.execute(VaultUpdate, { input: { name: missing, value: 'x' } }, asAdmin()), 'NOT_FOUND');
      expectError(await app.execute(VaultMetadata, { name: missing }, asAdmin()), 'NOT_FOUND');
      const deleted = uniqueName('UPDATE_DELETED');
      await putSecret(app, { name: deleted, value: 'x' });
      expectOk(await app.execute(VaultDelete, { name: deleted }, asAdmin()));
      expectError(await app.execute(VaultUpdate, { input: { name: deleted, value: 'y' } }, asAdmin()), 'NOT_FOUND');
    });
  });

  describe('delete, restore and destroy', () => {
    it('deleteSecret is soft: reads stop, history stays, restoreSecret brings it back unchanged', async () => {
      const name = uniqueName('SOFT');
      await putSecret(app, { name, value: 'one', scope: scopes.PROJECT }, asOwner());
      await putSecret(app, { name, value: 'two', scope: scopes.PROJECT }, asOwner());
      const deleted = expectOk(await app.execute(VaultDelete, { name, scope: scopes.PROJECT }, asOwner())).deleteSecret;
      expect(deleted!.deletedAt).toBe(iso(app.clock.current));

      expectError(await app.execute(VaultReveal, { name, scope: scopes.PROJECT }, asOwner()), 'NOT_FOUND');
      expect(await listNames(name, scopes.PROJECT)).toEqual([]);
      expect(await listNames(name, scopes.PROJECT, { includeDeleted: true })).toEqual([name]);
      expect(await versionsOf(name, scopes.PROJECT, app.owner.key)).toEqual([2, 1]);

      const restored = expectOk(await app.execute(VaultRestore, { name, scope: scopes.PROJECT }, asOwner())).restoreSecret;
      expect(restored).toMatchObject({ id: deleted!.id, deletedAt: null, currentVersion: 2 });
      expect((await reveal(name, scopes.PROJECT, undefined, app.owner.key)).value).toBe('two');
      expect((await reveal(name, scopes.PROJECT, 1, app.owner.key)).value).toBe('one');
    });

    it('deleting a deleted secret, or restoring a live or unknown one, is NOT_FOUND', async () => {
      const name = uniqueName('TWICE');
      await putSecret(app, { name, value: 'v' });
      expectError(await app.execute(VaultRestore, { name }, asAdmin()), 'NOT_FOUND');
      expectOk(await app.execute(VaultDelete, { name }, asAdmin()));
      expectError(await app.execute(VaultDelete, { name }, asAdmin()), 'NOT_FOUND');
      expectError(await app.execute(VaultRestore, { name: uniqueName('NEVER') }, asAdmin()), 'NOT_FOUND');
    });

    it('a reserved secret cannot be deleted, by its owner or an admin (FORBIDDEN), and stays as it was', async () => {
      const name = uniqueName('RESERVED_DELETE');
      await putSecret(app, { name, value: 'keep me', scope: scopes.PROJECT, isReserved: true });
      expectError(await app.execute(VaultDelete, { name, scope: scopes.PROJECT }, asOwner()), 'FORBIDDEN');
      expectError(await app.execute(VaultDelete, { name, scope: scopes.PROJECT }, asAdmin()), 'FORBIDDEN');
      expect(await reveal(name, scopes.PROJECT)).toMatchObject({ value: 'keep me', currentVersion: 1 });
      expect((await metadata(name, scopes.PROJECT)).deletedAt).toBeNull();
    });

    it('destroySecret removes the secret and every version for good', async () => {
      const name = uniqueName('DESTROY');
      const secret = await putSecret(app, { name, value: 'a' });
      await putSecret(app, { name, value: 'b' });
      expect(expectOk(await app.execute(VaultDestroy, { name }, asAdmin())).destroySecret!.id).toBe(secret!.id);
      expect(await app.db.prisma.secret.count({ where: { id: secret!.id } })).toBe(0);
      expect(await app.db.prisma.secretVersion.count({ where: { secretId: secret!.id } })).toBe(0);
      expectError(await app.execute(VaultRestore, { name }, asAdmin()), 'NOT_FOUND');
      expectError(await app.execute(VaultVersions, { name }, asAdmin()), 'NOT_FOUND');
      expectError(await app.execute(VaultDestroy, { name }, asAdmin()), 'NOT_FOUND');
      // The name is free again: a new secret, with a history of its own.
      const again = await putSecret(app, { name, value: 'c', ifExists: 'FAIL' });
      expect(again!.id).not.toBe(secret!.id);
      expect(await versionsOf(name)).toEqual([1]);
    });

    it('destroySecret also removes a soft-deleted secret', async () => {
      const name = uniqueName('DESTROY_DELETED');
      const secret = await putSecret(app, { name, value: 'a' });
      expectOk(await app.execute(VaultDelete, { name }, asAdmin()));
      expectOk(await app.execute(VaultDestroy, { name }, asAdmin()));
      expect(await app.db.prisma.secret.count({ where: { id: secret!.id } })).toBe(0);
    });

    it('a reserved secret must be released before destroySecret', async () => {
      const name = uniqueName('RESERVED_DESTROY');
      await putSecret(app, { name, value: 'v', isReserved: true });
      expectError(await app.execute(VaultDestroy, { name }, asAdmin()), 'FORBIDDEN');
      expect((await reveal(name)).value).toBe('v');
      expectOk(await app.execute(VaultUpdate, { input: { name, isReserved: false } }, asAdmin()));
      expectOk(await app.execute(VaultDestroy, { name }, asAdmin()));
      expectError(await app.execute(VaultMetadata, { name }, asAdmin()), 'NOT_FOUND');
    });
  });

  describe('isReserved is for admins', () => {
    it('a developer setting isReserved on create gets FORBIDDEN and nothing is written', async () => {
      for (const isReserved of [true, false]) {
        const name = uniqueName('DEV_RESERVE');
        const before = await vaultCounts(app);
        expectError(
          await app.execute(VaultUpsert, { input: { name, value: 'v', scope: scopes.PROJECT, isReserved } }, asOwner()),
          'FORBIDDEN',
        );
        expect(await vaultCounts(app)).toEqual(before);
        expectError(await app.execute(VaultMetadata, { name, scope: scopes.PROJECT }, asOwner()), 'NOT_FOUND');
      }
    });

    it('a developer cannot clear isReserved, by update or by upsert, and nothing changes', async () => {
      const name = uniqueName('DEV_RELEASE');
      await putSecret(app, { name, value: 'v', scope: scopes.PROJECT, isReserved: true });
      expectError(
        await app.execute(VaultUpdate, { input: { name, scope: scopes.PROJECT, isReserved: false, description: 'sneaky' } }, asOwner()),
        'FORBIDDEN',
      );
      expectError(
        await app.execute(VaultUpsert, { input: { name, scope: scopes.PROJECT, value: 'w', isReserved: false } }, asOwner()),
        'FORBIDDEN',
      );
      expect(await metadata(name, scopes.PROJECT)).toMatchObject({ isReserved: true, description: null, currentVersion: 1 });
    });

    it('an admin can set and clear isReserved', async () => {
      const name = uniqueName('ADMIN_RESERVE');
      await putSecret(app, { name, value: 'v', scope: scopes.PROJECT }, asOwner());
      expect(
        expectOk(await app.execute(VaultUpdate, { input: { name, scope: scopes.PROJECT, isReserved: true } }, asAdmin())).updateSecret!
          .isReserved,
      ).toBe(true);
      expect(
        expectOk(await app.execute(VaultUpdate, { input: { name, scope: scopes.PROJECT, isReserved: false } }, asAdmin())).updateSecret!
          .isReserved,
      ).toBe(false);
    });
  });

  describe('expiry', () => {
    it('expiresAt is exact: visible 1 ms before, gone at that instant from list, get and versions', async () => {
      const prefix = uniqueName('EXPIRES');
      const name = `${prefix}_X`;
      await putSecret(app, { name, value: 'short-lived', expiresAt: inFuture(60_000) });

      app.clock.advance(59_999);
      expect(await listNames(prefix)).toEqual([name]);
      expect(await reveal(name)).toMatchObject({ value: 'short-lived', isExpired: false });
      expect(await versionsOf(name)).toEqual([1]);

      app.clock.advance(1);
      expect(await listNames(prefix)).toEqual([]);
      expect(await listNames(prefix, undefined, { includeDeleted: true })).toEqual([]);
      expectError(await app.execute(VaultReveal, { name }, asAdmin()), 'NOT_FOUND');
      expectError(await app.execute(VaultMetadata, { name }, asAdmin()), 'NOT_FOUND');
      expectError(await app.execute(VaultVersions, { name }, asAdmin()), 'NOT_FOUND');
      expectError(await app.execute(VaultUpdate, { input: { name, description: 'x' } }, asAdmin()), 'NOT_FOUND');
      expectError(await app.execute(VaultRollback, { name, version: 1 }, asAdmin()), 'NOT_FOUND');
      expectError(await app.execute(VaultDelete, { name }, asAdmin()), 'NOT_FOUND');
    });

    it('an expired name can be created again', async () => {
      const name = uniqueName('EXPIRED_REUSE');
      await putSecret(app, { name, value: 'old', expiresAt: inFuture(1_000) });
      app.clock.advance(1_000);
      const fresh = await putSecret(app, { name, value: 'new', ifExists: 'FAIL', expectedVersion: 0 });
      expect(fresh!.expiresAt).toBeNull();
      expect((await reveal(name)).value).toBe('new');
    });

    it('a reserved secret never expires silently: still listed and readable, flagged isExpired', async () => {
      const name = uniqueName('RESERVED_EXPIRY');
      await putSecret(app, { name, value: 'still here', isReserved: true, expiresAt: inFuture(60_000) });
      app.clock.advance(60_000);
      expect(await reveal(name)).toMatchObject({ value: 'still here', isExpired: true });
      const [listed] = expectOk(await app.execute(VaultList, { filter: { namePrefix: name } }, asAdmin())).secrets.edges;
      expect(listed?.node).toMatchObject({ name, isExpired: true, isReserved: true });
      expect(await versionsOf(name)).toEqual([1]);
    });

    it('the sweeper purges expired secrets, keeps reserved ones and warns about them', async () => {
      const prefix = uniqueName('SWEEP');
      const expired = await putSecret(app, { name: `${prefix}_EXPIRED`, value: 'gone soon', expiresAt: inFuture(30_000) });
      const reserved = await putSecret(app, { name: `${prefix}_RESERVED`, value: 'held', expiresAt: inFuture(30_000), isReserved: true });
      const later = await putSecret(app, { name: `${prefix}_LATER`, value: 'later', expiresAt: inFuture(30_001) });
      const forever = await putSecret(app, { name: `${prefix}_FOREVER`, value: 'forever' });
      app.clock.advance(30_000);
      const logsBefore = app.logs.length;

      const result = await purgeExpiredSecrets({ db: app.db, logger: app.services.logger, now: app.clock.now() });

      expect(result.purged).toBeGreaterThanOrEqual(1);
      expect(result.heldReserved).toBeGreaterThanOrEqual(1);
      expect(await app.db.prisma.secret.count({ where: { id: expired!.id } })).toBe(0);
      expect(await app.db.prisma.secretVersion.count({ where: { secretId: expired!.id } })).toBe(0);
      for (const kept of [reserved, later, forever]) expect(await app.db.prisma.secret.count({ where: { id: kept!.id } })).toBe(1);
      expect((await reveal(reserved!.name)).value).toBe('held');
      const warnings = app.logs.slice(logsBefore).map((line) => JSON.parse(line) as { level: number; secrets?: Array<{ name: string }> });
      expect(warnings.some((line) => line.level === 40 && line.secrets?.some((secret) => secret.name === reserved!.name))).toBe(true);
      const [purge] = await auditOf(app, expired!.name);
      expect(purge).toMatchObject({ action: 'secret.purge', outcome: 'SUCCESS', actorId: null, actorVia: 'system', targetId: expired!.id });
    });
  });

  describe('reads', () => {
    it('lastUsedAt is set when a value is revealed, and only then; at most once a minute', async () => {
      const name = uniqueName('LAST_USED');
      await putSecret(app, { name, value: 'v' });
      await putSecret(app, { name, value: 'w' });
      app.clock.advance(1_000);
      expect((await metadata(name)).lastUsedAt).toBeNull();
      await versionsOf(name);
      expect((await listNames(name)).length).toBe(1);
      expect((await metadata(name)).lastUsedAt).toBeNull();

      app.clock.advance(1_000);
      const revealedAt = iso(app.clock.current);
      await reveal(name);
      app.clock.advance(1_000);
      expect((await metadata(name)).lastUsedAt).toBe(revealedAt);

      // Within a minute of the last recorded use, a reveal does not rewrite the row.
      await reveal(name, undefined, 1);
      expect((await metadata(name)).lastUsedAt).toBe(revealedAt);

      app.clock.advance(60_000);
      const minuteLaterAt = iso(app.clock.current);
      await reveal(name, undefined, 1);
      expect((await metadata(name)).lastUsedAt).toBe(minuteLaterAt);
    });

    it('a reveal that cannot be audited does not happen: no value, no last-used time', async () => {
      const name = uniqueName('UNAUDITABLE');
      await putSecret(app, { name, value: 'must stay hidden' });
      await app.db.prisma.$executeRawUnsafe(`
        CREATE OR REPLACE FUNCTION refuse_reveal_audit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.action = 'secret.reveal' THEN RAISE EXCEPTION 'audit store refuses'; END IF; RETURN NEW; END $$`);
      await app.db.prisma.$executeRawUnsafe(
        'CREATE TRIGGER refuse_reveal_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_reveal_audit()',
      );
      try {
        const answer = await app.execute(VaultReveal, { name }, asAdmin());
        expect(answer.text).not.toContain('must stay hidden');
        expect(answer.data?.secret ?? null).toBeNull();
        expect(answer.errors.length).toBeGreaterThan(0);
      } finally {
        await app.db.prisma.$executeRawUnsafe('DROP TRIGGER refuse_reveal_audit ON audit_events');
      }
      expect((await metadata(name)).lastUsedAt).toBeNull();
      expect(await reveal(name)).toMatchObject({ value: 'must stay hidden' });
    });

    it('every reveal is audited; metadata reads are not reveals', async () => {
      const name = uniqueName('AUDITED_REVEAL');
      await putSecret(app, { name, value: 'v' });
      const reveals = async () => (await auditOf(app, name)).filter((event) => event.action === 'secret.reveal');
      await metadata(name);
      await versionsOf(name);
      await listNames(name);
      expect(await reveals()).toEqual([]);
      await reveal(name);
      await reveal(name, undefined, 1);
      const audited = await reveals();
      expect(audited).toHaveLength(2);
      expect(audited.every((event) => event.outcome === 'SUCCESS' && event.actorId === app.admin.user.id)).toBe(true);
    });

    it('revealing a version that is not kept is NOT_FOUND and audited as FAILED', async () => {
      const name = uniqueName('MISSING_VERSION');
      await putSecret(app, { name, value: 'v' });
      expectError(await app.execute(VaultReveal, { name, version: 5 }, asAdmin()), 'NOT_FOUND');
      const [event] = await auditOf(app, name);
      expect(event).toMatchObject({ action: 'secret.reveal', outcome: 'FAILED' });
    });

    it('createdAt/createdById and updatedAt/updatedById record who wrote and when', async () => {
      const name = uniqueName('WHO');
      const createdAt = iso(app.clock.current);
      const created = await putSecret(app, { name, value: 'by owner', scope: scopes.PROJECT }, asOwner());
      expect(created).toMatchObject({ createdAt, updatedAt: createdAt, createdById: app.owner.user.id, updatedById: app.owner.user.id });

      app.clock.advance(1_000);
      const updatedAt = iso(app.clock.current);
      const updated = await putSecret(app, { name, value: 'by admin', scope: scopes.PROJECT });
      expect(updated).toMatchObject({ createdAt, updatedAt, createdById: app.owner.user.id, updatedById: app.admin.user.id });

      const versions = expectOk(await app.execute(VaultVersions, { name, scope: scopes.PROJECT }, asOwner())).secretVersions;
      expect(versions.map((entry) => [entry.version, entry.createdById])).toEqual([
        [2, app.admin.user.id],
        [1, app.owner.user.id],
      ]);

      app.clock.advance(1_000);
      const deleted = expectOk(await app.execute(VaultDelete, { name, scope: scopes.PROJECT }, asOwner())).deleteSecret;
      expect(deleted).toMatchObject({ updatedById: app.owner.user.id, updatedAt: iso(app.clock.current) });
    });
  });

  describe('listing', () => {
    /** `count` secrets under one prefix, each 1 ms newer than the last; returns their names oldest first. */
    async function createMany(prefix: string, count: number, scope?: Scope) {
      const names: string[] = [];
      for (let index = 0; index < count; index += 1) {
        const name = `${prefix}_${String(index).padStart(3, '0')}`;
        await putSecret(app, { name, value: `v${index}`, scope });
        names.push(name);
        app.clock.advance(1);
      }
      return names;
    }

    it('secrets are metadata only: the listing type has no value field at all', async () => {
      const metadataType = buildSchema().getType('SecretMetadata');
      expect(metadataType && 'getFields' in metadataType ? Object.keys(metadataType.getFields()) : null).not.toContain('value');
      const response = await app.request({ query: '{ secrets { edges { node { ... on Secret { value } } } } }' }, asAdmin());
      expect(errorCodes(response)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    });

    it('lists one scope, newest first', async () => {
      const prefix = uniqueName('ORDER');
      const names = await createMany(prefix, 3);
      await putSecret(app, { name: `${prefix}_ELSEWHERE`, value: 'v', scope: scopes.PROJECT });
      expect(await listNames(prefix)).toEqual([...names].reverse());
    });

    it('page size defaults to 10, allows 100, and last pages from the end', async () => {
      const prefix = uniqueName('SIZE');
      const names = (await createMany(prefix, 12)).reverse();
      const page = expectOk(await app.execute(VaultList, { filter: { namePrefix: prefix } }, asAdmin())).secrets;
      expect(page.edges.map((edge) => edge.node.name)).toEqual(names.slice(0, 10));
      expect(page.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
      expect(await listNames(prefix)).toEqual(names);
      const tail = expectOk(await app.execute(VaultList, { filter: { namePrefix: prefix }, last: 3 }, asAdmin())).secrets;
      expect(tail.edges.map((edge) => edge.node.name)).toEqual(names.slice(-3));
    });

    it('pages forwards and backwards cover every secret once, in order', async () => {
      const prefix = uniqueName('PAGES');
      const names = (await createMany(prefix, 12)).reverse();
      const forward: string[] = [];
      let after: string | null | undefined = null;
      for (;;) {
        const page: { edges: Array<{ node: { name: string } }>; pageInfo: { hasNextPage: boolean; endCursor?: string | null } } = expectOk(
          await app.execute(VaultList, { filter: { namePrefix: prefix }, first: 5, after }, asAdmin()),
        ).secrets;
        forward.push(...page.edges.map((edge) => edge.node.name));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(forward).toEqual(names);

      const backward: string[] = [];
      let before: string | null | undefined = null;
      for (;;) {
        const page: { edges: Array<{ node: { name: string } }>; pageInfo: { hasPreviousPage: boolean; startCursor?: string | null } } =
          expectOk(await app.execute(VaultList, { filter: { namePrefix: prefix }, last: 5, before }, asAdmin())).secrets;
        backward.unshift(...page.edges.map((edge) => edge.node.name));
        if (!page.pageInfo.hasPreviousPage) break;
        before = page.pageInfo.startCursor;
      }
      expect(backward).toEqual(names);
    });

    it('filters by namePrefix, isActive, isReserved, includeDeleted and expiringBefore', async () => {
      const prefix = uniqueName('FILTER');
      const soon = inFuture(3_600_000);
      await putSecret(app, { name: `${prefix}_PLAIN`, value: 'v' });
      await putSecret(app, { name: `${prefix}_INACTIVE`, value: 'v', isActive: false });
      await putSecret(app, { name: `${prefix}_RESERVED`, value: 'v', isReserved: true });
      await putSecret(app, { name: `${prefix}_SOON`, value: 'v', expiresAt: soon });
      await putSecret(app, { name: `${prefix}_LATER`, value: 'v', expiresAt: inFuture(86_400_000) });
      await putSecret(app, { name: `${prefix}_DELETED`, value: 'v' });
      expectOk(await app.execute(VaultDelete, { name: `${prefix}_DELETED` }, asAdmin()));
      const sorted = async (filter: Record<string, unknown>) =>
        (await listNames(prefix, undefined, filter)).map((name) => name.slice(prefix.length + 1)).sort();

      expect(await sorted({})).toEqual(['INACTIVE', 'LATER', 'PLAIN', 'RESERVED', 'SOON']);
      expect(await sorted({ isActive: false })).toEqual(['INACTIVE']);
      expect(await sorted({ isActive: true })).toEqual(['LATER', 'PLAIN', 'RESERVED', 'SOON']);
      expect(await sorted({ isReserved: true })).toEqual(['RESERVED']);
      expect(await sorted({ includeDeleted: true })).toEqual(['DELETED', 'INACTIVE', 'LATER', 'PLAIN', 'RESERVED', 'SOON']);
      expect(await sorted({ expiringBefore: inFuture(7_200_000) })).toEqual(['SOON']);
      expect(await listNames(`${prefix}_S`)).toEqual([`${prefix}_SOON`]);
    });
  });

  describe('audit trail', () => {
    it('records actor, action, target, outcome, request id, client address and time', async () => {
      const { server, close } = createHttpServer(app.yoga);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const name = uniqueName('AUDITED');
      const requestId = `semantics-${name}`;
      const startedAt = Date.now();
      try {
        const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': app.owner.key, 'x-request-id': requestId },
          body: JSON.stringify({
            query: 'mutation($input: UpsertSecretInput!) { upsertSecret(input: $input) { id } }',
            variables: { input: { name, value: 'audited value', scope: scopes.PROJECT } },
          }),
        });
        expect(response.headers.get('x-request-id')).toBe(requestId);
        const body = (await response.json()) as { data: { upsertSecret: { id: string } } };
        const events = expectOk(await app.execute(VaultAuditEvents, { filter: { targetName: name } }, asAdmin())).auditEvents.edges.map(
          (edge) => edge.node,
        );
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({
          action: 'secret.create',
          actorId: app.owner.user.id,
          actorVia: `api-key:${app.owner.apiKey.id}`,
          targetType: 'secret',
          targetId: body.data.upsertSecret.id,
          targetName: name,
          scope: 'PROJECT',
          scopeOwnerId: app.project.id,
          outcome: 'SUCCESS',
          requestId,
        });
        expect(events[0]?.clientAddress).toMatch(/127\.0\.0\.1/);
        const at = Date.parse(events[0]?.at ?? '');
        expect(at).toBeGreaterThanOrEqual(startedAt - 1_000);
        expect(at).toBeLessThanOrEqual(Date.now() + 1_000);
      } finally {
        await close();
      }
    });

    it('a denied attempt is recorded with outcome DENIED, the caller and the request id', async () => {
      const name = uniqueName('PROBED');
      await putSecret(app, { name, value: 'not for strangers', scope: scopes.PROJECT }, asOwner());
      const requestId = `probe-${name}`;
      expectError(
        await app.execute(
          VaultReveal,
          { name, scope: scopes.PROJECT },
          { credential: app.stranger.key, headers: { 'x-request-id': requestId } },
        ),
        'NOT_FOUND',
      );
      const events = expectOk(
        await app.execute(VaultAuditEvents, { filter: { targetName: name, outcome: 'DENIED' } }, asAdmin()),
      ).auditEvents.edges.map((edge) => edge.node);
      expect(events).toEqual([
        expect.objectContaining({
          actorId: app.stranger.user.id,
          outcome: 'DENIED',
          targetName: name,
          scope: 'PROJECT',
          scopeOwnerId: app.project.id,
          requestId,
        }),
      ]);
    });

    // Each of these answers FORBIDDEN about a named secret; the issue asks that denied attempts be recorded.
    // KNOWN SRC BUG: all three fail today. Only canUseSecretScope (secrets.rules.ts) audits denials;
    // isAdmin on destroySecret (permissions.ts:36), ensureReservedByAdmin (secrets.service.ts:61) and
    // the reserved check in deleteSecret (secrets.service.ts:188) refuse without a record.
    const forbiddenAttempts = [
      {
        what: 'a developer destroying a secret of their own project',
        run: (name: string) => app.execute(VaultDestroy, { name, scope: scopes.PROJECT }, asOwner()),
        setup: async (name: string) => putSecret(app, { name, value: 'v', scope: scopes.PROJECT }, asOwner()),
      },
      {
        what: 'a developer setting isReserved',
        run: (name: string) => app.execute(VaultUpdate, { input: { name, scope: scopes.PROJECT, isReserved: true } }, asOwner()),
        setup: async (name: string) => putSecret(app, { name, value: 'v', scope: scopes.PROJECT }, asOwner()),
      },
      {
        what: 'deleting a reserved secret',
        run: (name: string) => app.execute(VaultDelete, { name, scope: scopes.PROJECT }, asOwner()),
        setup: async (name: string) => putSecret(app, { name, value: 'v', scope: scopes.PROJECT, isReserved: true }),
      },
    ];
    for (const attempt of forbiddenAttempts) {
      it(`a FORBIDDEN answer is audited as DENIED: ${attempt.what}`, async () => {
        const name = uniqueName('DENIED');
        await attempt.setup(name);
        expectError(await attempt.run(name), 'FORBIDDEN');
        const denied = (await auditOf(app, name)).filter((event) => event.outcome === 'DENIED');
        expect(denied).toEqual([expect.objectContaining({ actorId: app.owner.user.id, targetName: name })]);
      });
    }

    it('auditEvents is newest first, filters by action and outcome, and pages with first/after', async () => {
      const name = uniqueName('TRAIL');
      // Audit times have millisecond precision: keep the four events in distinct milliseconds.
      const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
      await putSecret(app, { name, value: 'a' });
      await tick();
      await putSecret(app, { name, value: 'b' });
      await tick();
      await reveal(name);
      await tick();
      expectOk(await app.execute(VaultDelete, { name }, asAdmin()));
      const all = expectOk(await app.execute(VaultAuditEvents, { filter: { targetName: name } }, asAdmin())).auditEvents.edges.map(
        (edge) => edge.node,
      );
      expect(all.map((event) => event.action)).toEqual(['secret.delete', 'secret.reveal', 'secret.replace', 'secret.create']);
      const reveals = expectOk(
        await app.execute(VaultAuditEvents, { filter: { targetName: name, action: 'secret.reveal', outcome: 'SUCCESS' } }, asAdmin()),
      ).auditEvents;
      expect(reveals.edges).toHaveLength(1);

      const first = expectOk(await app.execute(VaultAuditEvents, { filter: { targetName: name }, first: 3 }, asAdmin())).auditEvents;
      expect(first.pageInfo.hasNextPage).toBe(true);
      const rest = expectOk(
        await app.execute(VaultAuditEvents, { filter: { targetName: name }, first: 3, after: first.pageInfo.endCursor }, asAdmin()),
      ).auditEvents;
      expect([...first.edges, ...rest.edges].map((edge) => edge.node.id)).toEqual(all.map((event) => event.id));
    });
  });
});

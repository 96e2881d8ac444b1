import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../src/generated/graphql/index.js';
import { buildSchema } from '../../src/schema.js';
import { createTestApp, errorCodes, type CallOptions, type TestApp } from '../support/app.js';

import { expectOk } from '../support/assertions.js';
import {
  putSecret,
  scopesOf,
  uniqueName,
  VaultAuditEvents,
  VaultDelete,
  VaultDestroy,
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

const VaultMasterKeys = graphql(`query VaultMasterKeys { masterKeys { id state } }`);
const VaultPurgeMasterKeys = graphql(`mutation VaultPurgeMasterKeys { purgeRetiredMasterKeys { purgedKeyIds } }`);
const VaultRotateRootKey = graphql(`mutation VaultRotateRootKey { rotateRootKey { rootKeyId } }`);

/**
 * Who may use which secrets: every secrets operation, in every scope, for every kind of caller.
 * ACCOUNT is for admins; PROJECT for the project's owner and admins; USER for that user and admins.
 * Someone else's project or user is NOT_FOUND to a non-admin, as if it did not exist.
 */
type Caller = 'anonymous' | 'stranger' | 'owner' | 'admin';
type Outcome = 'ok' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND';
type ScopeName = 'ACCOUNT' | 'PROJECT' | 'USER';
type Result = { status: number; text: string; json: { errors?: Array<{ extensions?: Record<string, unknown> }> } };

const CALLERS: Caller[] = ['anonymous', 'stranger', 'owner', 'admin'];
const adminOnly: Record<Caller, Outcome> = { anonymous: 'UNAUTHENTICATED', stranger: 'FORBIDDEN', owner: 'FORBIDDEN', admin: 'ok' };
const ownerOrAdmin: Record<Caller, Outcome> = { anonymous: 'UNAUTHENTICATED', stranger: 'NOT_FOUND', owner: 'ok', admin: 'ok' };

/** What each scope allows, for every operation but destroySecret (admins only everywhere). */
const byScope: Record<ScopeName, Record<Caller, Outcome>> = { ACCOUNT: adminOnly, PROJECT: ownerOrAdmin, USER: ownerOrAdmin };

interface Operation {
  name: string;
  adminOnly?: boolean;
  /** Restore needs a deleted secret; every other operation a live one with two versions. */
  needsDeleted?: boolean;
  run: (app: TestApp, target: { name: string; scope: Scope }, options: CallOptions) => Promise<Result>;
}

const operations: Operation[] = [
  { name: 'secrets', run: (app, { scope }, options) => app.execute(VaultList, { scope, first: 5 }, options) },
  { name: 'secret', run: (app, target, options) => app.execute(VaultReveal, target, options) },
  { name: 'secretVersions', run: (app, target, options) => app.execute(VaultVersions, target, options) },
  { name: 'upsertSecret', run: (app, target, options) => app.execute(VaultUpsert, { input: { ...target, value: 'new value' } }, options) },
  {
    name: 'updateSecret',
    run: (app, target, options) =>
      app.execute(VaultUpdate, { input: { ...target, description: 'changed', value: 'changed value' } }, options),
  },
  { name: 'deleteSecret', run: (app, target, options) => app.execute(VaultDelete, target, options) },
  { name: 'restoreSecret', needsDeleted: true, run: (app, target, options) => app.execute(VaultRestore, target, options) },
  { name: 'rollbackSecret', run: (app, target, options) => app.execute(VaultRollback, { ...target, version: 1 }, options) },
  {
    name: 'upsertSecrets',
    run: (app, { name, scope }, options) =>
      app.request(
        {
          query:
            'mutation($scope: SecretScopeInput!, $secrets: [UpsertSecretsItemInput!]!) { upsertSecrets(scope: $scope, secrets: $secrets) { name } }',
          variables: { scope, secrets: [{ name, value: 'new value' }] },
        },
        options,
      ),
  },
  { name: 'destroySecret', adminOnly: true, run: (app, target, options) => app.execute(VaultDestroy, target, options) },
  {
    name: 'secretValues',
    run: (app, { name, scope }, options) =>
      app.request(
        {
          query: 'query($scope: SecretScopeInput!, $names: [String!]) { secretValues(scope: $scope, names: $names) { value } }',
          variables: { scope, names: [name] },
        },
        options,
      ),
  },
];

/** Operations on two environments of one project (PROJECT scope only): its owner and admins. */
const environmentOperations: Array<{ name: string; run: (app: TestApp, projectId: string, options: CallOptions) => Promise<Result> }> = [
  {
    name: 'copySecrets',
    run: (app, projectId, options) =>
      app.request(
        {
          query: 'mutation($p: ID!) { copySecrets(projectId: $p, from: "production", to: "staging", overwrite: true) { name } }',
          variables: { p: projectId },
        },
        options,
      ),
  },
  {
    name: 'compareEnvironments',
    run: (app, projectId, options) =>
      app.request(
        {
          query: 'query($p: ID!) { compareEnvironments(projectId: $p, a: "production", b: "staging") { entries { name } } }',
          variables: { p: projectId },
        },
        options,
      ),
  },
];

describe('secrets authorization', () => {
  let app: TestApp;
  const credentialOf = (caller: Caller): string | null =>
    caller === 'anonymous' ? null : caller === 'stranger' ? app.stranger.key : caller === 'owner' ? app.owner.key : app.admin.key;

  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  /** A secret with two versions, written by an admin so every caller's attempt starts equal. */
  async function target(scope: Scope, { deleted = false } = {}) {
    const name = uniqueName('AUTHZ');
    await putSecret(app, { name, value: 'first value', scope });
    await putSecret(app, { name, value: 'second value', scope });
    if (deleted) expectOk(await app.execute(VaultDelete, { name, scope }, { credential: app.admin.key }));
    return { name, scope };
  }

  /** The stored row, to prove a refused call changed nothing. */
  const stateOf = async (name: string) => {
    const row = await app.db.prisma.secret.findFirst({
      where: { name },
      select: { currentVersion: true, deletedAt: true, description: true },
    });
    return row;
  };

  describe('matrix: operation × scope × caller', () => {
    for (const operation of operations) {
      for (const scopeName of ['ACCOUNT', 'PROJECT', 'USER'] as const) {
        for (const caller of CALLERS) {
          const expected = operation.adminOnly ? adminOnly[caller] : byScope[scopeName][caller];
          it(`${operation.name} in ${scopeName} scope as ${caller}: ${expected}`, async () => {
            const secret = await target(scopesOf(app)[scopeName], { deleted: operation.needsDeleted ?? false });
            const before = await stateOf(secret.name);
            const response = await operation.run(app, secret, { credential: credentialOf(caller) });
            expect(response.status).toBeLessThan(500);
            if (expected === 'ok') {
              expect(response.json.errors ?? [], response.text).toEqual([]);
              return;
            }
            expect(errorCodes(response), response.text).toEqual([expected]);
            expect(response.text).not.toMatch(/first value|second value/);
            expect(await stateOf(secret.name)).toEqual(before);
          });
        }
      }
    }

    const adminOnlyOperations = [
      { name: 'auditEvents', run: (options: CallOptions) => app.execute(VaultAuditEvents, { first: 5 }, options) },
      { name: 'rotateMasterKey', run: (options: CallOptions) => app.execute(VaultRotate, {}, options) },
      { name: 'masterKeys', run: (options: CallOptions) => app.execute(VaultMasterKeys, {}, options) },
      { name: 'purgeRetiredMasterKeys', run: (options: CallOptions) => app.execute(VaultPurgeMasterKeys, {}, options) },
      { name: 'rotateRootKey', run: (options: CallOptions) => app.execute(VaultRotateRootKey, {}, options) },
    ];
    for (const operation of adminOnlyOperations) {
      for (const caller of CALLERS) {
        it(`${operation.name} as ${caller}: ${adminOnly[caller]}`, async () => {
          const response = await operation.run({ credential: credentialOf(caller) });
          expect(response.status).toBeLessThan(500);
          if (adminOnly[caller] === 'ok') expect(response.json.errors ?? [], response.text).toEqual([]);
          else expect(errorCodes(response), response.text).toEqual([adminOnly[caller]]);
        });
      }
    }

    for (const operation of environmentOperations) {
      for (const caller of CALLERS) {
        it(`${operation.name} as ${caller}: ${ownerOrAdmin[caller]}`, async () => {
          const { projectId } = (await target(scopesOf(app).PROJECT)).scope;
          const before = await app.db.prisma.secretVersion.count();
          const response = await operation.run(app, String(projectId), { credential: credentialOf(caller) });
          expect(response.status).toBeLessThan(500);
          if (ownerOrAdmin[caller] === 'ok') expect(response.json.errors ?? [], response.text).toEqual([]);
          else {
            expect(errorCodes(response), response.text).toEqual([ownerOrAdmin[caller]]);
            expect(await app.db.prisma.secretVersion.count()).toBe(before);
          }
          expect(response.text).not.toMatch(/first value|second value/);
        });
      }
    }

    it('covers every secrets operation of the schema', () => {
      const schema = buildSchema();
      const fields = [schema.getQueryType(), schema.getMutationType()].flatMap((type) => Object.keys(type?.getFields() ?? {}));
      const vault = fields.filter((field) => /secret|audit|masterkey|rootkey/i.test(field));
      const covered = [
        ...operations.map((operation) => operation.name),
        ...adminOnlyOperations.map((operation) => operation.name),
        ...environmentOperations.map((operation) => operation.name),
      ];
      expect(vault.filter((field) => !covered.includes(field))).toEqual([]);
    });
  });

  describe('a project that does not exist', () => {
    for (const operation of operations) {
      for (const caller of CALLERS) {
        // Non-admins are refused destroySecret whatever the project; everyone else learns it is not there.
        const expected: Outcome =
          caller === 'anonymous' ? 'UNAUTHENTICATED' : operation.adminOnly && caller !== 'admin' ? 'FORBIDDEN' : 'NOT_FOUND';
        it(`${operation.name} as ${caller}: ${expected}`, async () => {
          const scope: Scope = { type: 'PROJECT', projectId: randomUUID() };
          const before = await app.db.prisma.secret.count({ where: { ownerId: String(scope.projectId) } });
          // KNOWN SRC BUG (admin rows of `secrets` and `upsertSecret`): canUseSecretScope
          // (src/features/secrets/secrets.rules.ts:34) returns true for admins before the project lookup,
          // so an admin lists an unknown project as empty and upsertSecret creates an orphan secret in it.
          const response = await operation.run(app, { name: uniqueName('NO_PROJECT'), scope }, { credential: credentialOf(caller) });
          expect(response.status).toBeLessThan(500);
          expect(errorCodes(response), response.text).toEqual([expected]);
          expect(await app.db.prisma.secret.count({ where: { ownerId: String(scope.projectId) } })).toBe(before);
        });
      }
    }
  });

  describe("one user reaching for another user's secrets", () => {
    const victimValue = `victim-${randomUUID()}-value`;
    const victimOldValue = `victim-${randomUUID()}-old-value`;
    let victimUser: Scope;
    let victimProject: Scope;
    let names: { live: string; deleted: string; project: string };

    beforeAll(async () => {
      victimUser = { type: 'USER', userId: app.owner.user.id };
      victimProject = { type: 'PROJECT', projectId: app.project.id };
      names = { live: uniqueName('VICTIM'), deleted: uniqueName('VICTIM_DELETED'), project: uniqueName('VICTIM_PROJECT') };
      const asVictim = { credential: app.owner.key };
      await putSecret(
        app,
        { name: names.live, value: victimOldValue, scope: { type: 'USER' }, description: 'victim description' },
        asVictim,
      );
      await putSecret(app, { name: names.live, value: victimValue, scope: { type: 'USER' } }, asVictim);
      await putSecret(app, { name: names.deleted, value: victimValue, scope: { type: 'USER' } }, asVictim);
      expectOk(await app.execute(VaultDelete, { name: names.deleted, scope: { type: 'USER' } }, asVictim));
      await putSecret(app, { name: names.project, value: victimValue, scope: victimProject }, asVictim);
    });

    /** Every way in, each with its own request id so its audit record can be found. */
    const probes = (): Array<{ what: string; run: (options: CallOptions) => Promise<Result> }> => {
      const upperCaseVictim: Scope = { type: 'USER', userId: app.owner.user.id.toUpperCase() };
      return [
        { what: 'secret (value)', run: (options) => app.execute(VaultReveal, { name: names.live, scope: victimUser }, options) },
        {
          what: 'secret (old version)',
          run: (options) => app.execute(VaultReveal, { name: names.live, scope: victimUser, version: 1 }, options),
        },
        { what: 'secret (metadata)', run: (options) => app.execute(VaultMetadata, { name: names.live, scope: victimUser }, options) },
        {
          what: 'secret (user id in upper case)',
          run: (options) => app.execute(VaultReveal, { name: names.live, scope: upperCaseVictim }, options),
        },
        { what: 'secret (project)', run: (options) => app.execute(VaultReveal, { name: names.project, scope: victimProject }, options) },
        { what: 'secrets', run: (options) => app.execute(VaultList, { scope: victimUser, first: 100 }, options) },
        { what: 'secrets (project)', run: (options) => app.execute(VaultList, { scope: victimProject, first: 100 }, options) },
        { what: 'secretVersions', run: (options) => app.execute(VaultVersions, { name: names.live, scope: victimUser }, options) },
        {
          what: 'secretVersions (deleted)',
          run: (options) => app.execute(VaultVersions, { name: names.deleted, scope: victimUser }, options),
        },
        {
          what: 'rollbackSecret',
          run: (options) => app.execute(VaultRollback, { name: names.live, scope: victimUser, version: 1 }, options),
        },
        {
          what: 'updateSecret',
          run: (options) =>
            app.execute(
              VaultUpdate,
              { input: { name: names.live, scope: victimUser, value: 'hijacked', description: 'hijacked' } },
              options,
            ),
        },
        { what: 'deleteSecret', run: (options) => app.execute(VaultDelete, { name: names.live, scope: victimUser }, options) },
        { what: 'restoreSecret', run: (options) => app.execute(VaultRestore, { name: names.deleted, scope: victimUser }, options) },
        { what: 'destroySecret', run: (options) => app.execute(VaultDestroy, { name: names.live, scope: victimUser }, options) },
        {
          what: 'upsertSecret (replace)',
          run: (options) => app.execute(VaultUpsert, { input: { name: names.live, scope: victimUser, value: 'hijacked' } }, options),
        },
        {
          what: 'upsertSecret (ifExists FAIL)',
          run: (options) =>
            app.execute(VaultUpsert, { input: { name: names.live, scope: victimUser, value: 'probe', ifExists: 'FAIL' } }, options),
        },
        {
          what: 'upsertSecret (project)',
          run: (options) => app.execute(VaultUpsert, { input: { name: names.project, scope: victimProject, value: 'hijacked' } }, options),
        },
      ];
    };

    it('every field refuses (NOT_FOUND; destroySecret FORBIDDEN), reveals nothing, changes nothing, and leaves a DENIED audit record', async () => {
      const stored = await app.db.prisma.secret.findMany({ where: { name: { in: Object.values(names) } }, orderBy: { name: 'asc' } });
      for (const probe of probes()) {
        const requestId = `probe-${randomUUID()}`;
        const response = await probe.run({ credential: app.stranger.key, headers: { 'x-request-id': requestId } });
        // Another user's scope is answered as if that user or project did not exist; destroySecret is
        // refused before any scope is looked at (admins only), whatever it names.
        const expected = probe.what === 'destroySecret' ? 'FORBIDDEN' : 'NOT_FOUND';
        expect(errorCodes(response), `${probe.what}: ${response.text}`).toEqual([expected]);
        expect(response.status).toBeLessThan(500);
        // Nothing answered: no data at all, or (a mutation's result is nullable) null for the field.
        const data = (response.json as { data?: Record<string, unknown> | null }).data ?? {};
        expect(
          Object.values(data).filter((value) => value !== null),
          probe.what,
        ).toEqual([]);
        for (const secret of stored) expect(response.text, probe.what).not.toContain(secret.id);
        expect(response.text, probe.what).not.toContain(victimValue);
        expect(response.text, probe.what).not.toContain(victimOldValue);
        expect(response.text, probe.what).not.toContain('victim description');

        const audited = await app.db.prisma.auditEvent.findMany({ where: { requestId } });
        expect(audited, probe.what).toEqual([expect.objectContaining({ outcome: 'DENIED', actorId: app.stranger.user.id })]);
      }
      expect(await app.db.prisma.secret.findMany({ where: { name: { in: Object.values(names) } }, orderBy: { name: 'asc' } })).toEqual(
        stored,
      );
      const reveal = expectOk(
        await app.execute(VaultReveal, { name: names.live, scope: victimUser }, { credential: app.owner.key }),
      ).secret;
      expect(reveal).toMatchObject({ value: victimValue, currentVersion: 2 });
    });

    it('ifExists: FAIL is no existence oracle: a taken and a free name get the same answer', async () => {
      const attempt = (name: string) =>
        app.execute(
          VaultUpsert,
          { input: { name, scope: victimUser, value: 'probe', ifExists: 'FAIL' } },
          { credential: app.stranger.key },
        );
      const taken = await attempt(names.live);
      const free = await attempt(uniqueName('NEVER_THERE'));
      expect(errorCodes(taken)).toEqual(['NOT_FOUND']);
      expect(taken.errors).toEqual(free.errors);
      expect(taken.status).toBe(free.status);
    });

    it('reads of a name that exists and one that does not look the same to another user', async () => {
      const read = (name: string) => app.execute(VaultMetadata, { name, scope: victimUser }, { credential: app.stranger.key });
      const existing = await read(names.live);
      const missing = await read(uniqueName('NEVER_THERE'));
      expect(existing.errors).toEqual(missing.errors);
    });

    it('the audit trail shows the attempts to an admin, with the target named', async () => {
      for (const probe of probes()) await probe.run({ credential: app.stranger.key });
      const events = expectOk(
        await app.execute(
          VaultAuditEvents,
          { filter: { actorId: app.stranger.user.id, outcome: 'DENIED', targetName: names.live }, first: 100 },
          { credential: app.admin.key },
        ),
      ).auditEvents.edges.map((edge) => edge.node);
      expect(new Set(events.map((event) => event.action))).toEqual(
        new Set([
          'secret.secret',
          'secret.secretVersions',
          'secret.rollbackSecret',
          'secret.updateSecret',
          'secret.deleteSecret',
          'secret.destroySecret',
          'secret.upsertSecret',
        ]),
      );
      for (const event of events) expect(event).toMatchObject({ scope: 'USER', scopeOwnerId: app.owner.user.id, targetType: 'secret' });
    });
  });
});

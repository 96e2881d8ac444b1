import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorCodes, type TestApp } from '../support/app.js';
import { fieldsOf } from '../support/assertions.js';
import {
  putSecret,
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
 * Bad input to the vault: each case is a BAD_USER_INPUT naming the offending field, never a
 * 500, and the database is exactly as it was (no row in secrets or secret_versions more or less).
 */
type Result = { status: number; text: string; json: { errors?: Array<{ message: string; extensions?: Record<string, unknown> }> } };

interface Case {
  what: string;
  /**
   * The `extensions.fields[].field` expected; a pattern where more than one name is fair; null
   * where a separate test checks it (invalid dates: one known bug, one failing test).
   */
  field: string | RegExp | null;
  run: (app: TestApp, existing: string) => Promise<Result>;
}

const cursor = (text: string) => Buffer.from(text).toString('base64url');
const TOO_BIG_ASCII = 'x'.repeat(64 * 1024 + 1);
const TOO_BIG_UTF8 = `${'é'.repeat(32 * 1024)}a`; // 65,537 bytes in 32,769 characters
const BAD_NAMES = {
  lowercase: 'lowercase',
  dash: 'DASH-NAME',
  empty: '',
  '256 characters': 'A'.repeat(256),
  space: 'WITH SPACE',
  'non-ASCII letter': 'ÄPFEL',
};
const BAD_DATES = ['tomorrow', '2026-13-45T00:00:00Z', '2026-11-23', '', '2026-02-30T25:61:00Z'];

const asAdmin = (app: TestApp) => ({ credential: app.admin.key });

/** Every place a DateTime goes in, with the path of its field. */
const invalidDateCalls = (date: string): Array<{ what: string; field: string; run: Case['run'] }> => [
  {
    what: `upsertSecret with expiresAt "${date}"`,
    field: 'input.expiresAt',
    run: (app) => app.execute(VaultUpsert, { input: { name: uniqueName('DATE'), value: 'v', expiresAt: date } }, asAdmin(app)),
  },
  {
    what: `updateSecret with expiresAt "${date}"`,
    field: 'input.expiresAt',
    run: (app, existing) => app.execute(VaultUpdate, { input: { name: existing, expiresAt: date } }, asAdmin(app)),
  },
  {
    what: `secrets with expiringBefore "${date}"`,
    field: 'filter.expiringBefore',
    run: (app) => app.execute(VaultList, { filter: { expiringBefore: date } }, asAdmin(app)),
  },
];

const cases: Case[] = [
  // Names, through every operation that takes one.
  ...Object.entries(BAD_NAMES).flatMap(([label, name]): Case[] => [
    {
      what: `upsertSecret with a ${label} name`,
      field: 'input.name',
      run: (app) => app.execute(VaultUpsert, { input: { name, value: 'v' } }, asAdmin(app)),
    },
    {
      what: `updateSecret with a ${label} name`,
      field: 'input.name',
      run: (app) => app.execute(VaultUpdate, { input: { name, value: 'v' } }, asAdmin(app)),
    },
    { what: `secret with a ${label} name`, field: 'name', run: (app) => app.execute(VaultReveal, { name }, asAdmin(app)) },
    { what: `secretVersions with a ${label} name`, field: 'name', run: (app) => app.execute(VaultVersions, { name }, asAdmin(app)) },
    { what: `deleteSecret with a ${label} name`, field: 'name', run: (app) => app.execute(VaultDelete, { name }, asAdmin(app)) },
    { what: `restoreSecret with a ${label} name`, field: 'name', run: (app) => app.execute(VaultRestore, { name }, asAdmin(app)) },
    {
      what: `rollbackSecret with a ${label} name`,
      field: 'name',
      run: (app) => app.execute(VaultRollback, { name, version: 1 }, asAdmin(app)),
    },
    { what: `destroySecret with a ${label} name`, field: 'name', run: (app) => app.execute(VaultDestroy, { name }, asAdmin(app)) },
  ]),
  {
    what: 'a bad name from a project owner in their own project',
    field: 'input.name',
    run: (app) =>
      app.execute(
        VaultUpsert,
        { input: { name: 'bad-name', value: 'v', scope: { type: 'PROJECT', projectId: app.project.id } } },
        { credential: app.owner.key },
      ),
  },

  // Values.
  {
    what: 'upsertSecret with an empty value',
    field: 'input.value',
    run: (app) => app.execute(VaultUpsert, { input: { name: uniqueName('EMPTY'), value: '' } }, asAdmin(app)),
  },
  {
    what: 'upsertSecret with 64 KiB + 1 byte',
    field: 'input.value',
    run: (app) => app.execute(VaultUpsert, { input: { name: uniqueName('BIG'), value: TOO_BIG_ASCII } }, asAdmin(app)),
  },
  {
    what: 'upsertSecret with 64 KiB + 1 byte in fewer characters (multi-byte UTF-8)',
    field: 'input.value',
    run: (app) => app.execute(VaultUpsert, { input: { name: uniqueName('BIG_UTF8'), value: TOO_BIG_UTF8 } }, asAdmin(app)),
  },
  {
    what: 'replacing a secret with an empty value',
    field: 'input.value',
    run: (app, existing) => app.execute(VaultUpsert, { input: { name: existing, value: '' } }, asAdmin(app)),
  },
  {
    what: 'updateSecret with an empty value',
    field: 'input.value',
    run: (app, existing) => app.execute(VaultUpdate, { input: { name: existing, value: '' } }, asAdmin(app)),
  },
  {
    what: 'updateSecret with 64 KiB + 1 byte',
    field: 'input.value',
    run: (app, existing) => app.execute(VaultUpdate, { input: { name: existing, value: TOO_BIG_ASCII } }, asAdmin(app)),
  },

  // Dates that are not dates: whether the field is named is checked once, below.
  ...BAD_DATES.flatMap((date): Case[] => invalidDateCalls(date).map(({ what, run }) => ({ what, field: null, run }))),
  {
    what: 'upsertSecret with expiresAt in the past',
    field: 'input.expiresAt',
    run: (app) =>
      app.execute(
        VaultUpsert,
        { input: { name: uniqueName('PAST'), value: 'v', expiresAt: new Date(app.clock.current.getTime() - 1_000).toISOString() } },
        asAdmin(app),
      ),
  },
  {
    what: 'upsertSecret with expiresAt exactly now',
    field: 'input.expiresAt',
    run: (app) =>
      app.execute(
        VaultUpsert,
        { input: { name: uniqueName('NOW'), value: 'v', expiresAt: app.clock.current.toISOString() } },
        asAdmin(app),
      ),
  },
  {
    what: 'replacing a secret with expiresAt in the past',
    field: 'input.expiresAt',
    run: (app, existing) =>
      app.execute(VaultUpsert, { input: { name: existing, value: 'v2', expiresAt: '2000-01-01T00:00:00Z' } }, asAdmin(app)),
  },
  {
    what: 'updateSecret with expiresAt in the past',
    field: 'input.expiresAt',
    run: (app, existing) =>
      app.execute(VaultUpdate, { input: { name: existing, value: 'v2', expiresAt: '2000-01-01T00:00:00Z' } }, asAdmin(app)),
  },

  // Pages and cursors.
  ...[0, 101, -1].flatMap((size): Case[] => [
    { what: `secrets with first: ${size}`, field: 'first', run: (app) => app.execute(VaultList, { first: size }, asAdmin(app)) },
    { what: `secrets with last: ${size}`, field: 'last', run: (app) => app.execute(VaultList, { last: size }, asAdmin(app)) },
  ]),
  { what: 'auditEvents with first: 101', field: 'first', run: (app) => app.execute(VaultAuditEvents, { first: 101 }, asAdmin(app)) },
  {
    what: 'secrets with after and before together',
    field: 'before',
    run: (app) => {
      const real = cursor(`k1:2026-11-23T10:00:00.000Z:${randomUUID()}`);
      return app.execute(VaultList, { after: real, before: real }, asAdmin(app));
    },
  },
  ...Object.entries({
    'plain text': 'Zm9yZ2Vk',
    'not base64 at all': '!!! not a cursor !!!',
    'an impossible date': cursor(`k1:2026-99-99T99:99:99Z:${randomUUID()}`),
    'another version tag': cursor(`k2:2026-11-23T10:00:00.000Z:${randomUUID()}`),
    'an id that is no UUID': cursor('k1:2026-11-23T10:00:00.000Z:not-a-uuid-at-all-but-36-characters'),
    'SQL in the id': cursor("k1:2026-11-23T10:00:00.000Z:' OR 1=1; DROP TABLE secrets; --"),
  }).flatMap(([label, forged]): Case[] => [
    {
      what: `secrets with a forged after cursor (${label})`,
      field: 'after',
      run: (app) => app.execute(VaultList, { after: forged }, asAdmin(app)),
    },
    {
      what: `secrets with a forged before cursor (${label})`,
      field: 'before',
      run: (app) => app.execute(VaultList, { before: forged, last: 5 }, asAdmin(app)),
    },
    {
      what: `auditEvents with a forged after cursor (${label})`,
      field: 'after',
      run: (app) => app.execute(VaultAuditEvents, { after: forged }, asAdmin(app)),
    },
  ]),

  // Scopes.
  ...(
    [
      ['PROJECT without projectId', { type: 'PROJECT' }, 'projectId'],
      ['PROJECT with a projectId that is no id', { type: 'PROJECT', projectId: 'my-project' }, 'projectId'],
      ['USER with a projectId', { type: 'USER', projectId: randomUUID() }, 'projectId'],
      ['USER with a userId that is no id', { type: 'USER', userId: 'bob' }, 'userId'],
    ] as Array<[string, Scope, string]>
  ).flatMap(([label, scope, field]): Case[] => [
    {
      what: `upsertSecret in ${label}`,
      field: `input.scope.${field}`,
      run: (app) => app.execute(VaultUpsert, { input: { name: uniqueName('SCOPE'), value: 'v', scope } }, asAdmin(app)),
    },
    { what: `secret in ${label}`, field: `scope.${field}`, run: (app) => app.execute(VaultReveal, { name: 'ANY', scope }, asAdmin(app)) },
    {
      what: `secrets in ${label}`,
      field: `scope.${field}`,
      run: (app) => app.execute(VaultList, { scope }, { credential: app.owner.key }),
    },
  ]),
  // ACCOUNT has no owner: the offending field may fairly be reported as the type or the id given.
  ...(
    [
      ['ACCOUNT with a userId', { type: 'ACCOUNT', userId: randomUUID() }, /^scope\.(type|userId)$/],
      ['ACCOUNT with a projectId', { type: 'ACCOUNT', projectId: randomUUID() }, /^scope\.(type|projectId)$/],
      ['an omitted type (ACCOUNT) with a userId', { userId: randomUUID() }, /^scope\.(type|userId)$/],
    ] as Array<[string, Scope, RegExp]>
  ).flatMap(([label, scope, field]): Case[] => [
    {
      what: `upsertSecret in ${label}`,
      field: new RegExp(`^input\\.${field.source.slice(1)}`),
      run: (app) => app.execute(VaultUpsert, { input: { name: uniqueName('SCOPE'), value: 'v', scope } }, asAdmin(app)),
    },
    { what: `deleteSecret in ${label}`, field, run: (app, existing) => app.execute(VaultDelete, { name: existing, scope }, asAdmin(app)) },
    { what: `secrets in ${label}`, field, run: (app) => app.execute(VaultList, { scope }, asAdmin(app)) },
  ]),

  // Everything else a client can get wrong.
  {
    what: 'secret with version 0',
    field: 'version',
    run: (app, existing) => app.execute(VaultReveal, { name: existing, version: 0 }, asAdmin(app)),
  },
  {
    what: 'rollbackSecret to version 0',
    field: 'version',
    run: (app, existing) => app.execute(VaultRollback, { name: existing, version: 0 }, asAdmin(app)),
  },
  {
    what: 'upsertSecret with expectedVersion -1',
    field: 'input.expectedVersion',
    run: (app, existing) => app.execute(VaultUpsert, { input: { name: existing, value: 'v2', expectedVersion: -1 } }, asAdmin(app)),
  },
  {
    what: 'updateSecret with expectedVersion -1',
    field: 'input.expectedVersion',
    run: (app, existing) => app.execute(VaultUpdate, { input: { name: existing, value: 'v2', expectedVersion: -1 } }, asAdmin(app)),
  },
  {
    what: 'upsertSecret with a 1001-character description',
    field: 'input.description',
    run: (app) =>
      app.execute(VaultUpsert, { input: { name: uniqueName('DESC'), value: 'v', description: 'd'.repeat(1001) } }, asAdmin(app)),
  },
  {
    what: 'updateSecret with a 1001-character description',
    field: 'input.description',
    run: (app, existing) => app.execute(VaultUpdate, { input: { name: existing, description: 'd'.repeat(1001) } }, asAdmin(app)),
  },
  {
    what: 'secrets with a lowercase namePrefix',
    field: 'filter.namePrefix',
    run: (app) => app.execute(VaultList, { filter: { namePrefix: 'abc' } }, asAdmin(app)),
  },
];

describe('bad input to the vault: BAD_USER_INPUT naming the field, and nothing changes', () => {
  let app: TestApp;
  /** A live secret, for the cases that would otherwise change one. */
  let existing: string;

  beforeAll(async () => {
    app = await createTestApp();
    existing = uniqueName('EXISTING');
    await putSecret(app, { name: existing, value: 'original', description: 'original description' });
  });
  afterAll(() => app.close());

  for (const testCase of cases) {
    it(testCase.what, async () => {
      const before = await vaultCounts(app);
      const existingBefore = await app.db.prisma.secret.findFirst({ where: { name: existing } });

      const response = await testCase.run(app, existing);

      expect(response.status).toBeLessThan(500);
      expect(errorCodes(response), response.text.slice(0, 500)).toEqual(['BAD_USER_INPUT']);
      expect(response.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
      const fields = fieldsOf(response);
      if (testCase.field === null) {
        // checked by 'an invalid date names its field'
      } else if (typeof testCase.field === 'string') expect(fields, response.text.slice(0, 500)).toContain(testCase.field);
      else expect(fields, response.text.slice(0, 500)).toContainEqual(expect.stringMatching(testCase.field));
      expect(await vaultCounts(app)).toEqual(before);
      expect(await app.db.prisma.secret.findFirst({ where: { name: existing } })).toEqual(existingBefore);
    });
  }

  // KNOWN SRC BUG: fails today. The DateTime scalar (src/graphql/builder.ts, parseValue) reports
  // `fields: [{ field: '' }]`: the scalar cannot know where it is, and nothing fills the path in.
  it('an invalid date names its field in extensions.fields', async () => {
    const unnamed: string[] = [];
    for (const date of BAD_DATES) {
      for (const call of invalidDateCalls(date)) {
        const response = await call.run(app, existing);
        expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
        if (!fieldsOf(response).includes(call.field)) unnamed.push(`${call.what}: fields ${JSON.stringify(fieldsOf(response))}`);
      }
    }
    expect(unnamed).toEqual([]);
  });

  it('after all of it, the existing secret still reads as written', async () => {
    const read = await app.execute(VaultMetadata, { name: existing }, asAdmin(app));
    expect(read.data?.secret).toMatchObject({ currentVersion: 1, description: 'original description', expiresAt: null });
    expect((await app.execute(VaultReveal, { name: existing }, asAdmin(app))).data?.secret.value).toBe('original');
  });
});

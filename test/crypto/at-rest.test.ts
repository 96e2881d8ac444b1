import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/auth/index.js';
import { rotateMasterKey } from '../../src/features/master-keys/master-keys.service.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { filesContaining, findTrace } from '../support/leaks.js';
import { canary, expectMaskedRead, openEmbedded, put, reveal, ROTATE, uniqueName } from './support.js';

/**
 * What is at rest, through the real API: a value is in no row and no file in clear; a
 * ciphertext moved to another row does not decrypt there; rotation keeps every value readable
 * and lets the old key go once nothing depends on it.
 */

/** Every cell of every row, as text or bytes: what a search of the raw rows has to look through. */
function cellsOf(rows: Array<Record<string, unknown>>): Array<[string, string | Uint8Array]> {
  return rows.flatMap((row) =>
    Object.entries(row).map(([column, cell]): [string, string | Uint8Array] => [
      column,
      cell instanceof Uint8Array
        ? cell
        : typeof cell === 'string'
          ? cell
          : (JSON.stringify(cell, (_key, inner: unknown) => (typeof inner === 'bigint' ? inner.toString() : inner)) ?? 'null'),
    ]),
  );
}

describe('at rest: raw rows', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('a value written via upsertSecret never appears in the raw secret_versions or secrets rows (utf8, hex, base64)', async () => {
    const name = uniqueName('AT_REST');
    const value = canary('rows');
    const { id } = await put(app.request, app.admin.key, name, value);
    const { prisma } = app.db;

    const versions = await prisma.$queryRawUnsafe<Array<Record<string, unknown>>>(
      'SELECT * FROM secret_versions WHERE secret_id = $1::uuid',
      id,
    );
    const secrets = await prisma.$queryRawUnsafe<Array<Record<string, unknown>>>('SELECT * FROM secrets WHERE id = $1::uuid', id);
    expect(versions).toHaveLength(1);
    expect(secrets).toHaveLength(1);
    const cells = [...cellsOf(versions), ...cellsOf(secrets)];
    expect(
      cells.some(([column, cell]) => column === 'ciphertext' && cell instanceof Uint8Array && cell.length >= Buffer.byteLength(value)),
    ).toBe(true);
    for (const [column, cell] of cells) expect(findTrace(cell, value), `column ${column}`).toBeNull();
    // Postgres' own text rendering of the rows (bytea as \x hex) holds no trace either.
    const asText = await prisma.$queryRawUnsafe<Array<{ row: string }>>(
      'SELECT v::text AS row FROM secret_versions v WHERE secret_id = $1::uuid UNION ALL SELECT s::text FROM secrets s WHERE id = $1::uuid',
      id,
    );
    for (const { row } of asText) expect(findTrace(row, value)).toBeNull();
    // Positive control: the same search finds what is stored in clear.
    expect(cells.some(([, cell]) => findTrace(cell, name) !== null)).toBe(true);
    expect(asText.some(({ row }) => findTrace(row, name) !== null)).toBe(true);
    expect(await reveal(app.request, app.admin.key, name)).toBe(value);
    expect(app.logs.filter((line) => findTrace(line, value) !== null)).toEqual([]);
  });

  it('a value written via upsertSecret appears in no row of any table (audit records included)', async () => {
    const name = uniqueName('ANY_TABLE');
    const value = canary('tables');
    await put(app.request, app.admin.key, name, value);
    expect(await reveal(app.request, app.admin.key, name)).toBe(value);
    const tables = await app.db.prisma.$queryRawUnsafe<Array<{ table_name: string }>>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    );
    expect(tables.map((table) => table.table_name)).toEqual(expect.arrayContaining(['secrets', 'secret_versions', 'audit_events']));
    let nameSeen = false;
    for (const { table_name: table } of tables) {
      const rows = await app.db.prisma.$queryRawUnsafe<Array<{ row: string }>>(`SELECT t::text AS row FROM "${table}" t`);
      for (const { row } of rows) {
        expect(findTrace(row, value), `table ${table}`).toBeNull();
        nameSeen ||= row.includes(name);
      }
    }
    expect(nameSeen).toBe(true);
  });
});

describe('at rest: files of a PGlite data directory', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'coffer-at-rest-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('a value written via upsertSecret is in no file under DATA_DIR (utf8, utf16le), while a name and a description (stored in clear) are found', async () => {
    const name = uniqueName('ON_DISK');
    const value = canary('disk');
    const inClear = canary('description');
    const embedded = await openEmbedded({ DATA_DIR: dataDir });
    try {
      expect(embedded.services.db.kind).toBe('pglite');
      const { send } = embedded;
      const { key } = await embedded.admin();
      await put(send, key, name, value);
      await put(send, key, uniqueName('DESCRIBED'), canary('other'), { description: inClear });
      // A second version, and a read: more pages and WAL records written around the value.
      await put(send, key, name, `${value}-v2`);
      expect(await reveal(send, key, name, 1)).toBe(value);
      await embedded.services.db.prisma.$executeRawUnsafe('CHECKPOINT');
      expect(embedded.logs.filter((line) => findTrace(line, value) !== null)).toEqual([]);
    } finally {
      await embedded.close();
    }

    for (const encoding of ['utf8', 'utf16le'] as const) {
      expect(await filesContaining(dataDir, Buffer.from(value, encoding)), `value as ${encoding}`).toEqual([]);
    }
    // Positive control: the scan does find what is stored in clear, so the check above can fail.
    expect((await filesContaining(dataDir, Buffer.from(name, 'utf8'))).length).toBeGreaterThan(0);
    expect((await filesContaining(dataDir, Buffer.from(inClear, 'utf8'))).length).toBeGreaterThan(0);
  });
});

describe('at rest: a ciphertext is bound to its row', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  /** Overwrites the sealed columns of (toId, toVersion) with those of (fromId, fromVersion). */
  const copySealed = (fromId: string, fromVersion: number, toId: string, toVersion: number) =>
    app.db.prisma.$executeRawUnsafe(
      `UPDATE secret_versions AS target
          SET key_id = source.key_id, wrapped_key = source.wrapped_key, iv = source.iv, tag = source.tag, ciphertext = source.ciphertext
         FROM secret_versions AS source
        WHERE source.secret_id = $1::uuid AND source.version = $2 AND target.secret_id = $3::uuid AND target.version = $4`,
      fromId,
      fromVersion,
      toId,
      toVersion,
    );

  it("a ciphertext row copied into another secret's row fails to read there, masked, without either value", async () => {
    const [nameA, nameB] = [uniqueName('MOVE_A'), uniqueName('MOVE_B')];
    const [valueA, valueB] = [canary('a'), canary('b')];
    const a = await put(app.request, app.admin.key, nameA, valueA);
    const b = await put(app.request, app.admin.key, nameB, valueB);
    expect(await copySealed(a.id, 1, b.id, 1)).toBe(1);
    await expectMaskedRead(app.request, app.admin.key, nameB, undefined, valueA, valueB);
    // A is untouched, and the server keeps serving.
    expect(await reveal(app.request, app.admin.key, nameA)).toBe(valueA);
  });

  it('a ciphertext copied to another version of the same secret fails to read there', async () => {
    const name = uniqueName('MOVE_VERSION');
    const [first, second] = [canary('v1'), canary('v2')];
    const { id } = await put(app.request, app.admin.key, name, first);
    await put(app.request, app.admin.key, name, second);
    expect(await copySealed(id, 1, id, 2)).toBe(1);
    await expectMaskedRead(app.request, app.admin.key, name, 2, first, second);
    expect(await reveal(app.request, app.admin.key, name, 1)).toBe(first);
  });

  it('a secret renamed in the database no longer decrypts (the name is bound)', async () => {
    const name = uniqueName('RENAMED');
    const value = canary('renamed');
    const { id } = await put(app.request, app.admin.key, name, value);
    const renamed = uniqueName('RENAMED');
    await app.db.prisma.$executeRawUnsafe('UPDATE secrets SET name = $1 WHERE id = $2::uuid', renamed, id);
    await expectMaskedRead(app.request, app.admin.key, renamed, undefined, value);
  });
});

describe('at rest: master-key rotation', () => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  const keyIdsInUse = async (current: TestApp) =>
    (await current.db.prisma.$queryRawUnsafe<Array<{ key_id: string }>>('SELECT DISTINCT key_id FROM secret_versions ORDER BY key_id')).map(
      (row) => row.key_id,
    );

  /** The keyring's terms by state, as an admin sees them through the API. */
  const termStates = async (current: TestApp) => {
    const response = await current.request({ query: '{ masterKeys { id state } }' }, { credential: current.admin.key });
    expect(response.json.errors, response.text).toBeUndefined();
    const terms = (response.json.data as { masterKeys: Array<{ id: string; state: string }> }).masterKeys;
    return Object.fromEntries(terms.map((term) => [term.id, term.state]));
  };

  it('values written before rotateMasterKey(generateNewKey: true) still read after it, with their ciphertext untouched', async () => {
    app = await createTestApp();
    const current = app;
    const oldKeyId = current.services.keyring.current.active.id;
    const written = Array.from({ length: 3 }, () => ({ name: uniqueName('ROTATE'), value: canary('rotate') }));
    for (const { name, value } of written) await put(current.request, current.admin.key, name, value);
    const before = await current.db.prisma.secretVersion.findMany({ orderBy: [{ secretId: 'asc' }, { version: 'asc' }] });

    const response = await current.request({ query: ROTATE, variables: { generateNewKey: true } }, { credential: current.admin.key });
    expect(response.json.errors, response.text).toBeUndefined();
    const result = (
      response.json.data as { rotateMasterKey: { activeKeyId: string; rewrapped: number; remaining: number; retiredKeyIds: string[] } }
    ).rotateMasterKey;
    expect(result.activeKeyId).not.toBe(oldKeyId);
    expect(result).toMatchObject({ rewrapped: before.length, remaining: 0, retiredKeyIds: [oldKeyId] });

    for (const { name, value } of written) expect(await reveal(current.request, current.admin.key, name)).toBe(value);
    const after = await current.db.prisma.secretVersion.findMany({ orderBy: [{ secretId: 'asc' }, { version: 'asc' }] });
    expect(after.map((row) => row.keyId)).toEqual(before.map(() => result.activeKeyId));
    for (const [index, row] of after.entries()) {
      const old = before[index];
      expect(Buffer.from(row.ciphertext).equals(Buffer.from(old?.ciphertext ?? []))).toBe(true);
      expect(Buffer.from(row.iv).equals(Buffer.from(old?.iv ?? []))).toBe(true);
      expect(Buffer.from(row.wrappedKey).equals(Buffer.from(old?.wrappedKey ?? []))).toBe(false);
    }
  });

  it('after a complete rotation the old term is retired: kept in the database keyring, taking no writes, its material intact', async () => {
    app = await createTestApp();
    const current = app;
    const oldKeyId = current.services.keyring.current.active.id;
    await put(current.request, current.admin.key, uniqueName('RETIRE'), canary('retire'));
    expect(await termStates(current)).toEqual({ [oldKeyId]: 'ACTIVE' });
    const oldMaterial = Buffer.from(current.services.keyring.current.get(oldKeyId).key);

    const response = await current.request({ query: ROTATE, variables: { generateNewKey: true } }, { credential: current.admin.key });
    const result = (response.json.data as { rotateMasterKey: { activeKeyId: string; retiredKeyIds: string[] } }).rotateMasterKey;
    expect(result.retiredKeyIds).toEqual([oldKeyId]);
    expect(await termStates(current)).toEqual({ [oldKeyId]: 'RETIRED', [result.activeKeyId]: 'ACTIVE' });
    // Never deleted by a rotation: a backup taken before it still needs this material.
    expect(current.services.keyring.current.get(oldKeyId).key.equals(oldMaterial)).toBe(true);
    expect(await keyIdsInUse(current)).toEqual([result.activeKeyId]);
  });

  it('an interrupted rotation (batchSize 2, maxBatches 1) reports remaining > 0, every value still reads under mixed keys, and a second call finishes it', async () => {
    app = await createTestApp();
    const current = app;
    const oldKeyId = current.services.keyring.current.active.id;
    const written = Array.from({ length: 6 }, () => ({ name: uniqueName('RESUME'), value: canary('resume') }));
    for (const { name, value } of written) await put(current.request, current.admin.key, name, value);
    const { db, services } = current;

    const first = await rotateMasterKey({
      db,
      keyring: services.keyring,
      actor: SYSTEM_ACTOR,
      generateNewKey: true,
      batchSize: 2,
      maxBatches: 1,
    });
    expect(first.activeKeyId).not.toBe(oldKeyId);
    expect(first).toMatchObject({ rewrapped: 2, remaining: written.length - 2, retiredKeyIds: [] });
    expect(await keyIdsInUse(current)).toEqual([first.activeKeyId, oldKeyId].sort());
    // The old term keeps decrypting while data keys still depend on it.
    expect(await termStates(current)).toEqual({ [first.activeKeyId]: 'ACTIVE', [oldKeyId]: 'DECRYPT_ONLY' });
    for (const { name, value } of written) expect(await reveal(current.request, current.admin.key, name)).toBe(value);
    // A value written mid-rotation goes under the new key and reads too.
    const midway = { name: uniqueName('MIDWAY'), value: canary('midway') };
    await put(current.request, current.admin.key, midway.name, midway.value);

    const second = await rotateMasterKey({ db, keyring: services.keyring, actor: SYSTEM_ACTOR, generateNewKey: false, batchSize: 2 });
    expect(second).toMatchObject({
      activeKeyId: first.activeKeyId,
      rewrapped: written.length - 2,
      remaining: 0,
      retiredKeyIds: [oldKeyId],
    });
    expect(await keyIdsInUse(current)).toEqual([first.activeKeyId]);
    expect(await termStates(current)).toEqual({ [first.activeKeyId]: 'ACTIVE', [oldKeyId]: 'RETIRED' });
    for (const { name, value } of [...written, midway]) expect(await reveal(current.request, current.admin.key, name)).toBe(value);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * `Database.query` and `Database.transaction`: statements prepared once per text on Prisma's own
 * connections (PGlite and PostgreSQL alike), for the hot read paths and the Stripe sync's pages.
 */
describe('Database raw statements', () => {
  let test: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    test = await createTestDatabase();
    db = test.db;
    await db.withSession((session) =>
      session.exec(`CREATE TABLE raw_statements_test (id int PRIMARY KEY, doc jsonb, note json, tags text[], at timestamptz)`),
    );
  });
  afterAll(() => test?.destroy());

  const insert = `INSERT INTO raw_statements_test (id, doc, note, tags, at) VALUES ($1::int, $2::jsonb, $3::json, $4::text[], $5::timestamptz)`;
  const select = `SELECT id, doc, note, tags, at FROM raw_statements_test WHERE id = ANY($1::int[]) ORDER BY id`;
  const ids = async () => (await db.query<{ id: number }>(`SELECT id FROM raw_statements_test ORDER BY id`)).map((row) => row.id);

  it('answers a first statement sent while the database is still starting', async () => {
    const starting = await createTestDatabase();
    try {
      expect(await starting.db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await starting.destroy();
    }
  });

  it('sends each parameter as its type and reads each column back parsed, statement after statement', async () => {
    const at = new Date('2026-12-04T03:00:00.123Z');
    await db.query(insert, [1, { amount: 10, nested: { list: [1, 'two'] } }, '{"b": 1, "a": 2}', ['x', 'y, z'], at]);
    await db.query(insert, [2, '{"as": "text"}', { é: 'ü' }, [], null]);
    await db.query(insert, [3, null, null, null, null]);
    const rows = await db.query(select, [[1, 2, 3]]);
    expect(rows).toEqual([
      { id: 1, doc: { amount: 10, nested: { list: [1, 'two'] } }, note: { b: 1, a: 2 }, tags: ['x', 'y, z'], at },
      { id: 2, doc: { as: 'text' }, note: { é: 'ü' }, tags: [], at: null },
      { id: 3, doc: null, note: null, tags: null, at: null },
    ]);
    // json keeps the text as it was sent (key order included); jsonb does not.
    const [kept] = await db.query<{ note: string }>(`SELECT note::text AS note FROM raw_statements_test WHERE id = $1::int`, [1]);
    expect(kept?.note).toBe('{"b": 1, "a": 2}');
    // The same text again, with other values, answers for those values.
    expect(await db.query(select, [[2]])).toEqual([rows[1]]);
  });

  it("reads every type back as the driver's own query does, large results included", async () => {
    // The prepared path reads PGlite's raw protocol bytes itself (src/db/pglite-results.ts): compared with the driver's own reading.
    const typed = `SELECT n, n::int2 AS small, n::int8 AS big, n::numeric / 7 AS ratio, n::float8 / 3 AS real, n % 2 = 0 AS even,
        md5(n::text)::uuid AS id, repeat('é🔑', n % 5) AS text, '' AS empty, NULL::text AS nothing,
        timestamptz '2026-12-04 03:00:00.123+00' + n * interval '1 second' AS at, date '2026-12-04' AS day,
        jsonb_build_object('n', n, 'name', 'ü') AS doc, json_build_array(n, 'x') AS list, ARRAY[n, n + 1] AS ints,
        ARRAY['a,b', NULL, 'é'] AS texts, decode(lpad(to_hex(n), 8, '0'), 'hex') AS raw, 'PROJECT'::"SecretScope" AS scope,
        interval '90 minutes' AS span
      FROM generate_series(1, $1::int) AS n`;
    const read = (count: number) => db.query<Record<string, unknown>>(typed, [count]);
    const driver = (count: number) =>
      db.withSession((session) => session.query<Record<string, unknown>>(typed.replace('$1::int', String(count))));
    for (const count of [0, 1, 3]) expect(await read(count), String(count)).toEqual(await driver(count));
    // About 2 MB: many of PGlite's output chunks, with rows split across them.
    const many = await read(20_000);
    expect(many).toHaveLength(20_000);
    expect(many).toEqual(await driver(20_000));
    expect(many[19_999]).toMatchObject({ n: 20_000, even: true, text: '', scope: 'PROJECT', texts: ['a,b', null, 'é'] });
  });

  it('reports a broken constraint with its name and detail, as the driver reports it', async () => {
    await db.query(insert, [40, null, null, null, null]);
    const error = await db.query(insert, [40, null, null, null, null]).catch((failed: unknown) => failed);
    expect(error).toMatchObject({ code: '23505', constraint: 'raw_statements_test_pkey', detail: expect.stringContaining('(id)=(40)') });
    expect(await db.query(`SELECT count(*)::int AS n FROM raw_statements_test WHERE id = 40`)).toEqual([{ n: 1 }]);
  });

  it('commits a transaction whole, and rolls every statement back when the work throws', async () => {
    await db.transaction(async (sql) => {
      await sql.query(insert, [10, null, null, null, null]);
      await sql.query(insert, [11, null, null, null, null]);
    });
    await expect(
      db.transaction(async (sql) => {
        await sql.query(insert, [12, null, null, null, null]);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await ids()).toEqual(expect.arrayContaining([10, 11]));
    expect(await ids()).not.toContain(12);
  });

  it('reports a failing statement with its SQLSTATE, keeps nothing of its transaction, and the connection goes on', async () => {
    const duplicate = db.transaction(async (sql) => {
      await sql.query(insert, [20, null, null, null, null]);
      await sql.query(insert, [10, null, null, null, null]);
    });
    await expect(duplicate).rejects.toMatchObject({ code: '23505' });
    expect(await ids()).not.toContain(20);
    // Outside a transaction too; then the same statements work again.
    await expect(db.query(insert, [10, null, null, null, null])).rejects.toMatchObject({ code: '23505' });
    await expect(db.query('SELECT no_such_column FROM raw_statements_test')).rejects.toMatchObject({ code: '42703' });
    await expect(db.query('SELECT no_such_column FROM raw_statements_test')).rejects.toMatchObject({ code: '42703' });
    await db.transaction((sql) => sql.query(insert, [21, null, null, null, null]));
    expect(await ids()).toContain(21);
  });

  it('serializes concurrent callers: a transaction sees only its own statements until it commits', async () => {
    let inside!: () => void;
    const entered = new Promise<void>((resolve) => (inside = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const open = db.transaction(async (sql) => {
      await sql.query(insert, [30, null, null, null, null]);
      inside();
      await held;
      await sql.query(insert, [31, null, null, null, null]);
    });
    await entered;
    const reader = db.query<{ n: number }>(`SELECT count(*)::int AS n FROM raw_statements_test WHERE id IN (30, 31)`);
    release();
    await open;
    // PGlite runs it after the commit; PostgreSQL's other connection sees the snapshot before it, or after.
    expect([0, 2]).toContain((await reader)[0]?.n);
    expect(await ids()).toEqual(expect.arrayContaining([30, 31]));
  });
});

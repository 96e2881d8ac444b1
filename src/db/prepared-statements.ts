import { createHash } from 'node:crypto';
import { parse, protocol, type PGlite, type QueryOptions } from '@electric-sql/pglite';
import { decodeRows } from './pglite-results.js';

const { serialize } = protocol;

const statementNames = new Map<string, string>();

/**
 * A prepared-statement name per SQL text: each connection parses and plans a hot statement once
 * instead of on every request (the texts are a small fixed set: built from code, never from
 * input). The columns are always named, so a migration never changes a prepared result's shape.
 */
export function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (!name) {
    name = `coffer_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
    statementNames.set(sql, name);
  }
  return name;
}

/** Runs one statement; `inTransaction`: inside a transaction the caller opened (no flush after it). */
export type PreparedQuery = <Row>(sql: string, params: unknown[], inTransaction: boolean) => Promise<Row[]>;

/**
 * Statements on PGlite prepared once per SQL text, as the pooled connections do on PostgreSQL:
 * PGlite's own `query` parses and plans every call, in six protocol round trips; a prepared one is
 * bound and executed in one (the sync's lease statement: 687 → 148 µs). The caller holds PGlite's
 * transaction lock (inside `transaction`, or through `_runExclusiveTransaction` once `_checkReady`
 * resolved, as PGlite's `query` does); this takes its query lock. Parameters are serialized as
 * PGlite's `query` serializes them, `options.serializers` first; rows are read by `decodeRows`.
 */
export function pglitePreparedStatements(pglite: PGlite, options: QueryOptions): PreparedQuery {
  const parameterTypes = new Map<string, number[]>();

  async function prepare(sql: string, name: string): Promise<number[]> {
    const described = await pglite.execProtocolStream(
      Buffer.concat([
        // A statement left by an attempt that failed after its Parse would refuse the name: closed first (a no-op otherwise).
        serialize.close({ type: 'S', name }),
        serialize.parse({ name, text: sql }),
        serialize.describe({ type: 'S', name }),
        serialize.sync(),
      ]),
      { syncToFs: false },
    );
    const types = parse.parseDescribeStatementResults(described);
    parameterTypes.set(sql, types);
    return types;
  }

  const serialized = (param: unknown, oid: number | undefined) => {
    if (param === null || param === undefined) return null;
    const serializer = oid === undefined ? undefined : (options.serializers?.[oid] ?? pglite.serializers[oid]);
    // Types without a serializer are sent as text, as PGlite's `query` sends them.
    return serializer ? serializer(param) : (param as { toString(): string }).toString();
  };

  return <Row>(sql: string, params: unknown[], inTransaction: boolean) =>
    pglite._runExclusiveQuery(async () => {
      const name = statementName(sql);
      const types = parameterTypes.get(sql) ?? (await prepare(sql, name));
      const chunks: Buffer[] = [];
      await pglite.execProtocolRawStream(
        Buffer.concat([
          serialize.bind({ statement: name, values: params.map((param, index) => serialized(param, types[index])) }),
          serialize.describe({ type: 'P' }),
          serialize.execute({}),
          serialize.sync(),
        ]),
        // Copied: PGlite reuses the memory behind each chunk once this returns.
        // Outside a transaction the statement has committed: PGlite syncs its file system, as `query` does.
        { onRawData: (chunk) => chunks.push(Buffer.from(chunk)), syncToFs: !inTransaction },
      );
      // PGlite adds its array types' parsers once it has started: read them each time, as `query` does.
      const parsers = options.parsers ? { ...pglite.parsers, ...options.parsers } : pglite.parsers;
      return decodeRows<Row>(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), parsers);
    });
}

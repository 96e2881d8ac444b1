import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.js';
import { observePool, type PoolStats } from '../metrics.js';
import { inSpan, SpanKind, tracingEnabled } from '../tracing.js';
import { lockDataDir, type DataDirLock, type DataDirRole } from './data-dir-lock.js';
import { pglitePreparedStatements, statementName } from './prepared-statements.js';

/** Raw SQL on one connection: what migrations and advisory locks need and Prisma's pool cannot promise. */
export interface SqlSession {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Runs a script of several statements (simple query protocol, no parameters). */
  exec(sql: string): Promise<void>;
}

/** Statements through a raw connection: `Database.query`, or one raw transaction's. */
export type SqlQuery = Pick<SqlSession, 'query'>;

/** Prisma (a client or an interactive transaction) or a raw connection: for statements that run on either. */
export type AnySql = Pick<PrismaClient, '$queryRawUnsafe'> | SqlQuery;

/** Runs one statement on either kind of `AnySql`; the rows come back as the driver parsed them. */
export const rowsOf = <Row>(sql: AnySql, text: string, ...params: unknown[]): Promise<Row[]> =>
  'query' in sql ? sql.query<Row>(text, params) : sql.$queryRawUnsafe<Row[]>(text, ...params);

export interface Database {
  readonly kind: 'pglite' | 'postgres';
  readonly prisma: PrismaClient;
  /**
   * One statement on Prisma's own connections (its pg pool, or the PGlite instance), without
   * Prisma's query engine: for the few hot read paths where that engine cost more than the query
   * itself (README, Benchmarks). Rows come back with snake_case columns unless the SQL aliases them.
   * Each distinct text is prepared once per connection (PGlite's too): pass values as parameters,
   * never in the text, and name every column (no `SELECT *`). A prepared statement's plan soon
   * stops looking at the values: compare many rows with a long array parameter by a join or in
   * code, not by `= ANY($n)` in a filter, which a generic plan checks element by element per row.
   */
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  /**
   * A transaction of raw statements on those same connections (committed when `work` resolves,
   * rolled back when it throws): for a write path whose statements carry large parameters, where
   * Prisma's engine cost more than the database (the Stripe sync's pages, README). Same rules as
   * `query`.
   */
  transaction<T>(work: (sql: SqlQuery) => Promise<T>): Promise<T>;
  /** Borrows one dedicated connection for the duration of `work`. */
  withSession<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  /** The connections Prisma and `query` share, and who waits for one (read by /metrics at scrape time). */
  poolStats(): PoolStats & { max: number; idle: number; waiting: number };
  /** Embedded only: tells processes refused the data directory where this server listens. */
  advertise(url: string): Promise<void>;
  close(): Promise<void>;
}

export type DatabaseTarget =
  | { kind: 'postgres'; url: string; poolSize?: number }
  /**
   * An embedded database in `dataDir`, locked for this process (DataDirLockedError when another
   * process holds it); `onLockLost` runs if the lock is ever taken away.
   */
  | { kind: 'pglite'; dataDir: string; role?: DataDirRole; onLockLost?: (error: Error) => void; sharedBuffersMb?: number }
  /** An already opened PGlite (tests start from a migrated snapshot); closed with the database. */
  | { kind: 'pglite-instance'; pglite: PGlite };

export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if (target.kind === 'postgres') return openPostgres(target.url, target.poolSize);
  if (target.kind === 'pglite') {
    await mkdir(target.dataDir, { recursive: true, mode: 0o700 });
    // Before anything in the directory is read or written: a second process must touch nothing.
    const lock = await lockDataDir(target.dataDir, target.role ?? 'server', target.onLockLost ?? exitOnLostLock);
    try {
      return wrapPGlite(await PGlite.create(target.dataDir, { startParams: pgliteStartParams(target.sharedBuffersMb) }), lock);
    } catch (error) {
      await lock.release();
      throw error;
    }
  }
  return wrapPGlite(target.pglite);
}

/** PGlite's own start parameters, with `shared_buffers` when given (PostgreSQL's 128 MB otherwise). */
function pgliteStartParams(sharedBuffersMb: number | undefined): string[] {
  return [...PGlite.defaultStartParams, ...(sharedBuffersMb === undefined ? [] : ['-c', `shared_buffers=${sharedBuffersMb}MB`])];
}

/** Writing on after the lock is gone would corrupt the database: stop at once. */
function exitOnLostLock(error: Error): void {
  process.stderr.write(`Coffer lost its lock on DATA_DIR (${error.message}); stopping at once to protect the embedded database.\n`);
  process.exit(70);
}

/**
 * PGlite runs one statement or transaction at a time: `query`, `exec` and `transaction` (Prisma's
 * adapter uses these) each wait for its `_runExclusiveTransaction` lock. Counting around that lock
 * tells whether the connection is held and how many wait (PGlite is pinned; a test checks it).
 */
function watchQueue(pglite: PGlite): { readonly holding: number; readonly waiting: number } {
  const counts = { holding: 0, waiting: 0 };
  const exclusive = pglite._runExclusiveTransaction.bind(pglite);
  pglite._runExclusiveTransaction = async <T>(work: () => Promise<T>): Promise<T> => {
    counts.waiting += 1;
    let granted = false;
    try {
      return await exclusive(async () => {
        granted = true;
        counts.waiting -= 1;
        counts.holding += 1;
        try {
          return await work();
        } finally {
          counts.holding -= 1;
        }
      });
    } finally {
      if (!granted) counts.waiting -= 1;
    }
  };
  return counts;
}

/**
 * Prisma gives up starting an interactive transaction after 2 s by default (P2028), which a burst
 * of writes waiting for the pool (or PGlite's one connection) reaches on a loaded machine: it was
 * answered SERVICE_UNAVAILABLE although nothing was down. A dropped or refused connection still
 * fails at once.
 */
const TRANSACTION_OPTIONS = { maxWait: 10_000 };

const JSON_OID = 114;
const JSONB_OID = 3802;
const JSONB_BINARY_VERSION = Buffer.from([1]);

const jsonText = (value: unknown) =>
  typeof value === 'string'
    ? value
    : JSON.stringify(value, (_key, inner: unknown) => (typeof inner === 'bigint' ? inner.toString() : inner));

/**
 * json and jsonb parameters go to PGlite in binary form (the UTF-8 text; a version byte first for
 * jsonb): PGlite sends a text parameter after measuring its UTF-8 length twice in a JavaScript
 * loop, a millisecond for a Stripe page of invoices (README, Stripe sync).
 */
const RAW_QUERY_OPTIONS = {
  serializers: {
    [JSON_OID]: (value: unknown) => Buffer.from(jsonText(value)) as unknown as string,
    [JSONB_OID]: (value: unknown) => Buffer.concat([JSONB_BINARY_VERSION, Buffer.from(jsonText(value))]) as unknown as string,
  },
};

function wrapPGlite(pglite: PGlite, lock?: DataDirLock): Database {
  const queue = watchQueue(pglite);
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite), transactionOptions: TRANSACTION_OPTIONS });
  const poolStats = () => ({ max: 1, total: 1, idle: queue.holding > 0 ? 0 : 1, waiting: queue.waiting });
  observePool(poolStats);
  const prepared = pglitePreparedStatements(pglite, RAW_QUERY_OPTIONS);
  // One connection: every transaction's statements run on it, inside PGlite's transaction lock.
  const inTransaction: SqlQuery = { query: traced((sql, params = []) => prepared(sql, params, true)) };
  const session: SqlSession = {
    async query<Row>(sql: string, params: unknown[] = []) {
      return (await pglite.query<Row>(sql, params, RAW_QUERY_OPTIONS)).rows;
    },
    async exec(sql: string) {
      await pglite.exec(sql);
    },
  };
  return {
    kind: 'pglite',
    prisma,
    query: traced(async (sql, params = []) => {
      // Before the lock, as PGlite's `query`: a database still starting takes it to finish starting.
      await pglite._checkReady();
      return pglite._runExclusiveTransaction(() => prepared(sql, params, false));
    }),
    transaction: (work) => pglite.transaction(() => work(inTransaction)),
    // PGlite is a single connection already; nothing to borrow.
    withSession: (work) => work(session),
    async ping() {
      await pglite.query('SELECT 1');
    },
    poolStats,
    async advertise(url: string) {
      await lock?.advertise(url);
    },
    async close() {
      await prisma.$disconnect();
      if (!pglite.closed) await pglite.close();
      await lock?.release();
    },
  };
}

/** `pg` and its adapter load only here: an embedded server never pays for them at start-up. */
async function openPostgres(url: string, poolSize = 10): Promise<Database> {
  const [{ default: pg }, { PrismaPg }] = await Promise.all([import('pg'), import('@prisma/adapter-pg')]);
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle connection dropped by the server (restart, failover) is replaced on the next checkout;
  // without a listener the pool's 'error' event would end the process.
  pool.on('error', () => {});
  const poolStats = () => ({ max: poolSize, total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount });
  observePool(poolStats);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool), transactionOptions: TRANSACTION_OPTIONS });
  /** A statement prepared once per connection (`statementName`), on the pool or one borrowed client. */
  const preparedOn = (connection: pg.Pool | pg.PoolClient) =>
    traced(
      async <Row>(sql: string, params: unknown[] = []) =>
        (await connection.query({ name: statementName(sql), text: sql, values: params })).rows as Row[],
    );
  return {
    kind: 'postgres',
    prisma,
    query: preparedOn(pool),
    async transaction(work) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await work({ query: preparedOn(client) });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        // A connection that cannot even roll back is dropped, not handed to the next borrower.
        await client.query('ROLLBACK').catch((rollbackFailed: Error) => (broken = rollbackFailed));
        throw error;
      } finally {
        client.release(broken);
      }
    },
    async withSession(work) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return await work({
          async query<Row>(sql: string, params: unknown[] = []) {
            return (await client.query(sql, params)).rows as Row[];
          },
          async exec(sql: string) {
            await client.query(sql);
          },
        });
      } finally {
        await client.end();
      }
    },
    async ping() {
      await prisma.$queryRawUnsafe('SELECT 1');
    },
    poolStats,
    async advertise() {},
    async close() {
      await prisma.$disconnect();
      if (!pool.ended) await pool.end();
    },
  };
}

type Query = Database['query'];

/**
 * Statements that bypass Prisma get the span Prisma's instrumentation gives the others (when
 * tracing is on): the operation's first keyword only, never the text or a parameter.
 */
function traced(query: Query): Query {
  return <Row>(sql: string, params?: unknown[]) => {
    if (!tracingEnabled()) return query<Row>(sql, params);
    const operation = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? 'QUERY';
    const attributes = { 'db.system.name': 'postgresql', 'db.operation.name': operation };
    return inSpan('db.query', { kind: SpanKind.CLIENT, attributes }, () => query<Row>(sql, params));
  };
}

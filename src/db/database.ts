import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.js';

/** Raw SQL on one connection: what migrations and advisory locks need and Prisma's pool cannot promise. */
export interface SqlSession {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Runs a script of several statements (simple query protocol, no parameters). */
  exec(sql: string): Promise<void>;
}

export interface Database {
  readonly kind: 'pglite' | 'postgres';
  readonly prisma: PrismaClient;
  /** Borrows one dedicated connection for the duration of `work`. */
  withSession<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type DatabaseTarget =
  | { kind: 'postgres'; url: string; poolSize?: number }
  | { kind: 'pglite'; dataDir: string }
  /** An already opened PGlite (tests start from a migrated snapshot); closed with the database. */
  | { kind: 'pglite-instance'; pglite: PGlite };

export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if (target.kind === 'postgres') return openPostgres(target.url, target.poolSize);
  if (target.kind === 'pglite') {
    await mkdir(target.dataDir, { recursive: true, mode: 0o700 });
    return wrapPGlite(await PGlite.create(target.dataDir));
  }
  return wrapPGlite(target.pglite);
}

function wrapPGlite(pglite: PGlite): Database {
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  const session: SqlSession = {
    async query<Row>(sql: string, params: unknown[] = []) {
      return (await pglite.query<Row>(sql, params)).rows;
    },
    async exec(sql: string) {
      await pglite.exec(sql);
    },
  };
  return {
    kind: 'pglite',
    prisma,
    // PGlite is a single connection already; nothing to borrow.
    withSession: (work) => work(session),
    async ping() {
      await pglite.query('SELECT 1');
    },
    async close() {
      await prisma.$disconnect();
      if (!pglite.closed) await pglite.close();
    },
  };
}

function openPostgres(url: string, poolSize = 10): Database {
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: poolSize }) });
  return {
    kind: 'postgres',
    prisma,
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
    async close() {
      await prisma.$disconnect();
    },
  };
}

import { sealedOf, storedOf, type AssociatedData, type Sealed, type StoredSealed } from '../crypto/index.js';
import { rowsOf, type AnySql } from '../db/database.js';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';

type Db = PrismaClient | Prisma.TransactionClient;

/** Moves a sealed value's data key under the active term (the value's ciphertext is untouched). */
export type Rewrap = (sealed: Sealed, aad: AssociatedData) => Sealed;

/**
 * A table whose rows hold data keys wrapped by keyring terms (secret versions, Stripe
 * credentials). The keyring knows tables only through this, so that integrity checks and
 * rotations cover every one of them without the keyring importing the features that own them.
 */
export interface SealedRows {
  /** For progress and messages, e.g. "secret versions". */
  readonly name: string;
  /** Every term some row's data key is wrapped by (raw statement: runs on Prisma or a raw connection). */
  termsInUse(sql: AnySql): Promise<string[]>;
  termInUse(db: Db, termId: string): Promise<boolean>;
  countNotUnder(db: Db, termId: string): Promise<number>;
  /** Re-wraps up to `limit` rows not under `termId`, in one committed transaction; returns how many moved. */
  rewrapBatch(prisma: PrismaClient, rewrap: Rewrap, termId: string, limit: number): Promise<number>;
}

/** The Prisma calls every sealed table answers alike: a model with a `keyId` column. */
interface KeyIdDelegate {
  findFirst(args: { where: { keyId: string } }): Promise<unknown>;
  count(args: { where: { keyId: { not: string } } }): Promise<number>;
}

/**
 * The distinct `key_id`s of `table` by walking its `key_id` index from one term to the next: one
 * index probe per term, where a GROUP BY reads every row. Every start checks the terms in use, so
 * start-up does not grow with the number of stored secrets.
 */
const distinctKeyIds = (table: string) => `
  WITH RECURSIVE terms (key_id) AS (
    (SELECT key_id FROM ${table} ORDER BY key_id LIMIT 1)
    UNION ALL
    SELECT (SELECT t.key_id FROM ${table} t WHERE t.key_id > terms.key_id ORDER BY t.key_id LIMIT 1)
    FROM terms WHERE terms.key_id IS NOT NULL
  )
  SELECT key_id FROM terms WHERE key_id IS NOT NULL`;

/** `termsInUse`, `termInUse` and `countNotUnder` for a table (its SQL name, indexed on `key_id`), from its Prisma model. */
export function keyIdQueries(
  table: string,
  delegate: (db: Db) => KeyIdDelegate,
): Pick<SealedRows, 'termsInUse' | 'termInUse' | 'countNotUnder'> {
  const termsSql = distinctKeyIds(table);
  return {
    termsInUse: async (sql) => (await rowsOf<{ key_id: string }>(sql, termsSql)).map((row) => row.key_id),
    termInUse: async (db, termId) => (await delegate(db).findFirst({ where: { keyId: termId } })) !== null,
    countNotUnder: (db, termId) => delegate(db).count({ where: { keyId: { not: termId } } }),
  };
}

/** How `rewrapEach` reads and moves a table's rows. */
interface RewrapTable<Row> {
  /** Up to `limit` rows whose data key is not under `termId`, in a stable order. */
  notUnder(prisma: PrismaClient, termId: string, limit: number): Promise<Row[]>;
  aadOf(row: Row): AssociatedData;
  /** Stores the moved key, only where the row is still under its old term (a write may have replaced it meanwhile). */
  move(tx: Prisma.TransactionClient, row: Row, moved: Pick<StoredSealed, 'keyId' | 'wrappedKey'>): Promise<unknown>;
}

/** `rewrapBatch` for a table: one committed transaction per batch; values are not re-encrypted. */
export function rewrapEach<Row extends Parameters<typeof sealedOf>[0]>(table: RewrapTable<Row>): SealedRows['rewrapBatch'] {
  return async (prisma, rewrap, termId, limit) => {
    const rows = await table.notUnder(prisma, termId, limit);
    if (rows.length === 0) return 0;
    await prisma.$transaction(async (tx) => {
      for (const row of rows) {
        const { keyId, wrappedKey } = storedOf(rewrap(sealedOf(row), table.aadOf(row)));
        await table.move(tx, row, { keyId, wrappedKey });
      }
    });
    return rows.length;
  };
}

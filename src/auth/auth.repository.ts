import type { Prisma, PrismaClient, Role } from '../generated/prisma/client.js';

/** What verifying a credential reads and writes: API keys, users, and users of an identity provider. */

type Db = PrismaClient | Prisma.TransactionClient;

/** A key with the principal it authenticates: its user, or its machine identity. */
export const findApiKeyWithUser = (db: Db, lookupId: string) =>
  db.apiKey.findUnique({ where: { lookupId }, include: { user: true, machineIdentity: true } });

export const findApiKeyById = (db: Db, id: string) =>
  db.apiKey.findUnique({ where: { id }, include: { user: true, machineIdentity: true } });

export const findUser = (db: Db, id: string) => db.user.findUnique({ where: { id } });

export const findUserByExternalId = (db: Db, externalId: string) => db.user.findUnique({ where: { externalId } });

export const setUserRole = (db: Db, id: string, role: Role) => db.user.update({ where: { id }, data: { role } });

/** Just-in-time account: created once, whichever request of the user's comes first. */
export const provisionUser = (db: Db, user: { externalId: string; email: string; name: string | null; role: Role }) =>
  db.user.upsert({ where: { externalId: user.externalId }, create: user, update: {} });

/** Moves `lastUsedAt` forward only: batches written out of order never move it back. */
export const recordApiKeysUsed = (db: Db, ids: string[], at: Date) =>
  db.apiKey.updateMany({ where: { id: { in: ids }, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: at } }] }, data: { lastUsedAt: at } });

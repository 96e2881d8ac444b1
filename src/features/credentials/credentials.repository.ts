import type { Prisma, PrismaClient } from '../../generated/prisma/client.js';

/** API keys, stored as an HMAC of the key (never the key). */

type Db = PrismaClient | Prisma.TransactionClient;

export const createApiKey = (
  db: Db,
  row: { name: string; userId: string; lookupId: string; secretHash: Uint8Array<ArrayBuffer>; expiresAt: Date | null },
) => db.apiKey.create({ data: row });

export const findApiKey = (db: Db, id: string) => db.apiKey.findUnique({ where: { id } });

export const findApiKeyByLookupId = (db: Db, lookupId: string) => db.apiKey.findUnique({ where: { lookupId } });

export const revokeApiKey = (db: Db, id: string, at: Date) => db.apiKey.update({ where: { id }, data: { revokedAt: at } });

export const apiKeysOf = (db: Db, userId: string) =>
  db.apiKey.findMany({ where: { userId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });

export const userExists = async (db: Db, id: string) => (await db.user.findUnique({ where: { id }, select: { id: true } })) !== null;

export const findUser = (db: Db, id: string) => db.user.findUnique({ where: { id } });

/**
 * Registers an operator's key in place of the one registered before it under `name`: the old
 * one is revoked, a stale row with the same lookup id replaced, in one transaction.
 */
export const replaceNamedKey = (
  prisma: PrismaClient,
  { userId, name, existingId, row }: { userId: string; name: string; existingId: string | null; row: Parameters<typeof createApiKey>[1] },
) =>
  prisma.$transaction([
    prisma.apiKey.updateMany({ where: { userId, name, revokedAt: null }, data: { revokedAt: new Date() } }),
    ...(existingId ? [prisma.apiKey.delete({ where: { id: existingId } })] : []),
    prisma.apiKey.create({ data: row }),
  ]);

/** `userId`: only that user's. */
export const apiKeysByIds = (db: Db, ids: string[], userId?: string) =>
  db.apiKey.findMany({ where: { id: { in: ids }, userId: userId ?? { not: null } } });

import type { Prisma, PrismaClient } from '../../generated/prisma/client.js';

/** Every statement on `environments`. */

type Db = PrismaClient | Prisma.TransactionClient;
type Tx = Prisma.TransactionClient;

export const inTransaction = <T>(prisma: PrismaClient, work: (tx: Tx) => Promise<T>): Promise<T> => prisma.$transaction(work);

export const listEnvironments = (db: Db, projectId: string) =>
  db.environment.findMany({ where: { projectId }, orderBy: [{ createdAt: 'asc' }, { name: 'asc' }] });

export const findEnvironment = (db: Db, projectId: string, name: string) =>
  db.environment.findUnique({ where: { projectId_name: { projectId, name } } });

export const insertEnvironment = (db: Db, projectId: string, name: string) => db.environment.create({ data: { projectId, name } });

export const renameEnvironment = (db: Db, id: string, name: string) => db.environment.update({ where: { id }, data: { name } });

export const deleteEnvironment = (db: Db, id: string) => db.environment.delete({ where: { id } });

import { keysetOrder, keysetWhere, type PagePlan } from '../../db/pagination.js';
import type { Prisma, PrismaClient, Role } from '../../generated/prisma/client.js';

type Db = PrismaClient | Prisma.TransactionClient;
type Tx = Prisma.TransactionClient;

export const inTransaction = <T>(prisma: PrismaClient, work: (tx: Tx) => Promise<T>): Promise<T> => prisma.$transaction(work);

export const createUser = (db: Db, user: { email: string; name: string | null; role: Role }) => db.user.create({ data: user });

export const findUser = (db: Db, id: string) => db.user.findUnique({ where: { id } });

export const findUserByEmail = (db: Db, email: string) => db.user.findUnique({ where: { email } });

export const listUsers = (db: Db, plan: PagePlan) =>
  db.user.findMany({ where: keysetWhere(plan), orderBy: keysetOrder(plan), take: plan.take });

export const countUsers = (db: Db) => db.user.count();

export const firstActiveAdmin = (db: Db) =>
  db.user.findFirst({ where: { role: 'ADMIN', disabledAt: null }, orderBy: { createdAt: 'asc' } });

/** The bootstrap admin: made an admin again if a user of that email exists. */
export const upsertAdmin = (db: Db, email: string, name: string) =>
  db.user.upsert({ where: { email }, create: { email, name, role: 'ADMIN' }, update: { role: 'ADMIN' } });

/** null when there is no such user. */
export const updateUser = async (db: Db, id: string, data: { role?: Role; disabledAt?: Date | null }) =>
  (await db.user.updateMany({ where: { id }, data })).count === 0 ? null : db.user.findUnique({ where: { id } });

export const deleteUser = async (db: Db, id: string) => (await db.user.deleteMany({ where: { id } })).count > 0;

export const usersByIds = (db: Db, ids: string[]) => db.user.findMany({ where: { id: { in: ids } } });

/** The user, locked until `tx` ends; null when there is none. */
export async function lockUser(tx: Tx, id: string) {
  const rows = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM users WHERE id = ${id}::uuid FOR UPDATE`;
  return rows.length > 0 ? tx.user.findUnique({ where: { id } }) : null;
}

/**
 * The ids of the enabled admins, each locked until `tx` ends, in id order (two callers cannot
 * deadlock). A caller that waited on a lock reads the rows as committed meanwhile: an admin
 * disabled by the transaction it waited for is no longer among them.
 */
export const lockEnabledAdmins = async (tx: Tx) =>
  (
    await tx.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM users WHERE role = 'ADMIN'::"Role" AND disabled_at IS NULL ORDER BY id FOR UPDATE`
  ).map((row) => row.id);

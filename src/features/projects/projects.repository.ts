import { keysetOrder, keysetWhere, type PagePlan } from '../../db/pagination.js';
import type { Prisma, PrismaClient } from '../../generated/prisma/client.js';

type Db = PrismaClient | Prisma.TransactionClient;

/** Newest first; one owner's, or every project when `ownerId` is undefined. */
export const listProjects = (db: Db, plan: PagePlan, ownerId: string | undefined) =>
  db.project.findMany({ where: { ...(ownerId ? { ownerId } : {}), ...keysetWhere(plan) }, orderBy: keysetOrder(plan), take: plan.take });

export const findProject = (db: Db, id: string) => db.project.findUnique({ where: { id } });

export const ownerOf = async (db: Db, id: string) =>
  (await db.project.findUnique({ where: { id }, select: { ownerId: true } }))?.ownerId ?? null;

/** Every project starts with these environments (the migration gave existing ones the same). */
export const INITIAL_ENVIRONMENTS = ['development', 'staging', 'production'] as const;

export const createProject = (db: Db, project: { name: string; ownerId: string }) =>
  db.project.create({ data: { ...project, environments: { create: INITIAL_ENVIRONMENTS.map((name) => ({ name })) } } });

export const renameProject = (db: Db, id: string, name: string) => db.project.update({ where: { id }, data: { name } });

export const findOwner = (db: Db, ownerId: string) => db.user.findUnique({ where: { id: ownerId } });

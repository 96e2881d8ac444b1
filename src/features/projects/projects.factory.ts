import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../generated/prisma/client.js';

/** Test data: a project owned by `ownerId`. */
export function projectOwnedBy({ prisma, ownerId, name }: { prisma: PrismaClient; ownerId: string; name?: string }) {
  return prisma.project.create({ data: { ownerId, name: name ?? `project ${randomUUID().slice(0, 8)}` } });
}

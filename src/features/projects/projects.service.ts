import { Prisma } from '../../generated/prisma/client.js';
import type { AuthenticatedContext } from '../../graphql/context.js';
import { conflict, notFound } from '../../graphql/errors.js';
import { keysetOrder, keysetWhere, planPage, toConnection, type PageArgs } from '../../graphql/pagination.js';

export async function listProjects({ ctx, args, ownerId }: { ctx: AuthenticatedContext; args: PageArgs; ownerId?: string | null }) {
  const plan = planPage(args);
  // Developers see their own projects; admins see all, or one owner's.
  const owner = ctx.viewer.role === 'ADMIN' ? (ownerId ?? undefined) : ctx.viewer.userId;
  const rows = await ctx.db.prisma.project.findMany({
    where: { ...(owner ? { ownerId: owner } : {}), ...keysetWhere(plan) },
    orderBy: keysetOrder(plan),
    take: plan.take,
  });
  return toConnection(rows, plan);
}

export async function getProject({ ctx, id }: { ctx: AuthenticatedContext; id: string }) {
  const project = await ctx.db.prisma.project.findUnique({ where: { id } });
  if (!project) throw notFound('Project');
  return project;
}

export async function createProject({ ctx, input }: { ctx: AuthenticatedContext; input: { name: string } }) {
  return withUniqueName(() => ctx.db.prisma.project.create({ data: { name: input.name, ownerId: ctx.viewer.userId } }));
}

export async function renameProject({ ctx, id, name }: { ctx: AuthenticatedContext; id: string; name: string }) {
  const project = await withUniqueName(() => ctx.db.prisma.project.update({ where: { id }, data: { name } }));
  await ctx.events.publish('project-events', id, { projectId: id, kind: 'UPDATED', at: project.updatedAt });
  return project;
}

async function withUniqueName<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      throw conflict('You already have a project with this name.');
    }
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2025') throw notFound('Project');
    throw error;
  }
}

import { isAdmin, type UserViewer } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import { planPage, toConnection, type PageArgs } from '../../db/pagination.js';
import { isMissingRecord, isUniqueViolation } from '../../db/prisma-errors.js';
import { conflict, notFound } from '../../errors.js';
import { defineTopic, withDateAt, type EventBus } from '../../events/event-bus.js';
import * as projectsRepository from './projects.repository.js';

export interface ProjectEvent {
  projectId: string;
  kind: 'UPDATED' | 'DELETED';
  at: Date;
}

/** Changes to one project, keyed by its id. */
export const projectEventsTopic = defineTopic<ProjectEvent>('project-events', withDateAt);

/** Developers see their own projects; admins see all, or one owner's. */
export async function listProjects({
  db,
  viewer,
  page,
  ownerId,
}: {
  db: Database;
  viewer: UserViewer;
  page: PageArgs;
  ownerId?: string | null;
}) {
  const plan = planPage(page);
  const owner = isAdmin(viewer) ? (ownerId ?? undefined) : viewer.userId;
  return toConnection(await projectsRepository.listProjects(db.prisma, plan, owner), plan, {
    count: () => projectsRepository.countProjects(db.prisma, owner),
  });
}

export async function getProject({ db, id }: { db: Database; id: string }) {
  const project = await projectsRepository.findProject(db.prisma, id);
  if (!project) throw notFound('Project');
  return project;
}

export async function ownerOfProject({ db, ownerId }: { db: Database; ownerId: string }) {
  const owner = await projectsRepository.findOwner(db.prisma, ownerId);
  if (!owner) throw notFound('User');
  return owner;
}

export function createProject({ db, viewer, name }: { db: Database; viewer: UserViewer; name: string }) {
  return withUniqueName(() => projectsRepository.createProject(db.prisma, { name: name.trim(), ownerId: viewer.userId }));
}

export async function renameProject({ db, events, id, name }: { db: Database; events: EventBus; id: string; name: string }) {
  const project = await withUniqueName(() => projectsRepository.renameProject(db.prisma, id, name.trim()));
  projectEventsTopic.publish(events, id, { projectId: id, kind: 'UPDATED', at: project.updatedAt });
  return project;
}

async function withUniqueName<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict('You already have a project with this name.');
    if (isMissingRecord(error)) throw notFound('Project');
    throw error;
  }
}

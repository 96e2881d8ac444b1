import { randomUUID } from 'node:crypto';
import type { Database } from '../../db/database.js';
import * as projectsRepository from './projects.repository.js';

/** Test data: a project owned by `ownerId`. */
export function projectOwnedBy({ db, ownerId, name }: { db: Database; ownerId: string; name?: string }) {
  return projectsRepository.createProject(db.prisma, { ownerId, name: name ?? `project ${randomUUID().slice(0, 8)}` });
}

import type { Database } from '../../db/database.js';
import { planPage, toConnection, type PageArgs } from '../../db/pagination.js';
import { isUniqueViolation } from '../../db/prisma-errors.js';
import { conflict } from '../../errors.js';
import type { Role } from '../../generated/prisma/enums.js';
import * as usersRepository from './users.repository.js';

export async function createUser({ db, input }: { db: Database; input: { email: string; name?: string | null; role: Role } }) {
  try {
    return await usersRepository.createUser(db.prisma, {
      email: input.email.trim().toLowerCase(),
      name: input.name ?? null,
      role: input.role,
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict('A user with this email already exists.');
    throw error;
  }
}

/** Every user, newest first. */
export async function listUsers({ db, page }: { db: Database; page: PageArgs }) {
  const plan = planPage(page);
  return toConnection(await usersRepository.listUsers(db.prisma, plan), plan);
}

/** A user by id, or by email (case-insensitive); null when there is none. */
export function findUser({ db, idOrEmail }: { db: Database; idOrEmail: string }) {
  return /^[0-9a-f-]{36}$/i.test(idOrEmail)
    ? usersRepository.findUser(db.prisma, idOrEmail)
    : usersRepository.findUserByEmail(db.prisma, idOrEmail.toLowerCase());
}

/** The deployment's first admin: the oldest active one, or admin@coffer.local, made when there is none. */
/** Whether an active admin exists (read only: `firstAdmin` creates one when none does). */
export async function hasActiveAdmin({ db }: { db: Database }) {
  return (await usersRepository.firstActiveAdmin(db.prisma)) !== null;
}

export async function firstAdmin({ db }: { db: Database }) {
  const existing = await usersRepository.firstActiveAdmin(db.prisma);
  if (existing) return { user: existing, created: false };
  return { user: await usersRepository.upsertAdmin(db.prisma, 'admin@coffer.local', 'Coffer admin'), created: true };
}

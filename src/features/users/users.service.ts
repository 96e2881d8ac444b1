import { announcePrincipalChange, SYSTEM_ACTOR, userIdOf, type Actor } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import { isUuid } from '../../db/ids.js';
import { planPage, toConnection, type PageArgs } from '../../db/pagination.js';
import { isForeignKeyViolation, isUniqueViolation } from '../../db/prisma-errors.js';
import { badInput, conflict, notFound } from '../../errors.js';
import type { ClusterSignals } from '../../events/signals.js';
import type { Role } from '../../generated/prisma/enums.js';
import { recordAudit } from '../audit/index.js';
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
  return toConnection(await usersRepository.listUsers(db.prisma, plan), plan, { count: () => usersRepository.countUsers(db.prisma) });
}

/** A user by id, or by email (case-insensitive); null when there is none. */
export function findUser({ db, idOrEmail }: { db: Database; idOrEmail: string }) {
  return /^[0-9a-f-]{36}$/i.test(idOrEmail)
    ? usersRepository.findUser(db.prisma, idOrEmail)
    : usersRepository.findUserByEmail(db.prisma, idOrEmail.toLowerCase());
}

/** Whether an active admin exists (read only: `firstAdmin` creates one when none does). */
export async function hasActiveAdmin({ db }: { db: Database }) {
  return (await usersRepository.firstActiveAdmin(db.prisma)) !== null;
}

/** The deployment's first admin: the oldest active one, or admin@coffer.local, made when there is none. */
export async function firstAdmin({ db, signals }: { db: Database; signals?: ClusterSignals | undefined }) {
  const existing = await usersRepository.firstActiveAdmin(db.prisma);
  if (existing) return { user: existing, created: false };
  const user = await usersRepository.upsertAdmin(db.prisma, 'admin@coffer.local', 'Coffer admin');
  // An existing user of that email may just have become an admin.
  if (signals) await announcePrincipalChange(signals, { userId: user.id });
  return { user, created: true };
}

/*
 * Changes to who a user is. Each is announced once committed, so that no process keeps
 * answering for the user's credentials from memory.
 */

export async function setUserRole({ db, signals, userId, role }: { db: Database; signals: ClusterSignals; userId: string; role: Role }) {
  const user = await usersRepository.updateUser(db.prisma, userId, { role });
  if (!user) throw notFound('User');
  await announcePrincipalChange(signals, { userId });
  return user;
}

/**
 * Disables (`disabled: true`, as of `now`) or enables a user; a disabled user's API keys and
 * tokens are refused. Nobody disables themself, and the last enabled admin stays enabled
 * (CONFLICT): the enabled admins are locked first, so two admins disabling each other at once
 * cannot both succeed. Audited in the change's transaction; announced once committed, so every
 * process refuses the user's credentials from the next request on.
 */
export async function setUserDisabled({
  db,
  signals,
  userId,
  disabled,
  now,
  actor = SYSTEM_ACTOR,
}: {
  db: Database;
  signals: ClusterSignals;
  userId: string;
  disabled: boolean;
  now: Date;
  actor?: Actor;
}) {
  if (!isUuid(userId)) throw notFound('User');
  const id = userId.toLowerCase();
  if (disabled && userIdOf(actor.viewer) === id) throw badInput([{ field: 'id', message: 'you cannot disable yourself' }]);
  const user = await usersRepository.inTransaction(db.prisma, async (tx) => {
    const enabledAdmins = disabled ? await usersRepository.lockEnabledAdmins(tx) : [];
    const current = await usersRepository.lockUser(tx, id);
    if (!current) throw notFound('User');
    if (disabled && enabledAdmins.length === 1 && enabledAdmins[0] === id)
      throw conflict(`${current.email} is the last enabled admin: make another user an admin first.`);
    const disabledAt = disabled ? (current.disabledAt ?? now) : null;
    const updated = await usersRepository.updateUser(tx, id, { disabledAt });
    await recordAudit(tx, actor, {
      action: disabled ? 'user.disable' : 'user.enable',
      outcome: 'SUCCESS',
      targetType: 'user',
      targetId: id,
      targetName: current.email,
      reason: (current.disabledAt !== null) === disabled ? `already ${disabled ? 'disabled' : 'enabled'}` : null,
    });
    return updated!;
  });
  await announcePrincipalChange(signals, { userId: id });
  return user;
}

/** Deletes a user and, with them, their API keys. */
export async function deleteUser({ db, signals, userId }: { db: Database; signals: ClusterSignals; userId: string }) {
  let deleted: boolean;
  try {
    deleted = await usersRepository.deleteUser(db.prisma, userId);
  } catch (error) {
    if (isForeignKeyViolation(error)) throw conflict('This user still owns projects: hand them over or delete them first.');
    throw error;
  }
  if (!deleted) throw notFound('User');
  await announcePrincipalChange(signals, { userId });
}

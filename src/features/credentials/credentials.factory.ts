import { randomUUID } from 'node:crypto';
import type { ServerKeys } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import type { Role } from '../../generated/prisma/enums.js';
import { createUser } from '../users/index.js';
import { createApiKey } from './credentials.service.js';

/** Test data: a user with a working API key. */
export async function userWithApiKey({
  db,
  keys,
  role = 'DEVELOPER',
  email,
}: {
  db: Database;
  keys: ServerKeys;
  role?: Role;
  email?: string;
}) {
  const user = await createUser({ db, input: { email: email ?? `${role.toLowerCase()}-${randomUUID()}@example.test`, role } });
  const { key, apiKey } = await createApiKey({ db, keys, userId: user.id, name: 'test key' });
  return { user, key, apiKey };
}

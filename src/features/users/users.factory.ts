import { randomUUID } from 'node:crypto';
import type { AuthService } from '../../auth/index.js';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Role } from '../../generated/prisma/enums.js';

/** Test data: a user with a working API key. */
export async function userWithApiKey({ prisma, auth, role = 'DEVELOPER', email }: { prisma: PrismaClient; auth: AuthService; role?: Role; email?: string }) {
  const user = await prisma.user.create({ data: { email: email ?? `${role.toLowerCase()}-${randomUUID()}@example.test`, role } });
  const { key, apiKey } = await auth.createApiKey({ userId: user.id, name: 'test key' });
  return { user, key, apiKey };
}

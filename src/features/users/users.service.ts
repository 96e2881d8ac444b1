import type { AuthService } from '../../auth/index.js';
import { Prisma, type PrismaClient } from '../../generated/prisma/client.js';
import type { Role } from '../../generated/prisma/enums.js';
import { conflict } from '../../graphql/errors.js';

export async function createUser({ prisma, input }: { prisma: PrismaClient; input: { email: string; name?: string | null; role: Role } }) {
  try {
    return await prisma.user.create({ data: { email: input.email.toLowerCase(), name: input.name ?? null, role: input.role } });
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      throw conflict('A user with this email already exists.');
    }
    throw error;
  }
}

export type BootstrapResult =
  | { kind: 'existing-admin' }
  | { kind: 'created'; email: string; apiKey: string }
  | { kind: 'registered-configured-key'; email: string }
  | { kind: 'configured-key-unchanged' };

/**
 * First start: with no admin there is no way in, so create one. The generated key is returned
 * once for the operator to copy; a key given in COFFER_ADMIN_API_KEY is registered instead.
 */
export async function ensureBootstrapAdmin({ prisma, auth, configuredKey }: { prisma: PrismaClient; auth: AuthService; configuredKey?: string | undefined }): Promise<BootstrapResult> {
  const admin = await prisma.user.findFirst({ where: { role: 'ADMIN', disabledAt: null }, orderBy: { createdAt: 'asc' } });
  if (admin && !configuredKey) return { kind: 'existing-admin' };
  const user = admin ?? (await prisma.user.upsert({ where: { email: 'admin@coffer.local' }, create: { email: 'admin@coffer.local', name: 'Coffer admin', role: 'ADMIN' }, update: { role: 'ADMIN' } }));
  if (configuredKey) {
    const { registered } = await auth.registerApiKey({ userId: user.id, name: 'COFFER_ADMIN_API_KEY', key: configuredKey });
    return registered ? { kind: 'registered-configured-key', email: user.email } : { kind: 'configured-key-unchanged' };
  }
  const { key } = await auth.createApiKey({ userId: user.id, name: 'bootstrap admin key' });
  return { kind: 'created', email: user.email, apiKey: key };
}
